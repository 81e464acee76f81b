/**
 * Event bus on Redis Streams (ioredis), for several processes on one machine without Kafka.
 *
 * Layout: each topic is split into `partitions` streams `<streamPrefix>:<topic>:<p>`, an event
 * going to partition `partitionForKey(key)` (FNV-1a, ./partition.ts), so one key's events are in
 * one stream in publish order. XADD trims with `MAXLEN ~ maxLenApprox` per stream: an entry a
 * slow group has not read yet is lost once the stream grows past that, so size it for the
 * longest consumer outage you want to survive.
 *
 * Consumers: a consumer group per `SubscribeOptions.group` on every partition stream (created
 * with XGROUP CREATE … MKSTREAM at `0` when `fromBeginning`, else `$`; an existing group keeps
 * its position). Each subscription is one Redis consumer named `<consumerName>#<n>` reading all
 * its streams with XREADGROUP on its own connection. An entry is XACKed only after the handler
 * resolved; after `maxAttempts` it is XADDed to the `<topic>.dlq` streams and XACKed in one
 * MULTI.
 *
 * Ordering guarantee: within one subscription (one consumer process), events of one key are
 * handled one at a time in stream order, retries included (./keyed-dispatcher.ts); different
 * keys run concurrently (`concurrency`). Across members of one group there is no ownership of
 * partitions: two members may hold different events of one key at the same time, so consumers
 * must be idempotent per event id (the inbox) and not assume cross-member order. Run a single
 * member per group when a consumer needs strict per-key order across processes. On failover
 * (entries claimed from a dead consumer) a claimed event may also be handled after newer events
 * of its key that this process had already read.
 *
 * At-least-once: entries a dead consumer had read stay in its pending list; every live
 * subscription runs XAUTOCLAIM every `claimIdleMs / 3` and takes over entries idle for
 * `claimIdleMs`. Live consumers reset the idle time of every entry they still hold (XCLAIM …
 * JUSTID heartbeat), so slow handlers are not stolen. Attempts are counted per delivery: a
 * claimed entry starts at its delivery count − 1, so a poison event that kills its consumers
 * still reaches the DLQ. A restarted process with the same `consumerName` first re-reads its own
 * pending entries.
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  duplicateRedis,
  isRedisReplyError,
  openRedis,
  toRedisError,
} from '../cache/redis-connection.js';
import {
  assertPublishable,
  assertValidSubscription,
  deadLetterEnvelope,
  deadLetterHeaders,
  deadLetterTopic,
  describeFailure,
  reportDeadLetter,
  resolveMaxAttempts,
} from './envelope.js';
import {
  createKeyedDispatcher,
  exponentialBackoffMs,
  realTimer,
  type DispatchItem,
  type Timer,
} from './keyed-dispatcher.js';
import { stderrBusLogger, type BusLogger } from './logger.js';
import { partitionForKey } from './partition.js';
import type { EventBus, EventEnvelope, SubscribeOptions, Subscription } from './types.js';

/** Options of {@link createRedisStreamsBus}. */
export interface RedisStreamsBusOptions {
  /** Redis URL (`redis://host:6379/0`); the bus opens and closes its own connections. */
  readonly url?: string;
  /** Or an existing client: used for commands, duplicated for blocking reads, never closed by the bus. */
  readonly redis?: Redis;
  /** Namespace of every stream key, e.g. `streambet:bus`. No trailing colon. */
  readonly streamPrefix: string;
  /** Unique per process (e.g. `bet-engine-<hostname>-<pid>`); stable across restarts if possible. */
  readonly consumerName: string;
  /** Streams per topic. Must be the same for every process of a deployment. Default 1. */
  readonly partitions?: number;
  /** Approximate entries kept per stream (XADD MAXLEN ~). Default 100,000. */
  readonly maxLenApprox?: number;
  /** How long one XREADGROUP blocks. close() does not wait for it. Default 2,000 ms. */
  readonly blockMs?: number;
  /**
   * Idle time after which another consumer takes over a pending entry. Default 5,000 ms: live
   * consumers reset the idle time of what they hold every third of it, so only a dead consumer's
   * entries go idle, and a crashed process's events (a MarketResolved mid-handling) are taken over
   * within seconds instead of half a minute.
   */
  readonly claimIdleMs?: number;
  /** Entries read per XREADGROUP / XAUTOCLAIM call. Default 100. */
  readonly readBatchSize?: number;
  /** Most handler calls in flight per subscription. Default 16. */
  readonly concurrency?: number;
  /** Most entries a subscription holds (read, not yet acked) before it stops reading. Default 1,000. */
  readonly maxHeldPerSubscription?: number;
  /** First retry delay; doubles per failed attempt. Default 100 ms. */
  readonly retryBaseMs?: number;
  /** Longest retry delay. Default 30,000 ms. */
  readonly retryMaxMs?: number;
  readonly timer?: Timer;
  /** Clock for the `dlq-failed-at-ms` header. Default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: BusLogger;
}

/** Names of the stream entry fields (short: they are stored with every entry). */
const field = Object.freeze({
  id: 'id',
  type: 'type',
  key: 'key',
  occurredAtMs: 'at',
  headers: 'h',
  payload: 'p',
});

const component = 'event bus (redis-streams)';

interface EntryMeta {
  readonly stream: string;
  readonly entryId: string;
}

interface StreamRef {
  readonly topic: string;
  readonly partition: number;
}

/** Creates the Redis Streams bus; see the module comment for layout and guarantees. */
export function createRedisStreamsBus(options: RedisStreamsBusOptions): EventBus {
  const partitions = options.partitions ?? 1;
  const maxLenApprox = options.maxLenApprox ?? 100_000;
  const blockMs = options.blockMs ?? 2_000;
  const claimIdleMs = options.claimIdleMs ?? 5_000;
  const readBatchSize = options.readBatchSize ?? 100;
  const concurrency = options.concurrency ?? 16;
  const maxHeld = options.maxHeldPerSubscription ?? 1_000;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const timer = options.timer ?? realTimer;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? stderrBusLogger;
  const prefix = options.streamPrefix;
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.endsWith(':')) {
    throw new RangeError(
      `streamPrefix must be non-empty without a trailing ':', got ${JSON.stringify(prefix)}`,
    );
  }
  if (typeof options.consumerName !== 'string' || options.consumerName.length === 0) {
    throw new RangeError('consumerName must be a non-empty string, unique per process');
  }
  for (const [name, value, min] of [
    ['partitions', partitions, 1],
    ['maxLenApprox', maxLenApprox, 1],
    ['blockMs', blockMs, 1],
    ['claimIdleMs', claimIdleMs, 1],
    ['readBatchSize', readBatchSize, 1],
    ['maxHeldPerSubscription', maxHeld, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }

  const command = openRedis(component, { url: options.url, redis: options.redis });
  const subscriptions = new Set<Subscription>();
  let subscriptionSeq = 0;
  let closed = false;
  let closing: Promise<void> | undefined;

  function streamKey(topic: string, partition: number): string {
    return `${prefix}:${topic}:${partition}`;
  }

  function xaddArgs(event: EventEnvelope): (string | Buffer | number)[] {
    return [
      streamKey(event.topic, partitionForKey(event.key, partitions)),
      'MAXLEN',
      '~',
      maxLenApprox,
      '*',
      field.id,
      event.id,
      field.type,
      event.type,
      field.key,
      event.key,
      field.occurredAtMs,
      String(event.occurredAtMs),
      field.headers,
      JSON.stringify(event.headers),
      field.payload,
      Buffer.from(event.payload.buffer, event.payload.byteOffset, event.payload.byteLength),
    ];
  }

  function assertOpen(what: string): void {
    if (closed) throw new Error(`${component} is closed: cannot ${what}`);
  }

  async function publish(events: readonly EventEnvelope[]): Promise<void> {
    assertOpen('publish');
    for (const event of events) assertPublishable(event);
    if (events.length === 0) return;
    // One pipeline on one connection: Redis applies the XADDs in this order, so per-key order
    // (one key → one stream) is the caller's order. Not atomic: on failure some may be written;
    // the outbox retries the batch and consumers dedupe on event id.
    const pipeline = command.redis.pipeline();
    for (const event of events) pipeline.call('XADD', xaddArgs(event));
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw toRedisError(component, 'XADD', error, command);
    }
    for (const [error] of results ?? []) {
      if (error) throw toRedisError(component, 'XADD', error, command);
    }
  }

  async function subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
    assertOpen('subscribe');
    const { group, handler, handleBatch } = subscribeOptions;
    assertValidSubscription(group, subscribeOptions.topics);
    const maxAttempts = resolveMaxAttempts(subscribeOptions.maxAttempts);
    const consumer = `${options.consumerName}#${(subscriptionSeq += 1)}`;
    const streams = new Map<string, StreamRef>();
    for (const topic of new Set(subscribeOptions.topics)) {
      for (let partition = 0; partition < partitions; partition += 1) {
        streams.set(streamKey(topic, partition), { topic, partition });
      }
    }
    const streamKeys = [...streams.keys()];
    const startId = subscribeOptions.fromBeginning === false ? '$' : '0';
    for (const stream of streamKeys) {
      try {
        await command.redis.call('XGROUP', 'CREATE', stream, group, startId, 'MKSTREAM');
      } catch (error) {
        if (isRedisReplyError(error) && String((error as Error).message).startsWith('BUSYGROUP'))
          continue;
        throw toRedisError(component, `XGROUP CREATE ${stream} ${group}`, error, command);
      }
    }

    const reader = duplicateRedis(command, {
      commandTimeout: blockMs + 10_000,
      connectionName: 'streambet-bus-reader',
    });
    /** `${stream} ${entryId}` of every entry this subscription holds (read, not yet acked). */
    const held = new Set<string>();
    let stopped = false;
    let wakeSleepers: Array<() => void> = [];

    const dispatcher = createKeyedDispatcher<EntryMeta>({
      concurrency,
      maxAttempts,
      timer,
      backoffMs: (failed) => exponentialBackoffMs(failed, retryBaseMs, retryMaxMs),
      deliver: async (item) => {
        try {
          await handler(item.envelope);
        } catch (error) {
          logger.warn(
            {
              group,
              topic: item.envelope.topic,
              eventId: item.envelope.id,
              attempt: item.attempts,
              error: describeFailure(error),
            },
            'event handler failed; will retry or dead-letter',
          );
          throw error;
        }
      },
      // Opt-in batch delivery: per-key order holds within this process, as for `handler`.
      ...(handleBatch === undefined
        ? {}
        : {
            batchMaxItems: subscribeOptions.batchMaxEvents ?? 500,
            deliverBatch: async (items: readonly DispatchItem<EntryMeta>[]) => {
              try {
                await handleBatch(items.map((item) => item.envelope));
              } catch (error) {
                const first = items[0] as DispatchItem<EntryMeta>;
                logger.warn(
                  {
                    group,
                    topic: first.envelope.topic,
                    eventId: first.envelope.id,
                    events: items.length,
                    attempt: first.attempts,
                    error: describeFailure(error),
                  },
                  'event handler failed; will retry or dead-letter',
                );
                throw error;
              }
            },
          }),
      onHandled: async (item) => {
        try {
          await command.redis.call('XACK', item.meta.stream, group, item.meta.entryId);
        } catch (error) {
          throw toRedisError(component, 'XACK', error, command);
        } finally {
          held.delete(`${item.meta.stream} ${item.meta.entryId}`);
        }
      },
      onDeadLetter: async (item, error) => {
        const dead = deadLetterEnvelope(item.envelope, {
          error,
          attempts: item.attempts,
          group,
          failedAtMs: now(),
        });
        const multi = command.redis.multi();
        multi.call('XADD', xaddArgs(dead));
        multi.call('XACK', item.meta.stream, group, item.meta.entryId);
        await execOrThrow(multi, 'XADD dead letter + XACK');
        held.delete(`${item.meta.stream} ${item.meta.entryId}`);
        reportDeadLetter(logger, subscribeOptions.onDeadLettered, {
          event: item.envelope,
          error,
          attempts: item.attempts,
          group,
        });
      },
      onError: (error, item) =>
        logger.error(
          {
            group,
            stream: item.meta.stream,
            entryId: item.meta.entryId,
            eventId: item.envelope.id,
            error: describeFailure(error),
          },
          'redis-streams bus: ack or dead-letter failed (the event may be delivered again)',
        ),
    });

    async function execOrThrow(
      multi: ReturnType<Redis['multi']>,
      operation: string,
    ): Promise<void> {
      let results: [Error | null, unknown][] | null;
      try {
        results = await multi.exec();
      } catch (error) {
        throw toRedisError(component, operation, error, command);
      }
      if (results === null)
        throw toRedisError(component, operation, new Error('transaction aborted'), command);
      for (const [error] of results)
        if (error) throw toRedisError(component, operation, error, command);
    }

    /** Sleeps unless the subscription stops first. */
    function pause(delayMs: number): Promise<void> {
      return new Promise((resolve) => {
        const handle = setTimeout(resolve, delayMs);
        wakeSleepers.push(() => {
          clearTimeout(handle);
          resolve();
        });
      });
    }

    /** Hands entries to the dispatcher; malformed ones go straight to the DLQ. */
    async function accept(
      stream: string,
      entries: RawEntry[],
      attemptsBefore?: Map<string, number>,
    ): Promise<void> {
      const ref = streams.get(stream);
      if (ref === undefined) return;
      for (const [entryId, fields] of entries) {
        const heldId = `${stream} ${entryId}`;
        if (held.has(heldId) || stopped) continue;
        if (fields === null) {
          // Deleted by trimming while pending (Redis < 7 reports it this way): nothing to deliver.
          await command.redis.call('XACK', stream, group, entryId).catch(() => undefined);
          continue;
        }
        let envelope: EventEnvelope;
        try {
          envelope = decodeEntry(ref.topic, fields);
        } catch (error) {
          await deadLetterMalformed(stream, ref.topic, entryId, fields, error);
          continue;
        }
        held.add(heldId);
        dispatcher.push({
          envelope,
          attempts: attemptsBefore?.get(entryId) ?? 0,
          meta: { stream, entryId },
        });
      }
    }

    async function deadLetterMalformed(
      stream: string,
      topic: string,
      entryId: string,
      fields: Buffer[],
      error: unknown,
    ) {
      logger.error(
        { group, stream, entryId, error: describeFailure(error) },
        'malformed stream entry moved to the DLQ',
      );
      const multi = command.redis.multi();
      multi.call('XADD', [
        streamKey(deadLetterTopic(topic), 0),
        'MAXLEN',
        '~',
        maxLenApprox,
        '*',
        ...fields,
        deadLetterHeaders.error,
        describeFailure(error),
        deadLetterHeaders.group,
        group,
        deadLetterHeaders.originalTopic,
        topic,
      ]);
      multi.call('XACK', stream, group, entryId);
      await execOrThrow(multi, 'XADD malformed dead letter + XACK').catch((failure: unknown) =>
        logger.error(
          { stream, entryId, error: describeFailure(failure) },
          'could not dead-letter a malformed entry',
        ),
      );
    }

    /** Delivery counts of pending entries (XPENDING), so claimed entries keep their attempts. */
    async function deliveryCounts(
      stream: string,
      entryIds: string[],
    ): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      if (entryIds.length === 0) return counts;
      const pipeline = command.redis.pipeline();
      for (const id of entryIds) pipeline.call('XPENDING', stream, group, id, id, 1);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, reply], index) => {
        const row =
          !error && Array.isArray(reply) ? (reply[0] as unknown[] | undefined) : undefined;
        const count = row === undefined ? 1 : Number(row[3]);
        counts.set(entryIds[index] as string, Math.max(0, count - 1));
      });
      return counts;
    }

    /** Re-reads this consumer's own pending entries (left by a previous run with the same name). */
    async function recoverOwnPending(): Promise<void> {
      const reply = await reader.redis.callBuffer(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        maxHeld,
        'STREAMS',
        ...streamKeys,
        ...streamKeys.map(() => '0'),
      );
      for (const [stream, entries] of parseStreams(reply)) {
        const counts = await deliveryCounts(
          stream,
          entries.map(([id]) => id),
        );
        await accept(stream, entries, counts);
      }
    }

    async function readLoop(): Promise<void> {
      let failures = 0;
      try {
        await recoverOwnPending();
      } catch (error) {
        if (!stopped)
          logger.error(
            { group, consumer, error: describeFailure(error) },
            'recovering own pending entries failed',
          );
      }
      while (!stopped) {
        await dispatcher.waitForCapacity(maxHeld);
        if (stopped) break;
        try {
          const reply = await reader.redis.callBuffer(
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            Math.max(1, Math.min(readBatchSize, maxHeld - dispatcher.size)),
            'BLOCK',
            blockMs,
            'STREAMS',
            ...streamKeys,
            ...streamKeys.map(() => '>'),
          );
          failures = 0;
          for (const [stream, entries] of parseStreams(reply)) await accept(stream, entries);
        } catch (error) {
          if (stopped) break;
          failures += 1;
          const mapped = toRedisError(component, 'XREADGROUP', error, reader);
          logger.error(
            { group, consumer, error: describeFailure(mapped.cause ?? mapped) },
            'reading the streams failed; retrying',
          );
          if (isRedisReplyError(error) && /NOGROUP/.test(String((error as Error).message))) {
            await recreateGroups();
          }
          await pause(exponentialBackoffMs(failures, 100, 5_000));
        }
      }
    }

    /** A stream deleted under us (e.g. FLUSHDB) loses its group: recreate it where new entries start. */
    async function recreateGroups(): Promise<void> {
      for (const stream of streamKeys) {
        await command.redis
          .call('XGROUP', 'CREATE', stream, group, '$', 'MKSTREAM')
          .catch(() => undefined);
      }
    }

    let maintenanceHandle: ReturnType<typeof setTimeout> | undefined;
    let maintenanceRun: Promise<void> = Promise.resolve();
    const maintenanceEveryMs = Math.max(10, Math.floor(claimIdleMs / 3));

    async function heartbeat(): Promise<void> {
      const byStream = new Map<string, string[]>();
      for (const item of dispatcher.heldItems()) {
        const ids = byStream.get(item.meta.stream) ?? [];
        ids.push(item.meta.entryId);
        byStream.set(item.meta.stream, ids);
      }
      for (const [stream, ids] of byStream) {
        for (let start = 0; start < ids.length; start += 500) {
          await command.redis.call(
            'XCLAIM',
            stream,
            group,
            consumer,
            0,
            ...ids.slice(start, start + 500),
            'JUSTID',
          );
        }
      }
    }

    async function claimAbandoned(): Promise<void> {
      for (const stream of streamKeys) {
        let cursor = '0-0';
        do {
          if (stopped || dispatcher.size >= maxHeld) return;
          const reply = await command.redis.callBuffer(
            'XAUTOCLAIM',
            stream,
            group,
            consumer,
            claimIdleMs,
            cursor,
            'COUNT',
            readBatchSize,
          );
          const [nextCursor, entriesRaw] = reply as [Buffer, unknown];
          cursor = nextCursor.toString();
          const entries = parseEntries(entriesRaw).filter(([id]) => !held.has(`${stream} ${id}`));
          if (entries.length > 0) {
            const counts = await deliveryCounts(
              stream,
              entries.map(([id]) => id),
            );
            await accept(stream, entries, counts);
          }
        } while (cursor !== '0-0');
      }
    }

    function scheduleMaintenance(): void {
      if (stopped) return;
      maintenanceHandle = setTimeout(() => {
        maintenanceRun = (async () => {
          try {
            await heartbeat();
            await claimAbandoned();
          } catch (error) {
            if (!stopped)
              logger.error(
                { group, consumer, error: describeFailure(error) },
                'claiming pending entries failed',
              );
          }
        })().finally(scheduleMaintenance);
      }, maintenanceEveryMs);
    }

    const reading = readLoop();
    scheduleMaintenance();

    let closingSubscription: Promise<void> | undefined;
    const subscription: Subscription = {
      close() {
        closingSubscription ??= (async () => {
          stopped = true;
          if (maintenanceHandle !== undefined) clearTimeout(maintenanceHandle);
          for (const wake of wakeSleepers) wake();
          wakeSleepers = [];
          // A blocked XREADGROUP would hold close for up to blockMs; dropping the connection ends it now.
          reader.redis.disconnect(false);
          await reading;
          await maintenanceRun;
          await dispatcher.close();
          held.clear();
          await releaseConsumer();
          subscriptions.delete(subscription);
        })();
        return closingSubscription;
      },
    };

    /** Deletes this consumer from the group when it holds nothing, so XINFO stays readable. */
    async function releaseConsumer(): Promise<void> {
      if (command.redis.status !== 'ready') return;
      try {
        for (const stream of streamKeys) {
          const pending = (await command.redis.call(
            'XPENDING',
            stream,
            group,
            '-',
            '+',
            1,
            consumer,
          )) as unknown[];
          if (pending.length > 0) return;
        }
        for (const stream of streamKeys)
          await command.redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer);
      } catch {
        // Best effort: a leftover idle consumer is harmless.
      }
    }

    subscriptions.add(subscription);
    return subscription;
  }

  return {
    kind: 'redis-streams',
    publish,
    subscribe,
    async ping() {
      assertOpen('ping');
      try {
        await command.redis.ping();
      } catch (error) {
        throw toRedisError(component, 'PING', error, command);
      }
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all([...subscriptions].map((subscription) => subscription.close()));
        await closeRedis(command);
      })();
      return closing;
    },
  };
}

