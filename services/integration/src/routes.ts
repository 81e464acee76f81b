/**
 * IntegrationService: proto ↔ link service / store translation and input validation, nothing else.
 */
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChannelSchema,
  LinkStatus,
  LiveState,
  OfflineLockPolicy,
  type Channel,
  type IntegrationService,
} from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { offlinePolicyToProto, platformToProto, type PlatformName } from './events.js';
import type { Actor, LinkService } from './links.js';
import type { ChannelRow, IntegrationStore } from './store.js';

const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const youtubeChannelId = /^UC[A-Za-z0-9_-]{22}$/;

function actor(context: HandlerContext): Actor {
  const caller = context.values.get(callerKey);
  if (caller.kind !== 'user') throw new PermissionDeniedError('this call needs a signed-in user');
  return { userId: caller.userId, admin: caller.role === 'admin' };
}

function channelId(value: string): string {
  if (!ulid.test(value)) {
    throw new ValidationError('channel_id must be a ULID', [
      { field: 'channel_id', description: 'a 26-char ULID' },
    ]);
  }
  return value;
}

function platformName(platform: Platform): PlatformName | undefined {
  switch (platform) {
    case Platform.TWITCH:
      return 'TWITCH';
    case Platform.KICK:
      return 'KICK';
    case Platform.YOUTUBE:
      return 'YOUTUBE';
    default:
      return undefined;
  }
}

/** A stored channel as the contract's Channel. */
function liveToProto(state: ChannelRow['liveState']): LiveState {
  return state === 'LIVE'
    ? LiveState.LIVE
    : state === 'OFFLINE'
      ? LiveState.OFFLINE
      : LiveState.UNKNOWN;
}

/** A stored link as the contract's Channel (channel_id the StreamBet channel, link_id the link). */
export function channelToProto(row: ChannelRow): Channel {
  return create(ChannelSchema, {
    channelId: row.streambetChannelId,
    linkId: row.channelId,
    channelLiveState: liveToProto(row.channelLiveState),
    pushNote: row.pushMarketsToTwitch ? row.pushNote : '',
    ownerUserId: row.ownerUserId,
    platform: platformToProto(row.platform),
    platformChannelId: row.platformChannelId,
    handle: row.handle,
    displayName: row.displayName,
    profileImageUrl: row.profileImageUrl,
    channelUrl: row.channelUrl,
    linkStatus:
      row.linkStatus === 'ACTIVE'
        ? LinkStatus.ACTIVE
        : row.linkStatus === 'REAUTH_REQUIRED'
          ? LinkStatus.REAUTH_REQUIRED
          : LinkStatus.UNLINKED,
    liveState: liveToProto(row.liveState),
    liveSinceMs: BigInt(row.liveState === 'LIVE' ? row.liveSinceMs : 0),
    streamTitle: row.liveState === 'LIVE' ? row.streamTitle : '',
    liveStateChangedAtMs: BigInt(row.liveStateChangedAtMs),
    settings: {
      mirrorTwitchPredictions: row.mirrorTwitchPredictions,
      offlineLockPolicy: offlinePolicyToProto(row.offlineLockPolicy),
      pushMarketsToTwitch: row.pushMarketsToTwitch,
    },
    linkedAtMs: BigInt(row.linkedAtMs),
  });
}

const maxPageSize = 100;
const defaultPageSize = 50;

function pageOffset(token: string): number {
  if (token === '') return 0;
  const match = /^o(\d{1,9})$/.exec(token);
  if (match === null) {
    throw new ValidationError('bad page token', [
      { field: 'page.page_token', description: 'is not a token this RPC issued' },
    ]);
  }
  return Number(match[1]);
}

