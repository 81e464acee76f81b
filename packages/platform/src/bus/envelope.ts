/**
 * Envelope rules shared by every bus adapter: what a publishable envelope looks like, the
 * dead-letter topic and headers, and how a handler's failure is described. Keeping these in one
 * place is what lets the same contract suite pass against memory, Redis Streams and Kafka.
 */
import type { EventEnvelope } from './types.js';

/** Suffix of the dead-letter topic: events of `market` that exhaust their attempts go to `market.dlq`. */
export const deadLetterSuffix = '.dlq';

/**
 * Headers the bus adds to an event it moves to the dead-letter topic. The original headers are
 * kept; these say why, after how many attempts, for which consumer group and from which topic.
 * The same event id can reach the DLQ once per failing group: `dlq-group` tells them apart.
 */
export const deadLetterHeaders = Object.freeze({
  /** `<ErrorName>: <message>` of the last attempt, at most {@link maxDeadLetterErrorChars} characters. */
  error: 'dlq-error',
  /** Attempts made (decimal), normally `maxAttempts`. */
  attempts: 'dlq-attempts',
  /** Consumer group whose handler gave up. */
  group: 'dlq-group',
  /** Topic the event was originally published to. */
  originalTopic: 'dlq-original-topic',
  /** When the bus gave up, ms since the epoch (decimal). */
  failedAtMs: 'dlq-failed-at-ms',
  /**
   * On an event republished from the DLQ (`npm run dlq -- replay`): the only consumer group that
   * should handle it; the service host acknowledges it unhandled in every other group.
   */
  replayForGroup: 'dlq-replay-for-group',
});

/**
 * Header names starting with this are reserved for the bus itself (the Kafka adapter carries
 * `id`, `type` and `occurredAtMs` in `sb-*` headers). Rejected at publish on every adapter, so a
 * producer that works on the memory bus also works on Kafka.
 */
export const reservedHeaderPrefix = 'sb-';

/** Longest error text kept in the `dlq-error` header (headers travel with every DLQ read). */
export const maxDeadLetterErrorChars = 1000;

/** Default attempts before dead-lettering, as documented on `SubscribeOptions.maxAttempts`. */
export const defaultMaxAttempts = 5;

/**
 * Topic names: lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit.
 * Kafka allows `[a-zA-Z0-9._-]`; Redis stream keys allow anything; the intersection we keep is
 * the one that reads well in both and never needs escaping in a key or a topic name.
 */
const topicPattern = /^[a-z0-9][a-z0-9._-]{0,199}$/;

/** Dead-letter topic of `topic` (`market` → `market.dlq`). */
export function deadLetterTopic(topic: string): string {
  return `${topic}${deadLetterSuffix}`;
}

/** Throws a RangeError naming the problem when `topic` is not a valid topic name. */
export function assertValidTopic(topic: string): void {
  if (!topicPattern.test(topic)) {
    throw new RangeError(
      `invalid topic ${JSON.stringify(topic)}: use 1-200 chars of [a-z0-9._-], starting with a letter or digit`,
    );
  }
}

/**
 * Checks an envelope before it is accepted for publishing, so a malformed event fails at the
 * producer (where the bug is) rather than in every consumer.
 */
export function assertPublishable(event: EventEnvelope): void {
  const where = `event ${JSON.stringify(event?.id)}`;
  if (typeof event !== 'object' || event === null)
    throw new TypeError('cannot publish a non-object event');
  if (typeof event.id !== 'string' || event.id.length === 0)
    throw new TypeError(`${where}: id must be a non-empty string`);
  if (typeof event.type !== 'string' || event.type.length === 0) {
    throw new TypeError(`${where}: type must be the non-empty protobuf message name`);
  }
  if (typeof event.topic !== 'string') throw new TypeError(`${where}: topic must be a string`);
  assertValidTopic(event.topic);
  if (typeof event.key !== 'string')
    throw new TypeError(`${where}: key must be a string (the aggregate id)`);
  if (!(event.payload instanceof Uint8Array))
    throw new TypeError(`${where}: payload must be a Uint8Array`);
  if (!Number.isSafeInteger(event.occurredAtMs))
    throw new TypeError(`${where}: occurredAtMs must be an integer (ms since epoch)`);
  if (typeof event.headers !== 'object' || event.headers === null)
    throw new TypeError(`${where}: headers must be an object`);
  for (const [name, value] of Object.entries(event.headers)) {
    if (typeof value !== 'string')
      throw new TypeError(`${where}: header ${JSON.stringify(name)} must be a string`);
    if (name.length === 0) throw new TypeError(`${where}: header names must not be empty`);
    if (name.toLowerCase().startsWith(reservedHeaderPrefix)) {
      throw new TypeError(
        `${where}: header ${JSON.stringify(name)} uses the reserved prefix '${reservedHeaderPrefix}'`,
      );
    }
  }
}

