/**
 * Leaderboard rules (product.md "Live experience"; pool.proto GetLeaderboard): per channel and
 * global, daily (UTC day), weekly (ISO week from Monday 00:00 UTC) and all-time, ranked by net
 * profit = Σ (payout − stake) of SETTLEMENT payout rows, by settlement time; real money and points
 * ranked separately. Competition ranking (1, 2, 2, 4), ties ordered by user id ascending.
 */

/** Which users a board ranks. */
export type LeaderboardScope = 'CHANNEL' | 'GLOBAL';
/** Which span a board covers. */
export type LeaderboardPeriod = 'DAILY' | 'WEEKLY' | 'ALL_TIME';

/** One board: a scope, a period instance and a currency. */
export interface Board {
  readonly scope: LeaderboardScope;
  /** Set for CHANNEL scope, empty for GLOBAL. */
  readonly channelId: string;
  readonly period: LeaderboardPeriod;
  readonly currency: string;
  /** Period start (inclusive), 0 for ALL_TIME. */
  readonly startsAtMs: number;
  /** Period end (exclusive), 0 for ALL_TIME. */
  readonly endsAtMs: number;
}

const DAY_MS = 86_400_000;
/** How long a finished daily or weekly board is kept after its end (then it expires). */
export const FINISHED_BOARD_RETENTION_MS = DAY_MS;

/** Bounds of the period instance containing `atMs` (UTC). */
export function periodBounds(
  period: LeaderboardPeriod,
  atMs: number,
): { startsAtMs: number; endsAtMs: number } {
  if (period === 'ALL_TIME') return { startsAtMs: 0, endsAtMs: 0 };
  const dayStart = Math.floor(atMs / DAY_MS) * DAY_MS;
  if (period === 'DAILY') return { startsAtMs: dayStart, endsAtMs: dayStart + DAY_MS };
  // 1970-01-01 was a Thursday: days since the epoch + 3, mod 7, is days since Monday.
  const daysSinceMonday = (((Math.floor(atMs / DAY_MS) + 3) % 7) + 7) % 7;
  const weekStart = dayStart - daysSinceMonday * DAY_MS;
  return { startsAtMs: weekStart, endsAtMs: weekStart + 7 * DAY_MS };
}

/** The board a request names, for the period instance containing `nowMs`. */
export function boardAt(
  scope: LeaderboardScope,
  channelId: string,
  period: LeaderboardPeriod,
  currency: string,
  nowMs: number,
): Board {
  return {
    scope,
    channelId: scope === 'CHANNEL' ? channelId : '',
    period,
    currency,
    ...periodBounds(period, nowMs),
  };
}

/** Every board a settled payout counts on: its channel and global, × daily, weekly, all-time. */
export function boardsForPayout(channelId: string, currency: string, paidAtMs: number): Board[] {
  const boards: Board[] = [];
  for (const scope of ['CHANNEL', 'GLOBAL'] as const) {
    for (const period of ['DAILY', 'WEEKLY', 'ALL_TIME'] as const) {
      boards.push(boardAt(scope, channelId, period, currency, paidAtMs));
    }
  }
  return boards;
}

/** Stable key of a board (SQL row key and cache key suffix), e.g. `BRL:c:01H…:d:2026-11-24`. */
export function boardKey(board: Board): string {
  const scope = board.scope === 'CHANNEL' ? `c:${board.channelId}` : 'g';
  const period =
    board.period === 'ALL_TIME'
      ? 'all'
      : `${board.period === 'DAILY' ? 'd' : 'w'}:${new Date(board.startsAtMs).toISOString().slice(0, 10)}`;
  return `${board.currency}:${scope}:${period}`;
}

/** When a board may be dropped (its end plus retention); undefined for ALL_TIME (kept forever). */
export function boardExpiresAtMs(board: Board): number | undefined {
  return board.period === 'ALL_TIME' ? undefined : board.endsAtMs + FINISHED_BOARD_RETENTION_MS;
}

/**
 * Sorted sets order equal scores by member in DESCENDING byte order (ZREVRANGE), but the contract
 * orders ties by user id ascending. The member is therefore the user id with every character
 * mirrored inside printable ASCII (0x20–0x7E) plus a 0x7F terminator, which reverses the byte
 * order of ids exactly (a shorter id that is a prefix of a longer one still sorts first).
 * User ids are ULIDs, so they are printable ASCII; anything else is refused.
 */
export function encodeMember(userId: string): string {
  let out = '';
  for (const char of userId) {
    const code = char.charCodeAt(0);
    if (char.length !== 1 || code < 0x20 || code > 0x7e) {
      throw new RangeError(
        `leaderboard member ids must be printable ASCII, got ${JSON.stringify(userId)}`,
      );
    }
    out += String.fromCharCode(0x9e - code);
  }
  return `${out}\x7f`;
}

/** Inverse of {@link encodeMember}. */
export function decodeMember(member: string): string {
  let out = '';
  for (const char of member.slice(0, -1)) out += String.fromCharCode(0x9e - char.charCodeAt(0));
  return out;
}

/**
 * Competition ranks (1-based) of consecutive scores in descending order, given the rank of the
 * first one. Equal scores share the rank of the first of them: 1, 2, 2, 4.
 */
export function competitionRanks(
  scores: readonly number[],
  firstRank: number,
  firstIndex: number,
): number[] {
  const ranks: number[] = [];
  scores.forEach((score, offset) => {
    if (offset === 0) ranks.push(firstRank);
    else if (score === scores[offset - 1]) ranks.push(ranks[offset - 1]!);
    else ranks.push(firstIndex + offset + 1);
  });
  return ranks;
}
