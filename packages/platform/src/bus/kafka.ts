/**
 * Event bus on Kafka (kafkajs), the cluster transport.
 *
 * - Topic `<topic>` is the Kafka topic `streambet.<topic>`; its dead letters go to
 *   `streambet.<topic>.dlq`.
 * - Messages are keyed by `envelope.key`, so one aggregate's events land in one partition and
 *   stay in publish order. The producer is idempotent with one request in flight, so broker-side
 *   retries can neither duplicate nor reorder a partition.
 * - The value is the protobuf payload; `id`, `type` and `occurredAtMs` travel in the `sb-*`
 *   headers next to `envelope.headers` (see {@link toKafkaMessage}).
 * - One kafkajs consumer per subscription (group id = `SubscribeOptions.group`). A partition's
 *   messages are handled one at a time (kafkajs `eachMessage`), so per-key order holds across
 *   the whole group; `partitionsConsumedConcurrently` partitions run in parallel. A failing
 *   handler is retried in place with exponential backoff (heartbeating meanwhile); after
 *   `maxAttempts` the event is produced to the DLQ topic and its offset committed. With
 *   `maxAttempts: 'unlimited'` it is retried in place until it succeeds (backoff capped at
 *   `retryMaxMs`), holding back its partition — the price of never dropping the event.
 * - At-least-once: offsets are committed only for handled (or dead-lettered) messages; a member
 *   that dies hands its partitions to another member, which re-reads from the last commit.
 * - `fromBeginning` applies when the group has no committed offset (Kafka semantics).
 */
import {
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type IHeaders,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  type Message,
  type Producer,
} from 'kafkajs';
import { UnavailableError } from '../errors/domain-errors.js';
import {
  assertPublishable,
  assertValidSubscription,
  deadLetterEnvelope,
  deadLetterHeaders,
  deadLetterSuffix,
  describeFailure,
  reportDeadLetter,
  resolveMaxAttempts,
} from './envelope.js';
import { exponentialBackoffMs } from './keyed-dispatcher.js';
import { stderrBusLogger, type BusLogger } from './logger.js';
import type { EventBus, EventEnvelope, SubscribeOptions, Subscription } from './types.js';

/** Prefix of every Kafka topic the bus uses. */
export const kafkaTopicPrefix = 'streambet.';

/** Kafka headers carrying the envelope fields that are not key, value or user headers. */
export const kafkaEnvelopeHeaders = Object.freeze({
  id: 'sb-id',
  type: 'sb-type',
  occurredAtMs: 'sb-occurred-at-ms',
});

/** Options of {@link createKafkaBus}. */
export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  /** Shows up in broker logs and quotas; use the service name. */
  readonly clientId: string;
  /** Extra kafkajs settings (ssl, sasl, timeouts, retry). `brokers`/`clientId` above win. */
  readonly kafka?: Omit<KafkaConfig, 'brokers' | 'clientId' | 'logCreator'>;
  /**
   * Create missing topics (and their DLQ topics) before first use with these settings; -1 means
   * the broker default. `false` relies on the broker's auto-creation or on provisioning.
   * Default `{ numPartitions: -1, replicationFactor: -1 }`.
   */
  readonly createTopics?:
    false | { readonly numPartitions: number; readonly replicationFactor: number };
  /** Partitions one subscription handles in parallel. Default 4. */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /**
   * Longest a fetch waits on the broker for new data (kafkajs `maxWaitTimeInMs`, default 5,000).
   * subscribe() resolves after the first fetch, so tests lower it.
   */
  readonly maxWaitTimeMs?: number;
  /** How long subscribe() waits for the consumer to join its group and fetch once. Default 30,000 ms. */
  readonly joinTimeoutMs?: number;
  /** First retry delay; doubles per failed attempt. Default 100 ms. */
  readonly retryBaseMs?: number;
  /** Longest retry delay. Default 30,000 ms. */
  readonly retryMaxMs?: number;
  /** Clock for the `dlq-failed-at-ms` header. Default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: BusLogger;
}

/** The Kafka topic of a bus topic (`market` → `streambet.market`). */
export function kafkaTopicName(topic: string): string {
  return `${kafkaTopicPrefix}${topic}`;
}

/** The bus topic of a Kafka topic; throws for topics outside the `streambet.` namespace. */
export function topicFromKafkaTopic(kafkaTopic: string): string {
  if (!kafkaTopic.startsWith(kafkaTopicPrefix) || kafkaTopic.length === kafkaTopicPrefix.length) {
    throw new Error(
      `Kafka topic ${JSON.stringify(kafkaTopic)} is not a bus topic (expected '${kafkaTopicPrefix}<topic>')`,
    );
  }
  return kafkaTopic.slice(kafkaTopicPrefix.length);
}

