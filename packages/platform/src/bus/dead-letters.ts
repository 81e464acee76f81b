/**
 * Dead letters: listing the `<topic>.dlq` entries of a bus and replaying them. The DLQ topic is
 * the list; an entry's `dlq-*` headers (./envelope.ts) say which group gave up, why and when.
 *
 * Replaying republishes the original event (same id, type, key, payload and headers, minus the
 * `dlq-*` ones) to its original topic with `dlq-replay-for-group: <group>`: the service host lets
 * only that group handle it (the others acknowledge it unhandled), and that group's inbox makes a
 * replay of an already-applied event a no-op. On Redis Streams the replayed entry is deleted from
 * the DLQ stream; Kafka topics cannot delete a record, so it stays listed (a second replay is
 * harmless for the same reason). The in-process bus keeps its dead letters in the process: only
 * code in that process can list or replay them ({@link memoryDeadLetters}).
 */
import type { Redis } from 'ioredis';
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import { deadLetterHeaders, deadLetterSuffix, deadLetterTopic } from './envelope.js';
import { fromKafkaMessage, kafkaTopicName } from './kafka.js';
import type { MemoryBus } from './memory.js';
import { decodeEntry, parseEntries } from './redis-streams.js';
import type { EventBus, EventEnvelope } from './types.js';

/** One dead-lettered event as the DLQ holds it. */
export interface DeadLetter {
  /** Where it sits in the DLQ: `<stream> <entry id>` (Redis), `<partition>:<offset>` (Kafka), index (memory). */
  readonly ref: string;
  /** The event as stored in `<topic>.dlq`, `dlq-*` headers included. */
  readonly event: EventEnvelope;
  readonly originalTopic: string;
  readonly group: string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAtMs: number;
}

/** Which dead letters a command applies to. */
export interface DeadLetterFilter {
  /** Only those this consumer group gave up on. */
  readonly group?: string;
  readonly eventId?: string;
}

