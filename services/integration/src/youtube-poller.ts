/**
 * YouTube live state by polling (YouTube has no push), within the Data API quota
 * (domain/youtube-quota.ts): the quota bucket in the database, and the poller that, on each tick,
 * polls the linked YouTube channels that are due. A channel not live costs 2 units
 * (playlistItems.list on its uploads playlist, then videos.list on the latest uploads); a live one
 * costs 1 (videos.list on the live video). What a poll finds goes through the same aggregate rule as
 * webhooks (live.ts). Polls stop for the tick when the bucket runs low, keeping a reserve for
 * linking. The tick timer is injected, so tests drive polls by hand with a manual clock.
 */
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  basePollIntervalMs,
  fullBucket,
  nextPollDelayMs,
  reserveUnits,
  takeUnits,
  type QuotaPlan,
} from './domain/youtube-quota.js';
import { applyLiveReport, type LiveReport } from './live.js';
import type { IntegrationStore } from './store.js';
import type { YoutubeApi } from './youtube-api.js';

/** The shared quota bucket. */
export function createYoutubeQuota(deps: {
  readonly store: IntegrationStore;
  readonly clock: Clock;
  readonly plan: QuotaPlan;
}) {
  const { store, clock, plan } = deps;
  return {
    plan,
    /** Takes `units` if the bucket keeps `keep` afterwards; false when there is not enough. */
    async take(units: number, keep = 0): Promise<boolean> {
      return store.transaction(async (tx) => {
        const nowMs = clock.now();
        const full = fullBucket(plan, nowMs);
        await tx.query(
          `INSERT INTO integration_youtube_quota (id, tokens, counted_at_ms) VALUES (1, $1, $2)
           ON CONFLICT (id) DO NOTHING`,
          [full.tokens, full.atMs],
        );
        const row = (
          await tx.query<{ tokens: number | string; counted_at_ms: string }>(
            `SELECT tokens, counted_at_ms::text AS counted_at_ms FROM integration_youtube_quota
             WHERE id = 1 FOR UPDATE`,
          )
        ).rows[0];
        const next = takeUnits(
          { tokens: Number(row?.tokens ?? 0), atMs: Number(row?.counted_at_ms ?? nowMs) },
          units,
          nowMs,
          plan,
          keep,
        );
        if (next === undefined) return false;
        await tx.query(
          `UPDATE integration_youtube_quota SET tokens = $1, counted_at_ms = $2,
             spent_units = spent_units + $3 WHERE id = 1`,
          [next.tokens, next.atMs, units],
        );
        return true;
      });
    },
    /** Units spent so far (all time). */
    async spent(): Promise<number> {
      const result = await store.sql.query<{ spent_units: string }>(
        `SELECT spent_units::text AS spent_units FROM integration_youtube_quota WHERE id = 1`,
      );
      return Number(result.rows[0]?.spent_units ?? 0);
    },
  };
}

/** The quota bucket. */
export type YoutubeQuota = ReturnType<typeof createYoutubeQuota>;