/** One stream entry as read with the Buffer API: id and flat field/value list (null if deleted). */
export type RawEntry = [entryId: string, fields: Buffer[] | null];

/** XRANGE / XAUTOCLAIM entries → (id, fields) pairs. */
export function parseEntries(raw: unknown): RawEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: RawEntry[] = [];
  for (const entry of raw) {
    if (!Array.isArray(entry)) continue;
    const [id, fields] = entry as [Buffer | string, Buffer[] | null];
    entries.push([id.toString(), Array.isArray(fields) ? fields : null]);
  }
  return entries;
}

/**
 * XREADGROUP reply → (stream, entries) pairs. RESP2 (and ioredis' legacy mapping) gives
 * `[[stream, entries], …]`; RESP3 maps arrive through `callBuffer` flattened as
 * `[stream, entries, stream, entries, …]`. Both are accepted so a caller-supplied client works
 * whatever protocol it speaks.
 */
function parseStreams(raw: unknown): Array<[stream: string, entries: RawEntry[]]> {
  if (!Array.isArray(raw) || raw.length === 0) return [];
  const pairs: Array<[stream: string, entries: RawEntry[]]> = [];
  if (Buffer.isBuffer(raw[0]) || typeof raw[0] === 'string') {
    for (let index = 0; index + 1 < raw.length; index += 2) {
      pairs.push([String(raw[index]), parseEntries(raw[index + 1])]);
    }
    return pairs;
  }
  for (const streamReply of raw) {
    if (!Array.isArray(streamReply)) continue;
    const [stream, entries] = streamReply as [Buffer | string, unknown];
    pairs.push([String(stream), parseEntries(entries)]);
  }
  return pairs;
}