/**
 * A private copy of an envelope: the bus keeps events after `publish` resolves (retention,
 * retries), so a producer reusing its payload buffer must not change what consumers see.
 */
export function copyEnvelope(
  event: EventEnvelope,
  overrides?: Partial<EventEnvelope>,
): EventEnvelope {
  return Object.freeze({
    id: event.id,
    type: event.type,
    topic: event.topic,
    key: event.key,
    payload: new Uint8Array(event.payload),
    headers: Object.freeze({ ...event.headers }),
    occurredAtMs: event.occurredAtMs,
    ...overrides,
  });
}

/** `<ErrorName>: <message>`, truncated: what the DLQ header and logs say about a failure. */
export function describeFailure(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : `non-error thrown: ${safeString(error)}`;
  return text.length <= maxDeadLetterErrorChars
    ? text
    : `${text.slice(0, maxDeadLetterErrorChars - 1)}…`;
}

/** The envelope published to `<topic>.dlq` when `group` gives up on `event` after `attempts`. */
export function deadLetterEnvelope(
  event: EventEnvelope,
  failure: { error: unknown; attempts: number; group: string; failedAtMs: number },
): EventEnvelope {
  return copyEnvelope(event, {
    topic: deadLetterTopic(event.topic),
    headers: Object.freeze({
      ...event.headers,
      [deadLetterHeaders.error]: describeFailure(failure.error),
      [deadLetterHeaders.attempts]: String(failure.attempts),
      [deadLetterHeaders.group]: failure.group,
      [deadLetterHeaders.originalTopic]: event.topic,
      [deadLetterHeaders.failedAtMs]: String(failure.failedAtMs),
    }),
  });
}

/**
 * Validates `maxAttempts` (defaulting it) so a typo cannot mean "retry forever" or "never try":
 * only the explicit `'unlimited'` does, and becomes `Infinity` (no attempt count ever reaches it).
 */
export function resolveMaxAttempts(maxAttempts: number | 'unlimited' | undefined): number {
  if (maxAttempts === 'unlimited') return Number.POSITIVE_INFINITY;
  const value = maxAttempts ?? defaultMaxAttempts;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `maxAttempts must be an integer >= 1 or 'unlimited', got ${String(maxAttempts)}`,
    );
  }
  return value;
}

/** Validates a subscription's group and topics, naming the bad value. */
export function assertValidSubscription(group: string, topics: readonly string[]): void {
  if (typeof group !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(group)) {
    throw new RangeError(
      `invalid consumer group ${JSON.stringify(group)}: use 1-200 chars of [A-Za-z0-9._-]`,
    );
  }
  if (topics.length === 0) throw new RangeError(`group ${group}: subscribe to at least one topic`);
  for (const topic of topics) assertValidTopic(topic);
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/**
 * Calls a subscription's `onDeadLettered` and logs the dead letter (event id, group, topic,
 * attempts, error): every adapter does this after the DLQ write succeeded, so a poison event is
 * visible in logs and metrics, not only in the DLQ topic.
 */
export function reportDeadLetter(
  logger: { error(fields: object, message: string): void },
  onDeadLettered: ((event: EventEnvelope, error: unknown) => void) | undefined,
  failure: { event: EventEnvelope; error: unknown; attempts: number; group: string },
): void {
  logger.error(
    {
      group: failure.group,
      topic: failure.event.topic,
      eventId: failure.event.id,
      eventType: failure.event.type,
      attempts: failure.attempts,
      error: describeFailure(failure.error),
    },
    `event dead-lettered to ${deadLetterTopic(failure.event.topic)}`,
  );
  try {
    onDeadLettered?.(failure.event, failure.error);
  } catch {
    // A faulty metrics callback must not turn a dead letter into a redelivery.
  }
}
