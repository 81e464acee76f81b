/**
 * People and money for the demo seed, the end-to-end tests and the benchmarks: viewers registered
 * through the gateway exactly as the web app does, a streamer whose channel is linked, and play
 * money granted by the house through the ledger's internal API (a service credential, straight to
 * the user service — never through the gateway, which does not route internal RPCs).
 */
import { Code, ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import {
  LedgerInternalService,
  TransferResultCode,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { JWK } from 'jose';
import { createServiceTokenIssuer } from '@streambet/platform/auth/tokens';
import type { EventBus } from '@streambet/platform/bus/types';
import { randomBytes } from 'node:crypto';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import {
  linkThroughFakes,
  publishChannelLinked,
  type PlatformAccountToLink,
} from './link-channel.js';

/** A registered user and the headers that authenticate their calls at the gateway. */
export interface Actor {
  readonly userId: string;
  readonly email: string;
  readonly accessToken: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Where the seed talks to. */
export interface SeedTargets {
  readonly gatewayUrl: string;
  readonly userServiceUrl: string;
  /**
   * A fresh service credential signed with the platform's service key, as `service` (the user
   * service checks which service may call each internal RPC: integration grants roles).
   */
  serviceToken(service: string): Promise<string>;
  /** The bus the integration service would publish ChannelLinked on. */
  readonly bus: EventBus;
}

/** What the seed can do. */
export interface SeedKit {
  /** The gateway over Connect (HTTP/1.1), as a browser would reach it. */
  readonly connect: Transport;
  /** The gateway over gRPC (HTTP/2), as a native client would. */
  readonly grpc: Transport;
  readonly users: Client<typeof UserService>;
  readonly pool: Client<typeof PoolService>;
  register(email: string, displayName: string): Promise<Actor>;
  /** Registers, or logs in when the email is taken (a restarted demo on its kept data). */
  registerOrLogin(email: string, displayName: string): Promise<Actor>;
  /**
   * Grants the streamer role, links `channelId` to the user and logs in again so the token carries
   * the role; resolves once the pool knows the channel.
   */
  makeStreamer(actor: Actor, password: string, channelId: string, handle: string): Promise<Actor>;
  /**
   * Links `accounts` to `actor` through the integration service's OAuth round trip against its
   * provider fakes (one StreamBet channel for all of them) and logs in again as the streamer the
   * first link made them; resolves once the pool knows the channel.
   */
  linkChannels(
    actor: Actor,
    password: string,
    accounts: readonly PlatformAccountToLink[],
  ): Promise<{ streamer: Actor; channelId: string }>;
  /** Credits `amountMinor` of play money (PTS) from the house; idempotent on `grantId`. */
  grantPoints(userId: string, amountMinor: bigint, grantId: string): Promise<void>;
  /** The ledger's internal API with a service credential (balances, totals). */
  readonly ledger: Client<typeof LedgerInternalService>;
  /** Call options with a service credential (default: as the payment service). */
  asService(service?: string): Promise<{ headers: Record<string, string> }>;
}

/** The password every seeded account uses (the demo shows it; tests log in with it). */
export const seedPassword = 'streambet demo password';

/** Builds the kit. */
export function createSeedKit(targets: SeedTargets): SeedKit {
  const connect = createConnectTransport({ baseUrl: targets.gatewayUrl, httpVersion: '1.1' });
  const grpc = createGrpcTransport({ baseUrl: targets.gatewayUrl });
  const users = createClient(UserService, connect);
  // Seeded accounts are made server-side, straight at the user service: no client address comes
  // with them, so the per-address registration throttle (meant for the public edge) stays out of
  // the way of a seed that registers hundreds of viewers from one machine.
  const direct = createGrpcTransport({ baseUrl: targets.userServiceUrl });
  const seedUsers = createClient(UserService, direct);
  const pool = createClient(PoolService, connect);
  const ledger = createClient(LedgerInternalService, direct);
  const userInternal = createClient(UserInternalService, direct);
  const asService = async (service = 'payment') => ({
    headers: { authorization: `Bearer ${await targets.serviceToken(service)}` },
  });
  const actorOf = (
    user: { userId: string } | undefined,
    email: string,
    accessToken: string | undefined,
  ): Actor => {
    if (user === undefined || accessToken === undefined) {
      throw new Error(`the user service answered without a user or tokens for ${email}`);
    }
    return {
      userId: user.userId,
      email,
      accessToken,
      headers: { authorization: `Bearer ${accessToken}` },
    };
  };
  return {
    connect,
    grpc,
    users,
    pool,
    ledger,
    asService,
    async register(email, displayName) {
      const registered = await seedUsers.register({
        email,
        password: seedPassword,
        dateOfBirth: { year: 1990, month: 1, day: 1 },
        displayName,
      });
      return actorOf(registered.user, email, registered.tokens?.accessToken);
    },
    async registerOrLogin(email, displayName) {
      try {
        return await this.register(email, displayName);
      } catch (error) {
        if (ConnectError.from(error).code !== Code.AlreadyExists) throw error;
        const login = await seedUsers.login({ email, password: seedPassword });
        return actorOf(login.user, email, login.tokens?.accessToken);
      }
    },
    async makeStreamer(actor, password, channelId, handle) {
      await userInternal.grantRole(
        { userId: actor.userId, role: Role.STREAMER },
        await asService('integration'),
      );
      await publishChannelLinked(targets.bus, {
        channelId,
        ownerUserId: actor.userId,
        handle,
        displayName: handle,
      });
      const login = await seedUsers.login({ email: actor.email, password });
      const streamer = actorOf(login.user, actor.email, login.tokens?.accessToken);
      // The pool learns the channel from the event; wait for it (bounded).
      for (let attempt = 0; ; attempt += 1) {
        try {
          await pool.getChannelSettings({ channelId }, { headers: streamer.headers });
          return streamer;
        } catch (error) {
          if (attempt >= 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    },
    async linkChannels(actor, password, accounts) {
      const channelId = await linkThroughFakes(connect, actor.headers, accounts);
      const login = await seedUsers.login({ email: actor.email, password });
      const streamer = actorOf(login.user, actor.email, login.tokens?.accessToken);
      for (let attempt = 0; ; attempt += 1) {
        try {
          await pool.getChannelSettings({ channelId }, { headers: streamer.headers });
          return { streamer, channelId };
        } catch (error) {
          if (attempt >= 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    },
    async grantPoints(userId, amountMinor, grantId) {
      const options = await asService();
      await ledger.createAccounts(
        {
          accounts: [
            {
              accountId: `wallet:${userId}:PTS`,
              kind: AccountKind.USER_WALLET,
              currency: 'PTS',
              ownerId: userId,
            },
            { accountId: 'house:PTS', kind: AccountKind.HOUSE, currency: 'PTS' },
          ],
        },
        options,
      );
      const response = await ledger.submitTransfers(
        {
          commands: [
            {
              transferId: `grant:${grantId}`,
              kind: TransferKind.SINGLE_PHASE,
              debitAccountId: 'house:PTS',
              creditAccountId: `wallet:${userId}:PTS`,
              amountMinor,
              currency: 'PTS',
              code: TransferCode.PLAY_MONEY_GRANT,
            },
          ],
        },
        options,
      );
      const result = response.results[0];
      if (
        result?.code !== TransferResultCode.OK &&
        result?.code !== TransferResultCode.ALREADY_EXISTS_SAME
      ) {
        throw new Error(
          `the play-money grant ${grantId} was refused: ${result?.detail ?? 'no result'}`,
        );
      }
    },
  };
}

/** A new channel id (ULID) for a seeded channel. */
export function newChannelId(nowMs: number = Date.now()): string {
  return encodeUlid(nowMs, randomBytes(10));
}

/** Service credentials per calling service, each signed with that service's own key (tests, benches, the demo). */
export function serviceTokensFrom(
  privateJwks: Readonly<Record<string, JWK>>,
): (service: string) => Promise<string> {
  const issuers = new Map<string, () => Promise<string>>();
  return (service) => {
    let issuer = issuers.get(service);
    if (issuer === undefined) {
      const privateJwk = privateJwks[service];
      if (privateJwk === undefined) throw new Error(`no signing key for service "${service}"`);
      issuer = createServiceTokenIssuer({ privateJwk, service });
      issuers.set(service, issuer);
    }
    return issuer();
  };
}
