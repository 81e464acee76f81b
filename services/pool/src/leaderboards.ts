/**
 * Leaderboards: net profit per user per board (channel/global × daily/weekly/all-time × currency).
 * SQL (`pool_leaderboard_scores`) is the source of truth, updated in the settlement-event
 * consumer's inbox transaction (so each event counts once); the cache's sorted sets are the
 * ranking projection GetLeaderboard reads (Redis in the cluster).
 *
 * Keeping the projection exact without a transactional cache: the consumer updates the SQL row
 * first (which locks it until commit), then sets the member's score to the row's new ABSOLUTE
 * value (read score, add the difference). A redelivery after a failed commit sets the same value
 * again instead of adding twice, and two updates of one member are serialised by the row lock.
 * After a cache loss (the `ready` marker is gone) the sorted sets are rebuilt from SQL.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import type { Cache } from '@streambet/platform/cache/types';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import {
  boardExpiresAtMs,
  boardKey,
  boardsForPayout,
  competitionRanks,
  decodeMember,
  encodeMember,
  type Board,
} from './domain/leaderboard.js';

const keyPrefix = 'pool:lb:';
const readyKey = 'pool:lb:ready';

/**
 * One ranked entry as GetLeaderboard returns it. `netProfitMinor` is read from SQL as a bigint:
 * the cache's sorted-set scores are doubles, used for ordering only (exact while a user's net is
 * under 2^53 minor units), never as the amount shown.
 */
export interface RankedEntry {
  readonly rank: number;
  readonly userId: string;
  readonly netProfitMinor: bigint;
  readonly settledMarketCount: number;
}

/** A settled payout row's effect on the boards (a reversal is the negated row). */
export interface PayoutDelta {
  readonly userId: string;
  readonly channelId: string;
  readonly currency: string;
  /** When the payout was made: decides the daily and weekly boards it counts on. */
  readonly paidAtMs: number;
  /** payout − stake, signed; negated for a reversal. */
  readonly netMinor: bigint;
  /** +1 for a payout, −1 for its reversal. */
  readonly marketDelta: 1 | -1;
}