/** Starts polling a new YouTube link (in its link transaction): first poll at once. */
export async function startPolling(
  tx: SqlExecutor,
  linkId: string,
  uploadsPlaylistId: string,
  nowMs: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO integration_youtube_polls (link_id, uploads_playlist_id, next_poll_at_ms)
     VALUES ($1, $2, $3) ON CONFLICT (link_id) DO UPDATE
       SET next_poll_at_ms = EXCLUDED.next_poll_at_ms, error_streak = 0, last_error = ''`,
    [linkId, uploadsPlaylistId, nowMs],
  );
}

/** Stops polling a link (unlinked). */
export async function stopPolling(tx: SqlExecutor, linkId: string): Promise<void> {
  await tx.query(`DELETE FROM integration_youtube_polls WHERE link_id = $1`, [linkId]);
}

interface PollRow {
  readonly linkId: string;
  readonly uploadsPlaylistId: string;
  readonly liveVideoId: string;
  readonly offlineStreak: number;
  readonly errorStreak: number;
}

/** Poller tuning. */
export interface PollerSettings {
  /** Shortest interval between two polls of one channel. */
  readonly minIntervalMs: number;
  /** Longest interval of a channel that stays offline. */
  readonly maxOfflineIntervalMs: number;
  /** Longest backoff after errors. */
  readonly maxBackoffMs: number;
  /** How often the poller looks for due channels. */
  readonly tickMs: number;
}

/** Creates the poller. */
export function createYoutubePoller(deps: {
  readonly store: IntegrationStore;
  readonly api: YoutubeApi;
  readonly quota: YoutubeQuota;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: PollerSettings;
  /** Uniform in [0, 1) (jitter); Math.random in production. */
  readonly random: () => number;
}) {
  const { store, api, quota, clock, settings } = deps;

  async function reschedule(
    row: PollRow,
    update: { liveVideoId: string; offlineStreak: number; errorStreak: number; error: string },
    baseMs: number,
  ): Promise<number> {
    const nowMs = clock.now();
    const delayMs = nextPollDelayMs({
      baseMs,
      offlineStreak: update.offlineStreak,
      errorStreak: update.errorStreak,
      maxOfflineMs: settings.maxOfflineIntervalMs,
      maxBackoffMs: settings.maxBackoffMs,
      random: deps.random(),
    });
    await store.sql.query(
      `UPDATE integration_youtube_polls SET live_video_id = $2, offline_streak = $3,
         error_streak = $4, last_error = $5, last_polled_at_ms = $6, next_poll_at_ms = $7
       WHERE link_id = $1`,
      [
        row.linkId,
        update.liveVideoId,
        update.offlineStreak,
        update.errorStreak,
        update.error.slice(0, 500),
        nowMs,
        nowMs + delayMs,
      ],
    );
    return delayMs;
  }

  /** What the platform says now about the link: live (with the video) or not. */
  async function observe(
    row: PollRow,
  ): Promise<{ report: Omit<LiveReport, 'nowMs'>; videoId: string }> {
    const nowMs = clock.now();
    if (row.liveVideoId !== '') {
      const [video] = await api.videos([row.liveVideoId]);
      if (
        video !== undefined &&
        video.liveBroadcastContent === 'live' &&
        video.actualEndMs === undefined
      ) {
        return {
          report: {
            live: true,
            atMs: video.actualStartMs ?? nowMs,
            title: video.title,
            streamId: video.id,
          },
          videoId: video.id,
        };
      }
      return {
        report: {
          live: false,
          atMs: video?.actualEndMs ?? nowMs,
          title: '',
          streamId: row.liveVideoId,
        },
        videoId: '',
      };
    }
    const ids = await api.latestVideoIds(row.uploadsPlaylistId);
    const live = (await api.videos(ids)).find(
      (v) =>
        v.liveBroadcastContent === 'live' &&
        v.actualStartMs !== undefined &&
        v.actualEndMs === undefined,
    );
    if (live !== undefined) {
      return {
        report: {
          live: true,
          atMs: live.actualStartMs ?? nowMs,
          title: live.title,
          streamId: live.id,
        },
        videoId: live.id,
      };
    }
    return { report: { live: false, atMs: nowMs, title: '', streamId: '' }, videoId: '' };
  }

  return {
    /**
     * Polls every due channel (up to `limit`) while the quota allows; returns how many were polled.
     * A failed poll backs off; the others go on.
     */
    async pollDue(limit = 200): Promise<number> {
      const nowMs = clock.now();
      const count = await store.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM integration_youtube_polls p
         JOIN integration_channels c ON c.channel_id = p.link_id WHERE c.link_status = 'ACTIVE'`,
      );
      const baseMs = basePollIntervalMs(
        Number(count.rows[0]?.n ?? 0),
        quota.plan,
        settings.minIntervalMs,
      );
      const due = await store.sql.query<{
        link_id: string;
        uploads_playlist_id: string;
        live_video_id: string | null;
        offline_streak: number | string;
        error_streak: number | string;
      }>(
        `SELECT p.link_id, p.uploads_playlist_id, p.live_video_id, p.offline_streak, p.error_streak
         FROM integration_youtube_polls p JOIN integration_channels c ON c.channel_id = p.link_id
         WHERE c.link_status = 'ACTIVE' AND p.next_poll_at_ms <= $1
         ORDER BY p.next_poll_at_ms, p.link_id LIMIT $2`,
        [nowMs, limit],
      );
      let polled = 0;
      for (const raw of due.rows) {
        const row: PollRow = {
          linkId: raw.link_id,
          uploadsPlaylistId: raw.uploads_playlist_id,
          liveVideoId: raw.live_video_id ?? '',
          offlineStreak: Number(raw.offline_streak),
          errorStreak: Number(raw.error_streak),
        };
        const cost = row.liveVideoId === '' ? 2 : 1;
        if (!(await quota.take(cost, reserveUnits(quota.plan)))) {
          deps.logger.warn({ due: due.rows.length, polled }, 'YouTube quota low: polls deferred');
          break;
        }
        try {
          const { report, videoId } = await observe(row);
          await store.transaction(async (tx) => {
            const link = await store.channel(row.linkId, tx);
            if (link === undefined || link.linkStatus !== 'ACTIVE') return;
            await applyLiveReport(tx, store, link, {
              ...report,
              nowMs: clock.now(),
              observed: true,
            });
          });
          await reschedule(
            row,
            {
              liveVideoId: videoId,
              offlineStreak: report.live ? 0 : row.offlineStreak + 1,
              errorStreak: 0,
              error: '',
            },
            baseMs,
          );
        } catch (error) {
          deps.logger.warn({ err: error, linkId: row.linkId }, 'YouTube poll failed; backing off');
          await reschedule(
            row,
            {
              liveVideoId: row.liveVideoId,
              offlineStreak: row.offlineStreak,
              errorStreak: row.errorStreak + 1,
              error: (error as Error).message,
            },
            baseMs,
          );
        }
        polled += 1;
      }
      return polled;
    },
  };
}

/** The poller. */
export type YoutubePoller = ReturnType<typeof createYoutubePoller>;

/** The poller as a background task: a tick every `tickMs` (setTimeout, not overlapping). */
export function createYoutubePollTask(deps: {
  readonly poller: YoutubePoller;
  readonly logger: Logger;
  readonly tickMs: number;
}): BackgroundTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  const loop = () => {
    if (stopped) return;
    running = deps.poller
      .pollDue()
      .then(
        () => undefined,
        (error: unknown) => deps.logger.warn({ err: error }, 'YouTube poll tick failed'),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) {
          timer = setTimeout(loop, deps.tickMs);
          timer.unref();
        }
      });
  };
  return {
    name: 'integration-youtube-poller',
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(loop, deps.tickMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