/** Rebuilds the envelope of an entry; throws naming the missing or bad field. */
export function decodeEntry(topic: string, fields: Buffer[]): EventEnvelope {
  const values = new Map<string, Buffer>();
  for (let index = 0; index + 1 < fields.length; index += 2) {
    values.set((fields[index] as Buffer).toString(), fields[index + 1] as Buffer);
  }
  const text = (name: string): string => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`stream entry has no '${name}' field`);
    return value.toString('utf8');
  };
  const occurredAtMs = Number(text(field.occurredAtMs));
  if (!Number.isSafeInteger(occurredAtMs))
    throw new Error(`stream entry field '${field.occurredAtMs}' is not an integer`);
  let headers: unknown;
  try {
    headers = JSON.parse(text(field.headers));
  } catch (error) {
    throw new Error(`stream entry field '${field.headers}' is not JSON`, { cause: error });
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new Error(`stream entry field '${field.headers}' is not an object`);
  }
  const payload = values.get(field.payload);
  if (payload === undefined) throw new Error(`stream entry has no '${field.payload}' field`);
  return Object.freeze({
    id: text(field.id),
    type: text(field.type),
    topic,
    key: text(field.key),
    payload: new Uint8Array(payload),
    headers: Object.freeze(headers as Record<string, string>),
    occurredAtMs,
  });
}
