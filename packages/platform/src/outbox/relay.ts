import { exponentialBackoffMs } from '../bus/keyed-dispatcher.js';
import type { EventBus, EventEnvelope } from '../bus/types.js';
import type { Sql, SqlExecutor } from '../sql/types.js';
import { createMutex } from '../sql/mutex.js';
import { runOutsideTransactions } from '../sql/transaction-scope.js';

/** The subset of the platform logger (pino) the relay uses. */
export interface RelayLogger {
  warn(fields: object, message: string): void;
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The producing service's database (the one its outbox rows are committed to). */
  readonly sql: Sql;
  readonly bus: EventBus;
  /** Rows claimed and published per round trip. Default 100. */
  readonly batchSize?: number;
  /** How often to look for rows when nobody calls {@link OutboxRelay.wake}. Default 1 000. */
  readonly pollIntervalMs?: number;
  /**
   * First wait before looking again at rows held back for another relay's claim (see CLAIM_SQL);
   * doubles per consecutive held-back round, up to `pollIntervalMs`. Default 20.
   */
  readonly heldBackRetryMs?: number;
  /** First wait after a failed round; doubles per consecutive failure. Default 100. */
  readonly initialBackoffMs?: number;
  /** Cap of the backoff. Default 30 000. */
  readonly maxBackoffMs?: number;
  readonly logger?: RelayLogger;
  /** Called with every failed round's error (publish or SQL), e.g. to count it in metrics. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Moves committed outbox rows to the bus. At-least-once: a row is marked published only after the
 * bus accepted it, so a crash in between publishes it again (consumers dedupe with the inbox). On
 * the in-process bus, which loses what it holds in a crash, "accepted" means every subscribed
 * consumer group handled the event ({@link EventBus.publishAndConfirm}); a consumer that keeps
 * failing therefore holds back this relay's later rows too (its failing-age alert says so).
 */
export interface OutboxRelay {
  /** Starts the background loop. Idempotent. */
  start(): void;
  /** Asks the loop to look now instead of at the next poll (call after committing outbox rows). Cheap; never waits. */
  wake(): void;
  /**
   * Publishes every row committed before the call that this relay can claim, and resolves when
   * they are on the bus; rejects with the bus's error if publishing fails. Graceful shutdown calls
   * this after the service stopped taking work. Works whether or not the loop runs.
   */
  flush(): Promise<void>;
  /** Stops the loop; resolves once the round in progress (if any) has ended. Idempotent. */
  stop(): Promise<void>;
}

interface OutboxRow {
  seq: bigint;
  id: string;
  topic: string;
  key: string;
  type: string;
  payload: Uint8Array;
  headers: Record<string, string> | null;
  occurred_at: Date;
  blocked: boolean;
}

interface RoundResult {
  /** Rows this round looked at (locked on PostgreSQL). */
  readonly claimed: number;
  readonly published: number;
  /** Claimed rows held back because an earlier row of their key is in another relay's claim. */
  readonly heldBack: number;
}

/**
 * Rows are taken in `seq` order with `FOR UPDATE SKIP LOCKED`, so several relays (replicas) share
 * the work on PostgreSQL. A row is held back ("blocked") while an earlier unpublished row with the
 * same key belongs to another relay's claim: order per key survives several relays. Held-back rows
 * are released at the end of the round and taken again by a later one — by this relay, which comes
 * back for them soon: the relay holding the earlier row may already have finished its last round
 * (it saw nothing more to claim while this one still held the rows), and nobody else would look
 * before the next poll.
 */
const CLAIM_SQL = `
WITH claimed AS MATERIALIZED (
  SELECT seq, id, topic, key, type, payload, headers, occurred_at
  FROM outbox
  WHERE published_at IS NULL
  ORDER BY seq
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
SELECT c.seq, c.id, c.topic, c.key, c.type, c.payload, c.headers, c.occurred_at,
  EXISTS (
    SELECT 1 FROM outbox o
    WHERE o.published_at IS NULL AND o.key = c.key AND o.seq < c.seq
      AND o.seq NOT IN (SELECT seq FROM claimed)
  ) AS blocked
FROM claimed c
ORDER BY c.seq`;

const MARK_PUBLISHED_SQL =
  'UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = ANY($1::bigint[])';
const MARK_FAILED_SQL =
  'UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])';

/**
 * Creates the relay of one service's outbox.
 *
 * On PostgreSQL each round claims, publishes and marks inside one transaction: the row locks are
 * what lets replicas run relays side by side. On the embedded engine (one backend shared by every
 * service in the process) a transaction would hold that backend while the bus delivers, and an
 * in-process bus may deliver to handlers that need the database themselves; there a round reads,
 * publishes, then marks, without holding a transaction — one relay per schema, which the folder
 * lock (one process) and one relay per service guarantee.
 *
 * A failed publish leaves the rows unpublished (attempts and last_error recorded) and the loop
 * backs off exponentially; rows are never skipped, so per-key order holds through failures.
 * Timers are unref'd: an idle relay does not keep the process alive.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { sql, bus } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const initialBackoffMs = options.initialBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const heldBackRetryMs = Math.min(options.heldBackRetryMs ?? 20, pollIntervalMs);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);

  /** Rounds never overlap (loop and flush), so this relay never publishes a row twice by itself. */
  const rounds = createMutex();
  let state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  let loop: Promise<void> | undefined;
  let wakeRequested = false;
  let endSleep: (() => void) | undefined;
  let endSleepOnWake: (() => void) | undefined;