/** The IntegrationService handlers. */
export function createIntegrationServiceImpl(deps: {
  readonly links: LinkService;
  readonly store: IntegrationStore;
}): ServiceImpl<typeof IntegrationService> {
  const { links, store } = deps;
  return {
    async beginChannelLink(request, context) {
      const who = actor(context);
      const platform = platformName(request.platform);
      if (platform !== 'TWITCH' && platform !== 'KICK') {
        throw new ValidationError('platform must be TWITCH or KICK', [
          { field: 'platform', description: 'TWITCH or KICK' },
        ]);
      }
      const begun = await links.begin(who, platform, request.redirectUri);
      return {
        authorizeUrl: begun.authorizeUrl,
        state: begun.state,
        expiresAtMs: BigInt(begun.expiresAtMs),
      };
    },

    async linkChannel(request, context) {
      const who = actor(context);
      const platform = platformName(request.platform);
      const credential = request.credential;
      if (platform === 'YOUTUBE') {
        if (credential.case !== 'youtubeChannelId' || !youtubeChannelId.test(credential.value)) {
          throw new ValidationError('youtube_channel_id must be "UC" + 22 chars of [A-Za-z0-9_-]', [
            { field: 'youtube_channel_id', description: 'malformed' },
          ]);
        }
        return { channel: channelToProto(await links.linkYoutube(who, credential.value)) };
      }
      if (platform === undefined) {
        throw new ValidationError('platform is required', [
          { field: 'platform', description: 'TWITCH, KICK or YOUTUBE' },
        ]);
      }
      if (credential.case !== 'oauth') {
        throw new ValidationError('oauth is required for TWITCH and KICK', [
          { field: 'oauth', description: 'required' },
        ]);
      }
      const channel = await links.linkOAuth(
        who,
        platform,
        credential.value.code,
        credential.value.state,
      );
      return { channel: channelToProto(channel) };
    },

    async unlinkChannel(request, context) {
      await links.unlink(actor(context), channelId(request.channelId), request.reason);
      return {};
    },

    async listChannels(request) {
      if (request.query.length > 100) {
        throw new ValidationError('query must be at most 100 chars', [
          { field: 'query', description: 'at most 100 chars' },
        ]);
      }
      if (request.ownerUserId !== '') channelId(request.ownerUserId);
      const size = request.page?.pageSize ?? 0;
      if (size < 0) {
        throw new ValidationError('page_size must not be negative', [
          { field: 'page.page_size', description: '0–100' },
        ]);
      }
      const limit = Math.min(size === 0 ? defaultPageSize : size, maxPageSize);
      const offset = pageOffset(request.page?.pageToken ?? '');
      const rows = await store.listChannels({
        ownerUserId: request.ownerUserId,
        platform: platformName(request.platform),
        liveOnly: request.liveOnly,
        query: request.query,
        offset,
        limit: limit + 1,
      });
      return {
        channels: rows.slice(0, limit).map(channelToProto),
        page: { nextPageToken: rows.length > limit ? `o${offset + limit}` : '' },
      };
    },

    async getChannel(request) {
      const row = await store.resolve(channelId(request.channelId));
      if (row === undefined || row.linkStatus === 'UNLINKED') {
        throw new NotFoundError(`no channel ${request.channelId}`);
      }
      const links = await store.linksOf(store.sql, row.streambetChannelId);
      return { channel: channelToProto(row), links: links.map(channelToProto) };
    },

    async updateChannelSettings(request, context) {
      if (
        request.offlineLockPolicy !== OfflineLockPolicy.UNSPECIFIED &&
        request.offlineLockPolicy !== OfflineLockPolicy.FIRST &&
        request.offlineLockPolicy !== OfflineLockPolicy.LAST
      ) {
        throw new ValidationError('offline_lock_policy must be LAST or FIRST', [
          { field: 'offline_lock_policy', description: 'LAST, FIRST or unset' },
        ]);
      }
      const row = await links.updateSettings(actor(context), channelId(request.channelId), {
        mirror: request.mirrorTwitchPredictions,
        offlineLockPolicy:
          request.offlineLockPolicy === OfflineLockPolicy.FIRST
            ? 'first'
            : request.offlineLockPolicy === OfflineLockPolicy.LAST
              ? 'last'
              : undefined,
        pushMarketsToTwitch: request.pushMarketsToTwitch,
      });
      return { channel: channelToProto(row) };
    },
  };
}
