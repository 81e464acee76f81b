/**
 * Linking and unlinking channels, their settings, token refresh and subscription reconciliation:
 * the application layer between the RPCs (routes.ts) and the store + platform APIs. Platform calls
 * happen outside database transactions; each state change (row + outbox) is one transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { OfflinePolicy } from './domain/live-state.js';
import { decideStateUse, issueState, type OAuthPlatform } from './domain/oauth-state.js';
import { channelLinked, channelUnlinked, settingsChanged, type EventActor } from './events.js';
import {
  PlatformRejectedError,
  PlatformUnavailableError,
  twitchPredictionTypes,
  twitchStreamTypes,
  type PlatformApis,
  type PlatformTokens,
} from './platforms.js';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { ChannelRow, IntegrationStore, NewChannel } from './store.js';
import type { TokenCipher } from './token-crypto.js';
import type { YoutubeApi } from './youtube-api.js';
import { startPolling, stopPolling, type YoutubeQuota } from './youtube-poller.js';
import { pkceChallenge } from './webhooks/signatures.js';

/** Who is calling. */
export interface Actor {
  readonly userId: string;
  readonly admin: boolean;
}

/** Dependencies of {@link createLinkService}. */
export interface LinkServiceDeps {
  readonly store: IntegrationStore;
  readonly apis: PlatformApis;
  /** Undefined when INTEGRATION_TOKEN_KEY is not configured: linking answers FAILED_PRECONDITION. */
  readonly cipher: TokenCipher | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Redirect URI prefixes BeginChannelLink accepts. */
  readonly redirectUris: readonly string[];
  /** New channel ids (ULIDs). */
  readonly newId: () => string;
  /** Grants ROLE_STREAMER (UserInternalService.GrantRole); idempotent. */
  readonly grantStreamer: (userId: string) => Promise<void>;
  /** YouTube Data API and its quota; undefined leaves YouTube linking off. */
  readonly youtube?: { readonly api: YoutubeApi; readonly quota: YoutubeQuota };
}

const hashState = (state: string): string => createHash('sha256').update(state).digest('hex');

/** Refresh tokens this long before they expire. */
export const refreshAheadMs = 10 * 60_000;

function unavailable(error: PlatformUnavailableError): UnavailableError {
  return new UnavailableError(error.message, { retryAfterMs: error.retryAfterMs, cause: error });
}

function actorOf(actor: Actor): EventActor {
  return { userId: actor.userId, role: actor.admin ? Role.ADMIN : Role.STREAMER };
}

