/**
 * The YouTube Data API v3 calls this service makes (API key auth), cheapest first, behind its own
 * circuit breaker: `channels.list?part=snippet,contentDetails&id=` (the channel and its uploads
 * playlist), `playlistItems.list?part=contentDetails&playlistId=` (latest uploads, where a live
 * broadcast shows up) and `videos.list?part=snippet,liveStreamingDetails&id=` (live or not, start
 * and end). Each costs 1 quota unit (see domain/youtube-quota.ts); `search.list` (100) is not used.
 */
import { createCircuitBreaker, isCircuitOpenError } from '@streambet/platform/rpc/circuit-breaker';
import type { Clock } from '@streambet/platform/rpc/clock';
import { PlatformRejectedError, PlatformUnavailableError } from './platforms.js';

type Json = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A YouTube channel as channels.list describes it. */
export interface YoutubeChannel {
  readonly id: string;
  readonly title: string;
  /** The @handle (snippet.customUrl), or the id when it has none. */
  readonly handle: string;
  readonly thumbnailUrl: string;
  readonly uploadsPlaylistId: string;
}

/** A video's live facts (videos.list liveStreamingDetails). */
export interface YoutubeVideo {
  readonly id: string;
  readonly title: string;
  /** snippet.liveBroadcastContent: 'live', 'upcoming' or 'none'. */
  readonly liveBroadcastContent: string;
  readonly actualStartMs: number | undefined;
  readonly actualEndMs: number | undefined;
}

function time(value: unknown): number | undefined {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Creates the YouTube client. */
export function createYoutubeApi(options: {
  readonly clock: Clock;
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly breaker?: { failureThreshold: number; resetTimeoutMs: number };
}) {
  const tuning = options.breaker ?? { failureThreshold: 5, resetTimeoutMs: 10_000 };
  const breaker = createCircuitBreaker('youtube', tuning, { clock: options.clock });

  async function get(path: string, params: Record<string, string>): Promise<Json> {
    let permit;
    try {
      permit = breaker.acquire();
    } catch (error) {
      if (isCircuitOpenError(error)) {
        throw new PlatformUnavailableError(
          'YOUTUBE',
          'YouTube is unavailable (circuit open after repeated failures): retry later',
          tuning.resetTimeoutMs,
        );
      }
      throw error;
    }
    const url = new URL(`${options.apiUrl}${path}`);
    url.search = new URLSearchParams({ ...params, key: options.apiKey }).toString();
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      permit.report('failure');
      throw new PlatformUnavailableError(
        'YOUTUBE',
        `YouTube did not answer (${(error as Error).message}): retry later`,
        1000,
      );
    }
    const body = (await response.json().catch(() => ({}))) as Json;
    // 403 quotaExceeded / rateLimitExceeded is an outage for us, not a refusal of the input.
    const reason = str(
      ((((body.error as Json | undefined)?.errors as Json[] | undefined) ?? [])[0] ?? {}).reason,
    );
    if (response.status >= 500 || response.status === 429 || /quota|rateLimit/.test(reason)) {
      permit.report('failure');
      throw new PlatformUnavailableError(
        'YOUTUBE',
        `YouTube answered ${response.status}${reason === '' ? '' : ` (${reason})`}: retry later`,
        1000,
      );
    }
    permit.report('success');
    if (response.status >= 400) {
      throw new PlatformRejectedError(
        'YOUTUBE',
        response.status,
        `YouTube refused the request (${response.status}${reason === '' ? '' : ` ${reason}`})`,
      );
    }
    return body;
  }

  return {
    breaker,

    /** channels.list by id (1 unit); undefined when no such channel. */
    async channel(id: string): Promise<YoutubeChannel | undefined> {
      const body = await get('/channels', { part: 'snippet,contentDetails', id });
      const item = ((body.items as Json[] | undefined) ?? [])[0];
      if (item === undefined) return undefined;
      const snippet = (item.snippet ?? {}) as Json;
      const thumbnails = (snippet.thumbnails ?? {}) as Record<string, Json>;
      const related = ((item.contentDetails ?? {}) as Json).relatedPlaylists as Json | undefined;
      return {
        id: str(item.id),
        title: str(snippet.title),
        handle: str(snippet.customUrl) || str(item.id),
        thumbnailUrl: str((thumbnails.default ?? thumbnails.medium ?? {}).url),
        uploadsPlaylistId: str(related?.uploads),
      };
    },

    /** playlistItems.list (1 unit): the video ids of the latest `max` items. */
    async latestVideoIds(playlistId: string, max = 5): Promise<string[]> {
      const body = await get('/playlistItems', {
        part: 'contentDetails',
        playlistId,
        maxResults: String(max),
      });
      return ((body.items as Json[] | undefined) ?? [])
        .map((i) => str(((i.contentDetails ?? {}) as Json).videoId))
        .filter((id) => id !== '');
    },

    /** videos.list (1 unit for up to 50 ids): live facts of each. */
    async videos(ids: readonly string[]): Promise<YoutubeVideo[]> {
      if (ids.length === 0) return [];
      const body = await get('/videos', {
        part: 'snippet,liveStreamingDetails',
        id: ids.slice(0, 50).join(','),
      });
      return ((body.items as Json[] | undefined) ?? []).map((v) => {
        const snippet = (v.snippet ?? {}) as Json;
        const live = (v.liveStreamingDetails ?? {}) as Json;
        return {
          id: str(v.id),
          title: str(snippet.title),
          liveBroadcastContent: str(snippet.liveBroadcastContent) || 'none',
          actualStartMs: time(live.actualStartTime),
          actualEndMs: time(live.actualEndTime),
        };
      });
    },
  };
}

/** The YouTube client. */
export type YoutubeApi = ReturnType<typeof createYoutubeApi>;