/**
 * Maps an envelope to the Kafka topic and message: key = `envelope.key`, value = payload,
 * headers = `envelope.headers` plus `sb-id`, `sb-type`, `sb-occurred-at-ms`; the message timestamp is
 * `occurredAtMs`. Pure; the inverse of {@link fromKafkaMessage}.
 */
export function toKafkaMessage(event: EventEnvelope): { topic: string; message: Message } {
  assertPublishable(event);
  const headers: IHeaders = { ...event.headers };
  headers[kafkaEnvelopeHeaders.id] = event.id;
  headers[kafkaEnvelopeHeaders.type] = event.type;
  headers[kafkaEnvelopeHeaders.occurredAtMs] = String(event.occurredAtMs);
  return {
    topic: kafkaTopicName(event.topic),
    message: {
      key: event.key,
      value: Buffer.from(event.payload.buffer, event.payload.byteOffset, event.payload.byteLength),
      headers,
      timestamp: String(event.occurredAtMs),
    },
  };
}

/**
 * What the consumer does after attempt `attempts` of an event failed: dead-letter it (attempts
 * exhausted) or retry in place after a capped exponential backoff. Pure; `maxAttempts` is
 * `Infinity` for `'unlimited'`, which never dead-letters.
 */
export function afterFailedAttempt(
  attempts: number,
  maxAttempts: number,
  retryBaseMs: number,
  retryMaxMs: number,
): { readonly deadLetter: true } | { readonly deadLetter: false; readonly retryInMs: number } {
  if (attempts >= maxAttempts) return { deadLetter: true };
  return { deadLetter: false, retryInMs: exponentialBackoffMs(attempts, retryBaseMs, retryMaxMs) };
}

/** Why a Kafka message could not be turned into an envelope (it goes to the DLQ as it is). */
export class MalformedKafkaMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedKafkaMessageError';
  }
}

/**
 * Rebuilds the envelope of a consumed message. Pure. Throws {@link MalformedKafkaMessageError}
 * naming what is missing when the message was not produced by {@link toKafkaMessage}.
 */
export function fromKafkaMessage(
  kafkaTopic: string,
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers'>,
): EventEnvelope {
  const topic = topicFromKafkaTopic(kafkaTopic);
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) continue;
    headers[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  const take = (name: string): string => {
    const value = headers[name];
    if (value === undefined)
      throw new MalformedKafkaMessageError(`message on ${kafkaTopic} has no '${name}' header`);
    delete headers[name];
    return value;
  };
  const id = take(kafkaEnvelopeHeaders.id);
  const type = take(kafkaEnvelopeHeaders.type);
  const occurredAtText = take(kafkaEnvelopeHeaders.occurredAtMs);
  const occurredAtMs = Number(occurredAtText);
  if (!/^-?\d+$/.test(occurredAtText) || !Number.isSafeInteger(occurredAtMs)) {
    throw new MalformedKafkaMessageError(
      `message ${id} on ${kafkaTopic}: '${kafkaEnvelopeHeaders.occurredAtMs}' is not an integer`,
    );
  }
  if (message.key === null || message.key === undefined) {
    throw new MalformedKafkaMessageError(`message ${id} on ${kafkaTopic} has no key`);
  }
  const key = typeof message.key === 'string' ? message.key : message.key.toString('utf8');
  const value = message.value;
  const payload = value === null || value === undefined ? new Uint8Array(0) : new Uint8Array(value);
  return Object.freeze({
    id,
    type,
    topic,
    key,
    payload,
    headers: Object.freeze(headers),
    occurredAtMs,
  });
}

const component = 'event bus (kafka)';

/** kafkajs error → UnavailableError (broker unreachable, retries exhausted) or a plain Error naming the call. */
function toKafkaError(operation: string, error: unknown): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const retriable = (error as { retriable?: unknown } | null)?.retriable === true;
  const name = error instanceof Error ? error.name : '';
  if (retriable || /Connection|NumberOfRetriesExceeded|Timeout|BrokerNotFound/.test(name)) {
    return new UnavailableError(`${component} unavailable: ${operation} failed`, {
      cause: new Error(`kafka ${operation} failed: ${detail}`, { cause: error }),
    });
  }
  return new Error(`${component}: ${operation} failed: ${detail}`, { cause: error });
}