/** Creates the link service. */
export function createLinkService(deps: LinkServiceDeps) {
  const { store, apis, clock } = deps;
  const cipher: TokenCipher = deps.cipher ?? {
    encrypt: () => {
      throw new IllegalStateError(
        'channel linking is not configured on this deployment (INTEGRATION_TOKEN_KEY is unset)',
      );
    },
    decrypt: () => {
      throw new IllegalStateError(
        'channel linking is not configured on this deployment (INTEGRATION_TOKEN_KEY is unset)',
      );
    },
  };

  async function owned(channelId: string, actor: Actor): Promise<ChannelRow> {
    const channel = await store.resolve(channelId);
    if (channel === undefined) throw new NotFoundError(`no channel ${channelId}`);
    if (!actor.admin && channel.ownerUserId !== actor.userId) {
      throw new PermissionDeniedError('only the channel owner or an admin may do this');
    }
    return channel;
  }

  async function platformCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof PlatformUnavailableError) throw unavailable(error);
      throw error;
    }
  }

  async function subscribe(channel: ChannelRow, accessToken: string): Promise<void> {
    try {
      if (channel.platform === 'TWITCH') {
        const types = channel.mirrorTwitchPredictions
          ? [...twitchStreamTypes, ...twitchPredictionTypes]
          : [...twitchStreamTypes];
        for (const type of types) {
          const sub = await apis.twitch.subscribe(type, channel.platformChannelId);
          await store.saveSubscription(store.sql, {
            platform: 'TWITCH',
            id: sub.id,
            channelId: channel.channelId,
            type,
            status: sub.status,
          });
        }
      } else if (channel.platform === 'KICK') {
        for (const sub of await apis.kick.subscribe(accessToken, channel.platformChannelId)) {
          await store.saveSubscription(store.sql, {
            platform: 'KICK',
            id: sub.id,
            channelId: channel.channelId,
            type: sub.type,
            status: sub.status,
          });
        }
      }
    } catch (error) {
      // The link stands; reconciliation creates what is missing once the platform answers.
      deps.logger.warn(
        { err: error, channelId: channel.channelId },
        'subscribing failed; reconciliation retries',
      );
    }
  }

  /**
   * Inserts a new link into the owner's StreamBet channel (created, with the link's id, when they
   * have none) and appends ChannelLinked for the StreamBet channel. A StreamBet channel holds at
   * most one link per platform: another account of the same platform is FAILED_PRECONDITION.
   */
  async function insertLink(
    tx: SqlExecutor,
    actor: Actor,
    link: Omit<NewChannel, 'streambetChannelId'>,
    nowMs: number,
  ): Promise<void> {
    const streambetChannelId = await store.ownerChannel(tx, actor.userId, link.channelId, nowMs);
    const same = (await store.linksOf(tx, streambetChannelId)).find(
      (l) => l.platform === link.platform,
    );
    if (same !== undefined) {
      throw new IllegalStateError(
        `your channel already has the ${link.platform} account ${same.handle} linked: unlink it first`,
      );
    }
    await store.insertChannel(tx, { ...link, streambetChannelId }, nowMs);
    await store.append(tx, [
      channelLinked(
        {
          channelId: streambetChannelId,
          ownerUserId: actor.userId,
          platform: link.platform,
          platformChannelId: link.platformChannelId,
          handle: link.handle,
          displayName: link.displayName,
        },
        nowMs,
        actorOf(actor),
      ),
    ]);
  }

  return {
    /** BeginChannelLink: a fresh state (and PKCE verifier for Kick) and the authorize URL. */
    async begin(actor: Actor, platform: OAuthPlatform, redirectUri: string) {
      if (deps.cipher === undefined) cipher.encrypt('', '');
      if (redirectUri.length < 1 || redirectUri.length > 2048) {
        throw new ValidationError('redirect_uri must be 1–2048 chars', [
          { field: 'redirect_uri', description: 'length 1–2048' },
        ]);
      }
      if (!deps.redirectUris.some((prefix) => redirectUri.startsWith(prefix))) {
        throw new ValidationError('redirect_uri is not on the allow-list of this deployment', [
          { field: 'redirect_uri', description: 'not allowed' },
        ]);
      }
      const state = randomBytes(32).toString('base64url');
      const verifier = platform === 'KICK' ? randomBytes(32).toString('base64url') : undefined;
      const issued = issueState({
        state,
        userId: actor.userId,
        platform,
        redirectUri,
        codeVerifier: verifier,
        nowMs: clock.now(),
      });
      const hash = hashState(state);
      await store.saveState(hash, {
        userId: issued.userId,
        platform,
        redirectUri,
        codeVerifierSealed: verifier === undefined ? '' : cipher.encrypt(verifier, hash),
        expiresAtMs: issued.expiresAtMs,
      });
      const authorizeUrl =
        platform === 'TWITCH'
          ? apis.twitch.authorizeUrl(state, redirectUri)
          : apis.kick.authorizeUrl(state, redirectUri, pkceChallenge(verifier ?? ''));
      return { authorizeUrl, state, expiresAtMs: issued.expiresAtMs };
    },

    /** LinkChannel with an OAuth grant (Twitch, Kick). */
    async linkOAuth(
      actor: Actor,
      platform: OAuthPlatform,
      code: string,
      state: string,
    ): Promise<ChannelRow> {
      if (code.length < 1 || code.length > 2048) {
        throw new ValidationError('oauth.code must be 1–2048 chars', [
          { field: 'oauth.code', description: 'length 1–2048' },
        ]);
      }
      const hash = hashState(state);
      const stored = await store.state(store.sql, hash);
      const decision = decideStateUse(
        stored === undefined
          ? undefined
          : {
              state,
              userId: stored.userId,
              platform: stored.platform as OAuthPlatform,
              redirectUri: stored.redirectUri,
              codeVerifier: undefined,
              expiresAtMs: stored.expiresAtMs,
              usedForChannelId: stored.usedForChannelId,
            },
        { userId: actor.userId, platform, nowMs: clock.now() },
      );
      if (decision.kind === 'already-linked') {
        const existing = await store.channel(decision.channelId);
        if (existing === undefined) throw new NotFoundError('the channel of this link is gone');
        return existing;
      }
      const verifier =
        stored === undefined || stored.codeVerifierSealed === ''
          ? ''
          : cipher.decrypt(stored.codeVerifierSealed, hash);
      let tokens: PlatformTokens;
      let account;
      try {
        tokens = await platformCall(() =>
          platform === 'TWITCH'
            ? apis.twitch.exchangeCode(code, decision.state.redirectUri)
            : apis.kick.exchangeCode(code, decision.state.redirectUri, verifier),
        );
        account = await platformCall(() =>
          platform === 'TWITCH'
            ? apis.twitch.me(tokens.accessToken)
            : apis.kick.me(tokens.accessToken),
        );
      } catch (error) {
        if (error instanceof PlatformRejectedError) {
          throw new ValidationError(error.message, [
            { field: 'oauth.code', description: 'rejected by the platform' },
          ]);
        }
        throw error;
      }
      const channelId = deps.newId();
      const nowMs = clock.now();
      const channel = await store.transaction(async (tx) => {
        const again = await store.state(tx, hash, true);
        if (again?.usedForChannelId !== undefined) return store.channel(again.usedForChannelId, tx);
        const taken = await store.channelByPlatformId(tx, platform, account.id, true);
        if (taken !== undefined) {
          if (taken.ownerUserId !== actor.userId) {
            throw new AlreadyExistsError(`this ${platform} channel is linked to another user`);
          }
          // Linking again (e.g. after REAUTH_REQUIRED): fresh tokens, ACTIVE.
          await store.setTokens(tx, taken.channelId, {
            access: cipher.encrypt(tokens.accessToken, taken.channelId),
            refresh: cipher.encrypt(tokens.refreshToken, taken.channelId),
            expiresAtMs: tokens.expiresAtMs,
          });
          await store.setLinkStatus(tx, taken.channelId, 'ACTIVE', '', nowMs);
          await store.useState(tx, hash, taken.channelId);
          return store.channel(taken.channelId, tx);
        }
        await insertLink(
          tx,
          actor,
          {
            channelId,
            ownerUserId: actor.userId,
            platform,
            platformChannelId: account.id,
            handle: account.login,
            displayName: account.displayName,
            profileImageUrl: account.profileImageUrl,
            channelUrl:
              platform === 'TWITCH'
                ? `https://www.twitch.tv/${account.login}`
                : `https://kick.com/${account.login}`,
            scopes: tokens.scopes.join(' '),
            accessTokenSealed: cipher.encrypt(tokens.accessToken, channelId),
            refreshTokenSealed: cipher.encrypt(tokens.refreshToken, channelId),
            tokenExpiresAtMs: tokens.expiresAtMs,
          },
          nowMs,
        );
        await store.useState(tx, hash, channelId);
        return store.channel(channelId, tx);
      });
      if (channel === undefined) throw new NotFoundError('the linked channel vanished');
      await deps.grantStreamer(actor.userId);
      if (channel.channelId === channelId) await subscribe(channel, tokens.accessToken);
      return channel;
    },

    /**
     * LinkChannel for YouTube: by channel id, checked with channels.list (1 quota unit), then
     * polled. Repeating it returns the caller's link.
     */
    async linkYoutube(actor: Actor, youtubeChannelId: string): Promise<ChannelRow> {
      const youtube = deps.youtube;
      if (youtube === undefined) {
        throw new IllegalStateError(
          'YouTube linking is not configured on this deployment (INTEGRATION_YOUTUBE_API_KEY is unset)',
        );
      }
      const existing = await store.channelByPlatformId(store.sql, 'YOUTUBE', youtubeChannelId);
      if (existing !== undefined) {
        if (existing.ownerUserId !== actor.userId) {
          throw new AlreadyExistsError('this YOUTUBE channel is linked to another user');
        }
        return existing;
      }
      if (!(await youtube.quota.take(1))) {
        throw new UnavailableError(
          'the YouTube API quota of this deployment is used up for now: retry later',
          { retryAfterMs: 60_000 },
        );
      }
      const found = await platformCall(() => youtube.api.channel(youtubeChannelId));
      if (found === undefined) throw new NotFoundError(`no YouTube channel ${youtubeChannelId}`);
      const linkId = deps.newId();
      const nowMs = clock.now();
      const linked = await store.transaction(async (tx) => {
        const taken = await store.channelByPlatformId(tx, 'YOUTUBE', youtubeChannelId, true);
        if (taken !== undefined) {
          if (taken.ownerUserId !== actor.userId) {
            throw new AlreadyExistsError('this YOUTUBE channel is linked to another user');
          }
          return taken;
        }
        const handle =
          found.handle.startsWith('@') || found.handle === found.id
            ? found.handle
            : `@${found.handle}`;
        await insertLink(
          tx,
          actor,
          {
            channelId: linkId,
            ownerUserId: actor.userId,
            platform: 'YOUTUBE',
            platformChannelId: found.id,
            handle,
            displayName: found.title,
            profileImageUrl: found.thumbnailUrl,
            channelUrl: `https://www.youtube.com/channel/${found.id}`,
            scopes: '',
            accessTokenSealed: '',
            refreshTokenSealed: '',
            tokenExpiresAtMs: 0,
          },
          nowMs,
        );
        await startPolling(tx, linkId, found.uploadsPlaylistId, nowMs);
        return store.channel(linkId, tx);
      });
      if (linked === undefined) throw new NotFoundError('the linked channel vanished');
      await deps.grantStreamer(actor.userId);
      return linked;
    },

    /** UnlinkChannel: subscriptions removed, tokens revoked and dropped, ChannelUnlinked. */
    async unlink(actor: Actor, id: string, reason: string): Promise<void> {
      const channel = await owned(id, actor);
      const channelId = channel.channelId;
      if (actor.admin && channel.ownerUserId !== actor.userId && reason.trim() === '') {
        throw new ValidationError(
          'reason is required when an admin unlinks another user’s channel',
          [{ field: 'reason', description: 'required, 1–500 chars' }],
        );
      }
      if (reason.length > 500) {
        throw new ValidationError('reason must be at most 500 chars', [
          { field: 'reason', description: 'at most 500 chars' },
        ]);
      }
      if (channel.linkStatus === 'UNLINKED') return;
      const accessToken =
        channel.accessTokenSealed === ''
          ? ''
          : cipher.decrypt(channel.accessTokenSealed, channelId);
      for (const sub of await store.subscriptions(channelId)) {
        try {
          if (sub.platform === 'TWITCH') await apis.twitch.unsubscribe(sub.id);
          else if (sub.platform === 'KICK') await apis.kick.unsubscribe(accessToken, sub.id);
          await store.deleteSubscription(sub.platform as 'TWITCH' | 'KICK', sub.id);
        } catch (error) {
          // Left for reconciliation: it deletes subscriptions of channels no longer linked.
          deps.logger.warn({ err: error, channelId, subscription: sub.id }, 'unsubscribe failed');
        }
      }
      if (channel.platform === 'TWITCH' && accessToken !== '') {
        await apis.twitch.revoke(accessToken).catch((error: unknown) => {
          deps.logger.warn({ err: error, channelId }, 'token revocation failed');
        });
      }
      const nowMs = clock.now();
      await store.transaction(async (tx) => {
        const locked = await store.channel(channelId, tx, true);
        if (locked === undefined || locked.linkStatus === 'UNLINKED') return;
        await store.setLinkStatus(tx, channelId, 'UNLINKED', '', nowMs);
        if (locked.platform === 'YOUTUBE') await stopPolling(tx, channelId);
        // The StreamBet channel (and its markets) goes with its last link only.
        if ((await store.linksOf(tx, locked.streambetChannelId)).length > 0) return;
        await store.append(tx, [
          channelUnlinked(
            { ...locked, channelId: locked.streambetChannelId },
            reason,
            nowMs,
            actorOf(actor),
          ),
        ]);
      });
    },

    /**
     * UpdateChannelSettings: mirroring on the channel's Twitch link (the addressed link, or the
     * StreamBet channel's Twitch link when the addressed one is another platform), the offline
     * lock policy and push flag on the StreamBet channel.
     */
    async updateSettings(
      actor: Actor,
      channelId: string,
      change: {
        readonly mirror: boolean | undefined;
        readonly offlineLockPolicy: OfflinePolicy | undefined;
        readonly pushMarketsToTwitch: boolean | undefined;
      },
    ): Promise<ChannelRow> {
      const addressed = await owned(channelId, actor);
      if (addressed.linkStatus === 'UNLINKED') throw new NotFoundError(`no channel ${channelId}`);
      const all = await store.linksOf(store.sql, addressed.streambetChannelId);
      const twitch =
        addressed.platform === 'TWITCH' ? addressed : all.find((l) => l.platform === 'TWITCH');
      const { mirror, offlineLockPolicy, pushMarketsToTwitch } = change;
      if (mirror === true && twitch === undefined) {
        throw new IllegalStateError('mirror_twitch_predictions applies to Twitch channels only');
      }
      if (
        mirror === true &&
        !(twitch?.scopes.split(' ') ?? []).includes('channel:read:predictions')
      ) {
        throw new IllegalStateError(
          'the Twitch grant lacks channel:read:predictions: link the channel again',
        );
      }
      if (
        pushMarketsToTwitch === true &&
        (twitch === undefined ||
          twitch.linkStatus !== 'ACTIVE' ||
          !twitch.scopes.split(' ').includes('channel:manage:predictions'))
      ) {
        throw new IllegalStateError(
          'pushing markets needs an active Twitch link granted channel:manage:predictions: link Twitch (again)',
        );
      }
      const mirrorChanges =
        mirror !== undefined && twitch !== undefined && mirror !== twitch.mirrorTwitchPredictions;
      const channelChanges =
        (offlineLockPolicy !== undefined && offlineLockPolicy !== addressed.offlineLockPolicy) ||
        (pushMarketsToTwitch !== undefined &&
          pushMarketsToTwitch !== addressed.pushMarketsToTwitch);
      if (mirrorChanges || channelChanges) {
        const nowMs = clock.now();
        await store.transaction(async (tx) => {
          if (mirrorChanges && twitch !== undefined) {
            await store.setMirror(tx, twitch.channelId, mirror);
          }
          await store.setChannelSettings(tx, addressed.streambetChannelId, {
            offlineLockPolicy,
            pushMarketsToTwitch,
          });
          if (pushMarketsToTwitch === false)
            await store.setPushNote(tx, addressed.streambetChannelId, '');
          const after = await store.channel(twitch?.channelId ?? addressed.channelId, tx);
          await store.append(tx, [
            settingsChanged(
              addressed.streambetChannelId,
              {
                mirrorTwitchPredictions: after?.mirrorTwitchPredictions ?? false,
                offlineLockPolicy: after?.offlineLockPolicy ?? 'last',
                pushMarketsToTwitch: after?.pushMarketsToTwitch ?? false,
              },
              nowMs,
              actorOf(actor),
            ),
          ]);
        });
        if (mirrorChanges && mirror && twitch !== undefined) {
          for (const type of twitchPredictionTypes) {
            try {
              const sub = await apis.twitch.subscribe(type, twitch.platformChannelId);
              await store.saveSubscription(store.sql, {
                platform: 'TWITCH',
                id: sub.id,
                channelId: twitch.channelId,
                type,
                status: sub.status,
              });
            } catch (error) {
              deps.logger.warn(
                { err: error, channelId: twitch.channelId, type },
                'prediction subscription failed; reconciliation retries',
              );
            }
          }
        }
      }
      const after = await store.channel(addressed.channelId);
      if (after === undefined) throw new NotFoundError(`no channel ${channelId}`);
      return after;
    },

    /**
     * Refreshes tokens expiring within {@link refreshAheadMs}; a refusal by the platform puts the
     * channel in REAUTH_REQUIRED with the reason. Returns how many were refreshed.
     */
    async refreshTokens(): Promise<number> {
      let refreshed = 0;
      for (const channel of await store.channelsToRefresh(clock.now() + refreshAheadMs, 100)) {
        if (channel.platform !== 'TWITCH') continue;
        try {
          const tokens = await apis.twitch.refresh(
            cipher.decrypt(channel.refreshTokenSealed, channel.channelId),
          );
          await store.setTokens(store.sql, channel.channelId, {
            access: cipher.encrypt(tokens.accessToken, channel.channelId),
            refresh: cipher.encrypt(tokens.refreshToken, channel.channelId),
            expiresAtMs: tokens.expiresAtMs,
          });
          refreshed += 1;
        } catch (error) {
          if (!(error instanceof PlatformRejectedError)) {
            deps.logger.warn(
              { err: error, channelId: channel.channelId },
              'token refresh failed; retrying later',
            );
            continue;
          }
          await store.setLinkStatus(
            store.sql,
            channel.channelId,
            'REAUTH_REQUIRED',
            `Twitch refused to refresh the authorization (${error.message}): link the channel again`,
            clock.now(),
          );
        }
      }
      return refreshed;
    },

    /**
     * Reconciles Twitch EventSub subscriptions with what we want: recreates missing or revoked ones
     * for ACTIVE channels, deletes ones whose channel is not (or no longer) ours.
     */
    async reconcileTwitch(): Promise<{ created: number; deleted: number }> {
      const held = await apis.twitch.subscriptions();
      const channels = await store.activeChannels('TWITCH');
      const byBroadcaster = new Map(channels.map((c) => [c.platformChannelId, c]));
      let created = 0;
      let deleted = 0;
      const healthy = new Set<string>();
      for (const sub of held) {
        const channel = byBroadcaster.get(sub.broadcasterUserId);
        const wanted =
          channel !== undefined &&
          ((twitchStreamTypes as readonly string[]).includes(sub.type) ||
            (channel.mirrorTwitchPredictions &&
              (twitchPredictionTypes as readonly string[]).includes(sub.type)));
        const alive =
          sub.status === 'enabled' || sub.status === 'webhook_callback_verification_pending';
        if (!wanted || !alive) {
          await apis.twitch.unsubscribe(sub.id);
          await store.deleteSubscription('TWITCH', sub.id);
          deleted += 1;
          continue;
        }
        healthy.add(`${sub.broadcasterUserId}/${sub.type}`);
      }
      for (const channel of channels) {
        const types = channel.mirrorTwitchPredictions
          ? [...twitchStreamTypes, ...twitchPredictionTypes]
          : [...twitchStreamTypes];
        for (const type of types) {
          if (healthy.has(`${channel.platformChannelId}/${type}`)) continue;
          const sub = await apis.twitch.subscribe(type, channel.platformChannelId);
          await store.saveSubscription(store.sql, {
            platform: 'TWITCH',
            id: sub.id,
            channelId: channel.channelId,
            type,
            status: sub.status,
          });
          created += 1;
        }
      }
      return { created, deleted };
    },
  };
}

/** The link service. */
export type LinkService = ReturnType<typeof createLinkService>;
