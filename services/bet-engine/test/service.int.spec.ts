/**
 * The bet engine as the platform runs it, next to the real user service (both through
 * startService on real ports, one in-process bus): market events on the bus fill the projection
 * and create the escrow, PlaceBet over gRPC holds the stake in the user service's ledger, and
 * BetPlaced / OddsChanged leave through the outbox relay to the bus; shutdown drains the lane.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  BetEngineService,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  MarketCreatedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { startService } from '@streambet/platform/runtime/service-host';
import { envelope } from '@streambet/testkit/events';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { userService } from '@streambet/user/app';
import { loadUserConfig } from '@streambet/user/config';
import { insertTestUser } from '@streambet/user/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBetEngineServiceDefinition } from '../src/app.js';
import { loadBetEngineConfig } from '../src/config.js';
import { manualClock, newUlid, testSettings } from './harness.js';

const targets = sqlTargets();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(targets.map((t) => [t.name, t] as const))(
  'bet-engine service on %s',
  (_name, target) => {
    it('projects markets from the bus, places a bet against the real user service and publishes its events', async () => {
      const betDb = await target.create();
      const userDb = betDb.embedded === undefined ? await target.create() : undefined;
      const userSql = userDb?.sql ?? (await betDb.embedded!.forSchema('user_service'));
      const bus = createMemoryBus();
      const clock = manualClock(Date.now());
      const tokens = await createTestTokens();
      const userKey = await generateSigningKeyPair('user-key');
      const common = {
        STREAMBET_MODE: 'embedded',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '1000',
      };
      const user = await startService(userService, {
        config: loadUserConfig({
          ...common,
          ...tokens.serviceEnv('user'),
          USER_TOKEN_PRIVATE_JWK: JSON.stringify(userKey.privateJwk),
          REAL_CURRENCY: 'BRL',
          KYC_WEBHOOK_SECRET: 'whsec_test_0123456789',
          DEVICE_ID_HASH_KEY: 'device-key-test-0123456789',
        }),
        infra: {
          sql: userSql,
          bus,
          cache: createMemoryCache({ now: () => clock.now() }),
          close: async () => {},
        },
        userJwks: tokens.userJwks,
        clock,
      });
      cleanups.push(async () => {
        await user.shutdown();
        await userDb?.dispose();
      });
      const betEngine = await startService(createBetEngineServiceDefinition(testSettings), {
        config: loadBetEngineConfig({
          ...common,
          ...tokens.serviceEnv('bet-engine'),
          USER_SERVICE_URL: user.url,
          POOL_SERVICE_URL: 'http://127.0.0.1:9',
        }),
        infra: {
          sql: betDb.sql,
          bus,
          cache: createMemoryCache({ now: () => clock.now() }),
          close: async () => {},
        },
        userJwks: tokens.userJwks,
        clock,
      });
      cleanups.push(async () => {
        await betEngine.shutdown();
        await bus.close();
        await betDb.dispose();
      });
      const seen: EventEnvelope[] = [];
      const subscription = await bus.subscribe({
        group: 'test.bets',
        topics: ['bet', 'odds'],
        handler: (event) => {
          seen.push(event);
          return Promise.resolve();
        },
      });
      cleanups.push(() => subscription.close());

      // A funded bettor in the user service (registered out of band, wallet through the ledger API).
      const bettor = newUlid();
      await insertTestUser(userSql, bettor, clock.now());
      const ledger = createClient(
        LedgerInternalService,
        createGrpcTransport({ baseUrl: user.url }),
      );
      const asService = {
        headers: { authorization: `Bearer ${await tokens.serviceToken('settlement')}` },
      };
      const wallet = `wallet:${bettor}:PTS`;
      await ledger.createAccounts(
        {
          accounts: [
            { accountId: 'house:PTS', kind: AccountKind.HOUSE, currency: 'PTS' },
            { accountId: wallet, kind: AccountKind.USER_WALLET, currency: 'PTS', ownerId: bettor },
          ],
        },
        asService,
      );
      await ledger.submitTransfers(
        {
          commands: [
            {
              transferId: `grant:${bettor}`,
              kind: TransferKind.SINGLE_PHASE,
              debitAccountId: 'house:PTS',
              creditAccountId: wallet,
              amountMinor: 1_000n,
              currency: 'PTS',
              code: TransferCode.PLAY_MONEY_GRANT,
            },
          ],
        },
        asService,
      );

      const marketId = newUlid();
      const outcomes = [`${marketId}-yes`, `${marketId}-no`];
      await bus.publish([
        envelope('market', marketId, MarketCreatedSchema, {
          marketId,
          channelId: 'CHS',
          channelOwnerUserId: newUlid(),
          title: 'Will she clutch it?',
          outcomes: outcomes.map((outcomeId, i) => ({ outcomeId, title: i === 0 ? 'Yes' : 'No' })),
          currency: 'PTS',
          kind: MarketKind.POOL,
          stakeLimits: {
            minStakeMinor: 10n,
            maxStakePerBetMinor: 1_000n,
            maxStakePerUserMinor: 1_000n,
          },
          commissionBps: 500,
          version: 1n,
        }),
        envelope('market', marketId, MarketOpenedSchema, {
          marketId,
          channelId: 'CHS',
          openedAtMs: BigInt(clock.now()),
          bettingClosesAtMs: BigInt(clock.now() + 60_000),
          version: 2n,
        }),
      ]);
      await vi.waitFor(
        async () => {
          const escrow = await ledger.lookupAccounts(
            { accountIds: [`market:${marketId}:escrow`] },
            asService,
          );
          expect(escrow.accounts).toHaveLength(1);
        },
        { timeout: 20_000 },
      );

      const client = createClient(
        BetEngineService,
        createGrpcTransport({ baseUrl: betEngine.url }),
      );
      const placed = await client.placeBet(
        {
          idempotencyKey: 'slip-1',
          marketId,
          outcomeId: outcomes[0]!,
          currency: 'PTS',
          stakeMinor: 250n,
        },
        { headers: await tokens.userHeaders(bettor, 'viewer') },
      );
      expect(placed.bet).toMatchObject({ status: BetStatus.ACCEPTED, heldMinor: 250n });
      const balance = await ledger.getAccountBalances({ accountIds: [wallet] }, asService);
      expect(balance.balances[0]).toMatchObject({ availableMinor: 750n, debitsPendingMinor: 250n });
      await vi.waitFor(() => expect(seen.map((e) => e.topic).sort()).toEqual(['bet', 'odds']), {
        timeout: 20_000,
      });
      const betPlaced = fromBinary(BetPlacedSchema, seen.find((e) => e.topic === 'bet')!.payload);
      expect([betPlaced.betId, betPlaced.marketId]).toEqual([placed.bet!.betId, marketId]);
      const odds = fromBinary(OddsChangedSchema, seen.find((e) => e.topic === 'odds')!.payload);
      expect(odds.odds?.totalStakedMinor).toBe(250n);
      expect(seen.every((e) => e.key === marketId)).toBe(true);
      const fromCache = await client.getOdds({ marketId });
      expect(fromCache.odds?.outcomes.map((o) => o.decimalOdds)).toEqual(['1.00', '']);
    });
  },
);