  async function round(): Promise<RoundResult> {
    return sql.dialect === 'postgres' ? roundInTransaction() : roundWithoutTransaction();
  }

  async function roundInTransaction(): Promise<RoundResult> {
    const outcome = await sql.transaction(async (tx) => {
      const rows = await claim(tx);
      const ready = rows.filter((row) => !row.blocked);
      const heldBack = rows.length - ready.length;
      if (ready.length === 0) return { claimed: rows.length, published: 0, heldBack };
      const seqs = ready.map((row) => row.seq);
      try {
        await publish(ready);
      } catch (error) {
        await tx.query(MARK_FAILED_SQL, [seqs, describe(error)]);
        return { claimed: rows.length, published: 0, heldBack, error };
      }
      await tx.query(MARK_PUBLISHED_SQL, [seqs]);
      return { claimed: rows.length, published: ready.length, heldBack };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome;
  }

  async function roundWithoutTransaction(): Promise<RoundResult> {
    const rows = await claim(sql);
    const ready = rows.filter((row) => !row.blocked);
    const heldBack = rows.length - ready.length;
    if (ready.length === 0) return { claimed: rows.length, published: 0, heldBack };
    const seqs = ready.map((row) => row.seq);
    try {
      await publish(ready);
    } catch (error) {
      await sql.query(MARK_FAILED_SQL, [seqs, describe(error)]);
      throw error;
    }
    await sql.query(MARK_PUBLISHED_SQL, [seqs]);
    return { claimed: rows.length, published: ready.length, heldBack };
  }

  async function claim(executor: SqlExecutor): Promise<OutboxRow[]> {
    return (await executor.query<OutboxRow>(CLAIM_SQL, [batchSize])).rows;
  }

  async function publish(rows: readonly OutboxRow[]): Promise<void> {
    const envelopes = rows.map(toEnvelope);
    // Handlers the bus runs must be free to open their own transactions, even on this database.
    // A bus that keeps nothing across a restart confirms only once the consumers committed.
    await runOutsideTransactions(() =>
      bus.publishAndConfirm === undefined
        ? bus.publish(envelopes)
        : bus.publishAndConfirm(envelopes),
    );
  }

  /**
   * Rounds until one finds less than a full batch (or only held-back rows). Resolves with how many
   * rows the last round held back for another relay's claim.
   */
  async function drain(): Promise<number> {
    return rounds.runExclusive(async () => {
      for (;;) {
        const result = await round();
        if (result.claimed < batchSize || result.published === 0) return result.heldBack;
      }
    });
  }

  async function runLoop(): Promise<void> {
    let failures = 0;
    let heldBackRounds = 0;
    while (state === 'running') {
      wakeRequested = false;
      let heldBack: number;
      try {
        heldBack = await drain();
        failures = 0;
      } catch (error) {
        failures += 1;
        const backoffMs = exponentialBackoffMs(failures, initialBackoffMs, maxBackoffMs);
        options.logger?.warn(
          { err: error, failures, backoffMs },
          'outbox relay round failed; retrying after backoff',
        );
        report(error);
        await sleep(backoffMs, false);
        continue;
      }
      if (heldBack > 0) {
        heldBackRounds += 1;
        await sleep(exponentialBackoffMs(heldBackRounds, heldBackRetryMs, pollIntervalMs), true);
      } else {
        heldBackRounds = 0;
        if (!wakeRequested) await sleep(pollIntervalMs, true);
      }
    }
  }

  function report(error: unknown): void {
    try {
      options.onError?.(error);
    } catch {
      // A faulty error callback must not stop the relay.
    }
  }

  /** Waits `ms`; `stop()` always ends the wait, `wake()` only when `wakeable` (not during backoff). */
  function sleep(ms: number, wakeable: boolean): Promise<void> {
    if (state !== 'running') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        endSleep = undefined;
        endSleepOnWake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      endSleep = done;
      endSleepOnWake = wakeable ? done : undefined;
    });
  }

  return {
    start() {
      if (state !== 'idle') return;
      state = 'running';
      loop = runOutsideTransactions(() => runLoop());
    },
    wake() {
      if (state !== 'running') return;
      wakeRequested = true;
      endSleepOnWake?.();
    },
    async flush() {
      await drain();
    },
    async stop() {
      if (state === 'running' || state === 'idle') {
        state = state === 'running' ? 'stopping' : 'stopped';
        endSleep?.();
      }
      await loop;
      state = 'stopped';
    },
  };
}

function toEnvelope(row: OutboxRow): EventEnvelope {
  const payload = row.payload;
  return {
    id: row.id,
    topic: row.topic,
    key: row.key,
    type: row.type,
    // pg returns a Buffer; hand consumers a plain Uint8Array view on both engines.
    payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
    headers: row.headers ?? {},
    occurredAtMs: row.occurred_at.getTime(),
  };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 2_000);
}

/**
 * Deletes published rows older than `publishedBefore`, at most `limit` per call, so the outbox does
 * not grow forever. Returns how many were deleted; call again while it returns `limit`.
 */
export async function deletePublishedOutboxRows(
  sql: Sql,
  publishedBefore: Date,
  limit = 1_000,
): Promise<number> {
  const result = await sql.query(
    `DELETE FROM outbox WHERE seq IN (
       SELECT seq FROM outbox WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2
     )`,
    [publishedBefore, limit],
  );
  return result.rowCount;
}
