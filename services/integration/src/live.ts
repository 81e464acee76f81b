/**
 * A platform's live report (a Twitch or Kick webhook, a YouTube poll) applied to one link and to
 * its StreamBet channel: the link's own live state is recorded, and StreamWentOnline /
 * StreamWentOffline are published for the StreamBet channel by the aggregate rule of
 * `domain/live-state.ts` (live on any link; offline when the last, or the first, live link goes
 * offline, as the channel's `offline_lock_policy` says). The caller's transaction holds the
 * StreamBet channel's row lock, so reports of several platforms are decided one after the other.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { decideLiveChange } from './domain/live-state.js';
import { effectEvent } from './events.js';
import type { ChannelRow, IntegrationStore } from './store.js';

/** One report from a platform about one link. */
export interface LiveReport {
  readonly live: boolean;
  /** Broadcast start (online) or end (offline) as the platform says, else our detection time. */
  readonly atMs: number;
  readonly title: string;
  /** The platform's broadcast id; '' if it gives none. */
  readonly streamId: string;
  /** Our clock. */
  readonly nowMs: number;
  /**
   * A poll's observation (YouTube) rather than a platform's event: the first poll finding a link
   * offline is not the end of a broadcast and publishes nothing.
   */
  readonly observed?: boolean;
}

/** Applies `report` to `link` in `tx`; returns the link id and a detail for the webhook log. */
export async function applyLiveReport(
  tx: SqlExecutor,
  store: IntegrationStore,
  link: ChannelRow,
  report: LiveReport,
): Promise<{ channelId: string; detail: string }> {
  await store.lockStreambetChannel(tx, link.streambetChannelId);
  const links = await store.linksOf(tx, link.streambetChannelId);
  const current = links.find((l) => l.channelId === link.channelId) ?? link;
  const decision = decideLiveChange(
    links.map((l) => ({ platform: l.platform, state: l.liveState })),
    { platform: link.platform, live: report.live },
    current.offlineLockPolicy,
  );
  if (decision.unchanged) {
    return { channelId: link.channelId, detail: `already ${report.live ? 'LIVE' : 'OFFLINE'}` };
  }
  await store.setLive(
    tx,
    link.channelId,
    report.live
      ? { state: 'LIVE', sinceMs: report.atMs, title: report.title, streamId: report.streamId }
      : { state: 'OFFLINE', sinceMs: 0, title: '', streamId: '' },
    report.nowMs,
  );
  const firstLook = report.observed === true && current.liveState === 'UNKNOWN';
  const publish = report.live ? decision.online : decision.offline && !firstLook;
  if (publish) {
    await store.append(tx, [
      effectEvent(
        link.streambetChannelId,
        link.platform,
        report.live
          ? {
              kind: 'online',
              platformChannelId: link.platformChannelId,
              platformStreamId: report.streamId,
              startedAtMs: report.atMs,
              title: report.title,
            }
          : {
              kind: 'offline',
              platformChannelId: link.platformChannelId,
              platformStreamId: report.streamId === '' ? current.platformStreamId : report.streamId,
              endedAtMs: report.atMs,
            },
        report.nowMs,
      ),
    ]);
  }
  return {
    channelId: link.channelId,
    detail: `${link.platform} ${report.live ? 'LIVE' : 'OFFLINE'}; channel ${decision.before} → ${decision.after}${publish ? (report.live ? ', StreamWentOnline' : ', StreamWentOffline') : ''}`,
  };
}
