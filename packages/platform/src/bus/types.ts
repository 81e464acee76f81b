/**
 * The event-bus port. Three adapters implement it: in-process (embedded), Redis Streams
 * (multi-process on this machine) and Kafka (cluster). Delivery is at-least-once; consumers
 * make their effects exactly-once with the inbox (see ../outbox).
 */

/** One event on the wire. `payload` is the protobuf binary of an event message in proto/streambet/events. */
export interface EventEnvelope {
  /** Globally unique, chosen by the producer (the outbox row id); consumers dedupe on it. */
  readonly id: string;
  /** Fully-qualified protobuf message name, e.g. `streambet.events.v1.MarketOpened`. */
  readonly type: string;
  /** The event family, one topic each: `market`, `bet`, `wallet` ... */
  readonly topic: string;
  /**
   * Aggregate id (e.g. the market id). Events with the same key are delivered in publish order,
   * one at a time (a key's next event waits for the previous one, retries included). Scope per
   * adapter: memory and Kafka across the whole group; Redis Streams within one consumer process
   * (see redis-streams.ts).
   */
  readonly key: string;
  readonly payload: Uint8Array;
  /** Trace context (`traceparent`), request id, producer service. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the state change committed (producer's clock), ms since the epoch. */
  readonly occurredAtMs: number;
}

/** Handles one delivered event. Throwing means "not processed": the bus redelivers with backoff. */
export type EventHandler = (event: EventEnvelope) => Promise<void>;

/**
 * Handles several delivered events in one call (opt-in, {@link SubscribeOptions.handleBatch}).
 * Resolving acknowledges them all; throwing means "none processed": each is retried.
 */
export type BatchEventHandler = (events: readonly EventEnvelope[]) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Consumer group: every group receives every event once (at least once); members of one
   * group share the work. Use the consuming service's name.
   */
  readonly group: string;
  readonly topics: readonly string[];
  readonly handler: EventHandler;
  /**
   * Opt-in batch delivery, for consumers whose cost is per call rather than per event (the
   * analytics warehouse sink: one insert per batch). When set, the memory and Redis Streams buses
   * call it instead of `handler` with up to `batchMaxEvents` events at once: several keys, and
   * several events of one key in publish order, so a key is no longer limited to one event in
   * flight; a key is in at most one running call, so per-key order holds. A call that throws is
   * retried per key with the key's first event alone, so one poison event does not drag its
   * batch-mates to the dead-letter topic. The Kafka adapter calls `handler` per event (its
   * delivery is already per partition, in order). Every group member must pass the same shape.
   */
  readonly handleBatch?: BatchEventHandler;
  /** Most events per `handleBatch` call (default 500). */
  readonly batchMaxEvents?: number;
  /**
   * Attempts before an event goes to the dead-letter topic `<topic>.dlq` (default 5), with the
   * `dlq-*` headers of envelope.ts saying why. Backoff between attempts grows exponentially, capped
   * by the adapter's `retryMaxMs` (30 s by default). `'unlimited'` never dead-letters: a failing
   * event is retried (capped backoff) until its handler succeeds, holding back its key meanwhile —
   * for consumers that move money or change state, where a dropped event is worse than a stall.
   */
  readonly maxAttempts?: number | 'unlimited';
  /**
   * Called after the bus moved an event of this subscription to `<topic>.dlq` (never with
   * `maxAttempts: 'unlimited'`), e.g. to count it in metrics. Its failure is ignored.
   */
  readonly onDeadLettered?: (event: EventEnvelope, error: unknown) => void;
  /** Where a new group starts: `earliest` (default) or only events published from now on. */
  readonly fromBeginning?: boolean;
}

export interface Subscription {
  /** Stops receiving; resolves after in-flight handlers finish. Idempotent. */
  close(): Promise<void>;
}

export interface EventBus {
  readonly kind: 'memory' | 'redis-streams' | 'kafka';
  /** Resolves once every event is durably accepted by the bus (in publish order per key). */
  publish(events: readonly EventEnvelope[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Only on buses that keep nothing across a restart (the in-process bus): like `publish`, but
   * resolves only once every consumer group subscribed to the events' topics has handled (or
   * dead-lettered) them, and rejects without delivering anything when such a group has no live
   * member. The outbox relay uses it, so a row counts as published only after its consumers
   * committed their inbox rows: a crash before that leaves the row to be published again.
   */
  publishAndConfirm?(events: readonly EventEnvelope[]): Promise<void>;
  /** Resolves when the bus is reachable (readiness). */
  ping(): Promise<void>;
  /** Closes subscriptions and connections this object opened. Idempotent. */
  close(): Promise<void>;
}