/** Creates the leaderboards over the pool's database and the cache port. */
export function createLeaderboards(deps: { readonly sql: Sql; readonly cache: Cache }) {
  const { sql, cache } = deps;

  async function setScore(
    key: string,
    userId: string,
    score: number,
    expiresAtMs: number | undefined,
    nowMs: number,
  ) {
    const cacheKey = keyPrefix + key;
    const member = encodeMember(userId);
    const current = (await cache.zScore(cacheKey, member)) ?? 0;
    await cache.zIncrBy(cacheKey, member, score - current);
    if (expiresAtMs !== undefined) await cache.expire(cacheKey, expiresAtMs - nowMs);
  }

  /** Rebuilds from SQL in `tx` (rows read FOR SHARE so a concurrent consumer waits for it). */
  async function rebuildIn(tx: SqlExecutor, nowMs: number): Promise<void> {
    const rows = await tx.query<{
      board_key: string;
      user_id: string;
      net_minor: bigint;
      expires_at_ms: bigint | null;
    }>(
      `SELECT board_key, user_id, net_minor, expires_at_ms FROM pool_leaderboard_scores
       WHERE expires_at_ms IS NULL OR expires_at_ms > $1 FOR SHARE`,
      [BigInt(nowMs)],
    );
    for (const row of rows.rows) {
      await setScore(
        row.board_key,
        row.user_id,
        Number(row.net_minor),
        row.expires_at_ms === null ? undefined : Number(row.expires_at_ms),
        nowMs,
      );
    }
    await cache.set(readyKey, String(nowMs));
  }

  async function rebuildBoard(
    tx: SqlExecutor,
    key: string,
    expiresAtMs: number | undefined,
    nowMs: number,
  ): Promise<void> {
    const rows = await tx.query<{ user_id: string; net_minor: bigint }>(
      'SELECT user_id, net_minor FROM pool_leaderboard_scores WHERE board_key = $1 FOR SHARE',
      [key],
    );
    await cache.del(keyPrefix + key);
    for (const row of rows.rows) {
      await setScore(key, row.user_id, Number(row.net_minor), expiresAtMs, nowMs);
    }
  }

  function rebuild(nowMs: number): Promise<void> {
    return sql.transaction((tx) => rebuildIn(tx, nowMs));
  }

  async function ensureProjection(nowMs: number, tx?: SqlExecutor): Promise<void> {
    if ((await cache.get(readyKey)) !== null) return;
    if (tx === undefined) await rebuild(nowMs);
    else await rebuildIn(tx, nowMs);
  }

  /** Smallest 0-based position ≤ `upper` whose score equals `score` (the start of its tie group). */
  async function firstPositionOfScore(
    cacheKey: string,
    score: number,
    upper: number,
  ): Promise<number> {
    let low = 0;
    let high = upper;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const probe = (await cache.zRevRange(cacheKey, mid, mid))[0];
      if (probe !== undefined && probe.score <= score) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Each listed user's exact net (bigint, from SQL: the source of truth) and market count. */
  async function standings(
    key: string,
    userIds: readonly string[],
  ): Promise<Map<string, { netMinor: bigint; marketCount: number }>> {
    if (userIds.length === 0) return new Map();
    const result = await sql.query<{ user_id: string; net_minor: bigint; market_count: bigint }>(
      'SELECT user_id, net_minor, market_count FROM pool_leaderboard_scores WHERE board_key = $1 AND user_id = ANY($2::text[])',
      [key, [...userIds]],
    );
    return new Map(
      result.rows.map((row) => [
        row.user_id,
        { netMinor: BigInt(row.net_minor), marketCount: Number(row.market_count) },
      ]),
    );
  }

  return {
    /**
     * Applies one payout (or reversal) to every board it counts on, inside the consumer's inbox
     * transaction `tx`. Boards already past their retention are skipped.
     */
    async applyPayout(tx: SqlExecutor, delta: PayoutDelta, nowMs: number): Promise<void> {
      await ensureProjection(nowMs, tx);
      for (const board of boardsForPayout(delta.channelId, delta.currency, delta.paidAtMs)) {
        const expiresAtMs = boardExpiresAtMs(board);
        if (expiresAtMs !== undefined && expiresAtMs <= nowMs) continue;
        const key = boardKey(board);
        const row = await tx.query<{ net_minor: bigint; market_count: bigint }>(
          `INSERT INTO pool_leaderboard_scores (board_key, user_id, net_minor, market_count, expires_at_ms)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (board_key, user_id) DO UPDATE
             SET net_minor = pool_leaderboard_scores.net_minor + EXCLUDED.net_minor,
                 market_count = pool_leaderboard_scores.market_count + EXCLUDED.market_count
           RETURNING net_minor, market_count`,
          [
            key,
            delta.userId,
            delta.netMinor,
            BigInt(delta.marketDelta),
            expiresAtMs === undefined ? null : BigInt(expiresAtMs),
          ],
        );
        const updated = row.rows[0]!;
        if (updated.market_count > 0n) {
          await setScore(key, delta.userId, Number(updated.net_minor), expiresAtMs, nowMs);
          continue;
        }
        // Every market the user had on this board was voided: they leave it. The cache port has no
        // ZREM, so the board's sorted set is rebuilt from SQL (rare: admin voids only).
        await tx.query(
          'DELETE FROM pool_leaderboard_scores WHERE board_key = $1 AND user_id = $2',
          [key, delta.userId],
        );
        await rebuildBoard(tx, key, expiresAtMs, nowMs);
      }
    },

    /**
     * A page of a board in rank order (competition ranks; ties by user id ascending) and the
     * caller's own entry. `pageToken` is opaque (board and offset); a token of another board or
     * period is INVALID_ARGUMENT. Users whose every counted market was voided are left out.
     */
    async read(
      board: Board,
      options: {
        readonly pageSize: number;
        readonly pageToken: string;
        readonly callerUserId: string | undefined;
      },
      nowMs: number,
    ): Promise<{
      entries: RankedEntry[];
      nextPageToken: string;
      callerEntry: RankedEntry | undefined;
    }> {
      await ensureProjection(nowMs);
      const key = boardKey(board);
      const cacheKey = keyPrefix + key;
      const offset = decodePageToken(options.pageToken, key);
      const raw = await cache.zRevRange(cacheKey, offset, offset + options.pageSize);
      const page = raw.slice(0, options.pageSize);
      const entries: RankedEntry[] = [];
      if (page.length > 0) {
        const firstPosition = await firstPositionOfScore(cacheKey, page[0]!.score, offset);
        const ranks = competitionRanks(
          page.map((member) => member.score),
          firstPosition + 1,
          offset,
        );
        const userIds = page.map((member) => decodeMember(member.member));
        const known = await standings(key, userIds);
        page.forEach((_member, index) => {
          const standing = known.get(userIds[index]!);
          if (standing === undefined || standing.marketCount <= 0) return;
          entries.push({
            rank: ranks[index]!,
            userId: userIds[index]!,
            netProfitMinor: standing.netMinor,
            settledMarketCount: standing.marketCount,
          });
        });
      }
      let callerEntry: RankedEntry | undefined;
      if (options.callerUserId !== undefined) {
        const member = encodeMember(options.callerUserId);
        const position = await cache.zRevRank(cacheKey, member);
        const score = await cache.zScore(cacheKey, member);
        if (position !== null && score !== null) {
          const standing = (await standings(key, [options.callerUserId])).get(options.callerUserId);
          if (standing !== undefined && standing.marketCount > 0) {
            callerEntry = {
              rank: (await firstPositionOfScore(cacheKey, score, position)) + 1,
              userId: options.callerUserId,
              netProfitMinor: standing.netMinor,
              settledMarketCount: standing.marketCount,
            };
          }
        }
      }
      const nextPageToken =
        raw.length > options.pageSize ? encodePageToken(key, offset + options.pageSize) : '';
      return { entries, nextPageToken, callerEntry };
    },

    /** Rebuilds every live board's sorted set from SQL (after a cache loss; also used by tests). */
    rebuild,
  };
}

function encodePageToken(key: string, offset: number): string {
  return Buffer.from(JSON.stringify({ b: key, o: offset })).toString('base64url');
}

function decodePageToken(token: string, key: string): number {
  if (token === '') return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('invalid page', [
      { field: 'page.page_token', description: 'is not a token this RPC issued' },
    ]);
  }
  const { b, o } = (parsed ?? {}) as { b?: unknown; o?: unknown };
  if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || typeof b !== 'string') {
    throw new ValidationError('invalid page', [
      { field: 'page.page_token', description: 'is not a token this RPC issued' },
    ]);
  }
  if (b !== key) {
    throw new ValidationError('invalid page', [
      {
        field: 'page.page_token',
        description: 'belongs to another leaderboard or period: start from the first page',
      },
    ]);
  }
  return o;
}

/** The leaderboards' type (see {@link createLeaderboards}). */
export type Leaderboards = ReturnType<typeof createLeaderboards>;