/** A bus's dead letters. */
export interface DeadLetterStore {
  /** Dead letters of `topic` (the original topic, e.g. `market`), oldest first. */
  list(topic: string, filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** Republishes the matching dead letters for their group (see the module comment); returns them. */
  replay(topic: string, filter: DeadLetterFilter): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** Reads the `dlq-*` headers of a DLQ entry. */
export function toDeadLetter(ref: string, event: EventEnvelope): DeadLetter {
  const headers = event.headers;
  const originalTopic =
    headers[deadLetterHeaders.originalTopic] ?? event.topic.slice(0, -deadLetterSuffix.length);
  return {
    ref,
    event,
    originalTopic,
    group: headers[deadLetterHeaders.group] ?? '',
    error: headers[deadLetterHeaders.error] ?? '',
    attempts: Number(headers[deadLetterHeaders.attempts] ?? 0),
    failedAtMs: Number(headers[deadLetterHeaders.failedAtMs] ?? 0),
  };
}

/** The event to republish for `deadLetter`: original topic and headers, for its group only. */
export function replayEnvelope(deadLetter: DeadLetter): EventEnvelope {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(deadLetter.event.headers)) {
    if (!name.startsWith('dlq-')) headers[name] = value;
  }
  headers[deadLetterHeaders.replayForGroup] = deadLetter.group;
  return { ...deadLetter.event, topic: deadLetter.originalTopic, headers };
}

/** Whether a dead letter matches a filter. */
export function matches(deadLetter: DeadLetter, filter: DeadLetterFilter = {}): boolean {
  return (
    (filter.group === undefined || deadLetter.group === filter.group) &&
    (filter.eventId === undefined || deadLetter.event.id === filter.eventId)
  );
}

function assertReplayFilter(filter: DeadLetterFilter): void {
  if (filter.group === undefined && filter.eventId === undefined) {
    throw new RangeError(
      'replay needs --group or --event-id: replaying a whole DLQ at once is refused',
    );
  }
}

/** Dead letters of the in-process bus (tests, and code running inside `npm start`). */
export function memoryDeadLetters(bus: MemoryBus): DeadLetterStore {
  const list = (topic: string, filter?: DeadLetterFilter): DeadLetter[] =>
    bus
      .retained(deadLetterTopic(topic))
      .map((event, index) => toDeadLetter(String(index), event))
      .filter((deadLetter) => matches(deadLetter, filter));
  return {
    list: (topic, filter) => Promise.resolve(list(topic, filter)),
    async replay(topic, filter) {
      assertReplayFilter(filter);
      const chosen = list(topic, filter);
      await bus.publish(chosen.map(replayEnvelope));
      return chosen;
    },
    close: () => Promise.resolve(),
  };
}

/** Options of {@link redisDeadLetters}. */
export interface RedisDeadLettersOptions {
  readonly redis: Redis;
  /** The bus to republish on (a Redis Streams bus with the same prefix and partitions). */
  readonly bus: EventBus;
  readonly streamPrefix: string;
  readonly partitions?: number;
}

/** Dead letters of the Redis Streams bus: XRANGE over every `<prefix>:<topic>.dlq:<p>` stream. */
export function redisDeadLetters(options: RedisDeadLettersOptions): DeadLetterStore {
  const partitions = options.partitions ?? 1;
  async function list(topic: string, filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    const dlq = deadLetterTopic(topic);
    const found: DeadLetter[] = [];
    for (let partition = 0; partition < partitions; partition += 1) {
      const stream = `${options.streamPrefix}:${dlq}:${partition}`;
      let start = '-';
      for (;;) {
        const raw = await options.redis.callBuffer('XRANGE', stream, start, '+', 'COUNT', 500);
        const entries = parseEntries(raw);
        for (const [entryId, fields] of entries) {
          if (fields === null) continue;
          const deadLetter = toDeadLetter(`${stream} ${entryId}`, decodeEntry(dlq, fields));
          if (matches(deadLetter, filter)) found.push(deadLetter);
        }
        if (entries.length < 500) break;
        start = `(${entries[entries.length - 1]?.[0] ?? '0-0'}`;
      }
    }
    return found.sort((a, b) => a.failedAtMs - b.failedAtMs);
  }
  return {
    list,
    async replay(topic, filter) {
      assertReplayFilter(filter);
      const chosen = await list(topic, filter);
      for (const deadLetter of chosen) {
        await options.bus.publish([replayEnvelope(deadLetter)]);
        const [stream, entryId] = deadLetter.ref.split(' ') as [string, string];
        await options.redis.call('XDEL', stream, entryId);
      }
      return chosen;
    },
    close: () => options.bus.close(),
  };
}

/** Options of {@link kafkaDeadLetters}. */
export interface KafkaDeadLettersOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** The bus to republish on (a Kafka bus on the same brokers). */
  readonly bus: EventBus;
  /** Longest wait for the DLQ topic to be read to its end. Default 30,000 ms. */
  readonly readTimeoutMs?: number;
}

/**
 * Dead letters of the Kafka bus: reads `streambet.<topic>.dlq` from the beginning up to its end
 * offsets with a throwaway consumer group (no offsets of real groups are touched). Untested here:
 * no broker runs on this machine; the mapping it relies on is the adapter's, which is unit-tested.
 */
export function kafkaDeadLetters(options: KafkaDeadLettersOptions): DeadLetterStore {
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId,
    logLevel: KafkaLogLevel.WARN,
  });
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  async function list(topic: string, filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    const kafkaTopic = kafkaTopicName(deadLetterTopic(topic));
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      const offsets = await admin.fetchTopicOffsets(kafkaTopic);
      ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    const found: DeadLetter[] = [];
    if (remaining.size === 0) return found;
    const consumer = kafka.consumer({
      groupId: `streambet-dlq-reader-${process.pid}-${Date.now()}`,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [kafkaTopic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`reading ${kafkaTopic} did not reach its end in ${readTimeoutMs} ms`)),
          readTimeoutMs,
        );
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              const deadLetter = toDeadLetter(
                `${partition}:${message.offset}`,
                fromKafkaMessage(kafkaTopic, message),
              );
              if (matches(deadLetter, filter)) found.push(deadLetter);
              if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
                remaining.delete(partition);
                if (remaining.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return found.sort((a, b) => a.failedAtMs - b.failedAtMs);
  }
  return {
    list,
    async replay(topic, filter) {
      assertReplayFilter(filter);
      const chosen = await list(topic, filter);
      await options.bus.publish(chosen.map(replayEnvelope));
      return chosen;
    },
    close: () => options.bus.close(),
  };
}
