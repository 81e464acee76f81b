/**
 * A channel's live state across its linked platforms, pure. The channel is live when it is live on
 * any platform. When a platform goes offline, the markets' auto-lock fires either when the first
 * platform goes offline (`first`) or only when the last one does (`last`, the default): the
 * returned `offline` decision says when to publish StreamWentOffline.
 */

/** Live state of one platform link, or of the channel. */
export type LiveState = 'UNKNOWN' | 'OFFLINE' | 'LIVE';

/** When offline auto-lock fires on a channel linked to several platforms. */
export type OfflinePolicy = 'first' | 'last';

/** One platform link's state. */
export interface LinkLive {
  readonly platform: string;
  readonly state: LiveState;
}

/** A report from a platform: the link went live or offline at `atMs`. */
export interface LiveChange {
  readonly platform: string;
  readonly live: boolean;
}

/** The outcome of one report. */
export interface LiveDecision {
  /** The links after the report. */
  readonly links: readonly LinkLive[];
  /** The channel's state before and after. */
  readonly before: LiveState;
  readonly after: LiveState;
  /** Publish StreamWentOnline (the channel went from not live to live). */
  readonly online: boolean;
  /** Publish StreamWentOffline (auto-lock): by the policy, this report ends the broadcast. */
  readonly offline: boolean;
  /** The report changed nothing (a repeat of the known state). */
  readonly unchanged: boolean;
}

/** The channel's state from its links: live on any → LIVE; all known offline → OFFLINE. */
export function channelLiveState(links: readonly LinkLive[]): LiveState {
  if (links.some((l) => l.state === 'LIVE')) return 'LIVE';
  if (links.length > 0 && links.some((l) => l.state === 'OFFLINE')) return 'OFFLINE';
  return 'UNKNOWN';
}

/** Applies one platform's report to the channel's links. */
export function decideLiveChange(
  links: readonly LinkLive[],
  change: LiveChange,
  policy: OfflinePolicy,
): LiveDecision {
  const before = channelLiveState(links);
  const previous = links.find((l) => l.platform === change.platform)?.state ?? 'UNKNOWN';
  const next: LiveState = change.live ? 'LIVE' : 'OFFLINE';
  const updated = links.some((l) => l.platform === change.platform)
    ? links.map((l) => (l.platform === change.platform ? { ...l, state: next } : l))
    : [...links, { platform: change.platform, state: next }];
  const after = channelLiveState(updated);
  const unchanged = previous === next;
  const online = !unchanged && before !== 'LIVE' && after === 'LIVE';
  const offline =
    !unchanged &&
    !change.live &&
    (policy === 'last' ? before !== 'OFFLINE' && after === 'OFFLINE' : previous === 'LIVE');
  return { links: updated, before, after, online, offline, unchanged };
}