/** Creates the Kafka bus; connections open lazily on first publish / subscribe / ping. */
export function createKafkaBus(options: KafkaBusOptions): EventBus {
  if (options.brokers.length === 0)
    throw new RangeError('kafka bus: brokers must list at least one host:port');
  const logger = options.logger ?? stderrBusLogger;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const now = options.now ?? Date.now;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
  const joinTimeoutMs = options.joinTimeoutMs ?? 30_000;
  const topicSettings =
    options.createTopics === false
      ? undefined
      : (options.createTopics ?? { numPartitions: -1, replicationFactor: -1 });

  const kafka = new Kafka({
    ...options.kafka,
    brokers: [...options.brokers],
    clientId: options.clientId,
    logLevel: options.kafka?.logLevel ?? KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const fields = { namespace: entry.namespace, ...entry.log };
      if (entry.level === KafkaLogLevel.ERROR)
        logger.error(fields, `kafkajs: ${entry.log.message}`);
      else if (entry.level === KafkaLogLevel.WARN)
        logger.warn(fields, `kafkajs: ${entry.log.message}`);
    },
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // kafkajs refuses an idempotent producer without retries (they are what it protects).
    retry: { ...options.kafka?.retry, retries: Math.max(1, options.kafka?.retry?.retries ?? 5) },
    allowAutoTopicCreation: topicSettings === undefined,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const admin: Admin = kafka.admin();
  let producerConnected: Promise<void> | undefined;
  let adminConnected: Promise<void> | undefined;
  const ensuredTopics = new Map<string, Promise<void>>();
  const subscriptions = new Set<Subscription>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function assertOpen(what: string): void {
    if (closed) throw new Error(`${component} is closed: cannot ${what}`);
  }

  function connectOnce(
    current: Promise<void> | undefined,
    connect: () => Promise<void>,
    reset: () => void,
  ) {
    if (current !== undefined) return current;
    const attempt = connect().catch((error: unknown) => {
      reset();
      throw error;
    });
    return attempt;
  }

  function connectProducer(): Promise<void> {
    producerConnected = connectOnce(
      producerConnected,
      () => producer.connect(),
      () => (producerConnected = undefined),
    );
    return producerConnected;
  }

  function connectAdmin(): Promise<void> {
    adminConnected = connectOnce(
      adminConnected,
      () => admin.connect(),
      () => (adminConnected = undefined),
    );
    return adminConnected;
  }

  /** Creates `topics` (Kafka names) once per bus object when `createTopics` is on. */
  async function ensureTopics(kafkaTopics: readonly string[]): Promise<void> {
    if (topicSettings === undefined) return;
    const missing = kafkaTopics.filter((topic) => !ensuredTopics.has(topic));
    if (missing.length > 0) {
      const creation = (async () => {
        await connectAdmin();
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, ...topicSettings })),
        });
      })();
      for (const topic of missing) ensuredTopics.set(topic, creation);
      creation.catch(() => {
        for (const topic of missing) ensuredTopics.delete(topic);
      });
    }
    await Promise.all(kafkaTopics.map((topic) => ensuredTopics.get(topic) ?? Promise.resolve()));
  }

  async function send(events: readonly EventEnvelope[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const event of events) {
      const { topic, message } = toKafkaMessage(event);
      const messages = byTopic.get(topic) ?? [];
      messages.push(message);
      byTopic.set(topic, messages);
    }
    try {
      await ensureTopics([...byTopic.keys()]);
      await connectProducer();
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      throw toKafkaError('publish', error);
    }
  }

  async function subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
    assertOpen('subscribe');
    const { group, handler } = subscribeOptions;
    assertValidSubscription(group, subscribeOptions.topics);
    const maxAttempts = resolveMaxAttempts(subscribeOptions.maxAttempts);
    const kafkaTopics = [...new Set(subscribeOptions.topics)].map(kafkaTopicName);
    const consumer: Consumer = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: topicSettings === undefined,
      ...(options.sessionTimeoutMs === undefined
        ? {}
        : { sessionTimeout: options.sessionTimeoutMs }),
      heartbeatInterval: heartbeatIntervalMs,
      ...(options.maxWaitTimeMs === undefined ? {} : { maxWaitTimeInMs: options.maxWaitTimeMs }),
    });
    let stopped = false;
    let wakeSleepers: Array<() => void> = [];

    /** Waits `delayMs`, heartbeating so a long backoff does not cost the partition; false when stopped. */
    async function backoff(delayMs: number, heartbeat: () => Promise<void>): Promise<boolean> {
      let left = delayMs;
      while (left > 0 && !stopped) {
        const step = Math.min(left, heartbeatIntervalMs);
        await new Promise<void>((resolve) => {
          const handle = setTimeout(resolve, step);
          wakeSleepers.push(() => {
            clearTimeout(handle);
            resolve();
          });
        });
        left -= step;
        await heartbeat().catch(() => undefined);
      }
      return !stopped;
    }

    async function deadLetterRaw(
      kafkaTopic: string,
      message: KafkaMessage,
      error: unknown,
    ): Promise<void> {
      logger.error(
        { group, kafkaTopic, offset: message.offset, error: describeFailure(error) },
        'malformed Kafka message moved to the DLQ',
      );
      const dlq = `${kafkaTopic}${deadLetterSuffix}`;
      await ensureTopics([dlq]);
      await connectProducer();
      await producer.send({
        topic: dlq,
        acks: -1,
        messages: [
          {
            key: message.key,
            value: message.value,
            headers: {
              ...message.headers,
              [deadLetterHeaders.error]: describeFailure(error),
              [deadLetterHeaders.group]: group,
              [deadLetterHeaders.originalTopic]: kafkaTopic,
              [deadLetterHeaders.failedAtMs]: String(now()),
            },
          },
        ],
      });
    }

    const stopError = () =>
      new Error('subscription closing: message left uncommitted for redelivery');

    let abandonReady: ((error: Error) => void) | undefined;
    try {
      await ensureTopics(kafkaTopics);
      await consumer.connect();
      await consumer.subscribe({
        topics: kafkaTopics,
        fromBeginning: subscribeOptions.fromBeginning !== false,
      });
      // Resolve subscribe() only once the group is joined AND a first fetch has run: kafkajs
      // resolves a new group's start offset (earliest / latest) at the start of its first fetch,
      // so with fromBeginning: false an event published before that could be skipped.
      const ready = new Promise<void>((resolve, reject) => {
        let joinedGroup = false;
        const removers: Array<() => void> = [];
        const finish = (error?: Error) => {
          abandonReady = undefined;
          clearTimeout(timeout);
          for (const remove of removers) remove();
          if (error === undefined) resolve();
          else reject(error);
        };
        const timeout = setTimeout(
          () =>
            finish(
              new Error(
                `consumer group ${group} did not join and fetch within ${joinTimeoutMs} ms`,
              ),
            ),
          joinTimeoutMs,
        );
        removers.push(
          consumer.on(consumer.events.GROUP_JOIN, () => {
            joinedGroup = true;
          }),
          consumer.on(consumer.events.FETCH, () => {
            if (joinedGroup) finish();
          }),
        );
        abandonReady = finish;
      });
      ready.catch(() => undefined);
      consumer.on(consumer.events.CRASH, (event) =>
        logger.error(
          { group, error: describeFailure(event.payload.error), restart: event.payload.restart },
          'kafka consumer crashed',
        ),
      );
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
        eachMessage: async (payload) => {
          const { topic: kafkaTopic, message } = payload;
          const heartbeat = () => payload.heartbeat();
          let envelope: EventEnvelope;
          try {
            envelope = fromKafkaMessage(kafkaTopic, message);
          } catch (error) {
            await deadLetterRaw(kafkaTopic, message, error);
            return;
          }
          for (let attempts = 1; ; attempts += 1) {
            if (stopped) throw stopError();
            try {
              await handler(envelope);
              return;
            } catch (error) {
              logger.warn(
                {
                  group,
                  topic: envelope.topic,
                  eventId: envelope.id,
                  attempt: attempts,
                  error: describeFailure(error),
                },
                'event handler failed; will retry or dead-letter',
              );
              const next = afterFailedAttempt(attempts, maxAttempts, retryBaseMs, retryMaxMs);
              if (next.deadLetter) {
                await send([
                  deadLetterEnvelope(envelope, { error, attempts, group, failedAtMs: now() }),
                ]);
                reportDeadLetter(logger, subscribeOptions.onDeadLettered, {
                  event: envelope,
                  error,
                  attempts,
                  group,
                });
                return;
              }
              if (!(await backoff(next.retryInMs, heartbeat))) throw stopError();
            }
          }
        },
      });
      await ready;
    } catch (error) {
      stopped = true;
      abandonReady?.(new Error('subscribe failed'));
      await consumer.disconnect().catch(() => undefined);
      throw toKafkaError(`subscribe ${group} to ${kafkaTopics.join(', ')}`, error);
    }

    let closingSubscription: Promise<void> | undefined;
    const subscription: Subscription = {
      close() {
        closingSubscription ??= (async () => {
          stopped = true;
          for (const wake of wakeSleepers) wake();
          wakeSleepers = [];
          // kafkajs waits for the running eachMessage calls, then leaves the group.
          await consumer
            .disconnect()
            .catch((error: unknown) =>
              logger.error(
                { group, error: describeFailure(error) },
                'kafka consumer disconnect failed',
              ),
            );
          subscriptions.delete(subscription);
        })();
        return closingSubscription;
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    kind: 'kafka',
    async publish(events) {
      assertOpen('publish');
      for (const event of events) assertPublishable(event);
      if (events.length === 0) return;
      await send(events);
    },
    subscribe,
    async ping() {
      assertOpen('ping');
      try {
        await connectAdmin();
        await admin.describeCluster();
      } catch (error) {
        throw toKafkaError('ping', error);
      }
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all([...subscriptions].map((subscription) => subscription.close()));
        // disconnect() on a never-connected client is a no-op in kafkajs.
        await Promise.all([
          producer.disconnect().catch(() => undefined),
          admin.disconnect().catch(() => undefined),
        ]);
      })();
      return closing;
    },
  };
}
