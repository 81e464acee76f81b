/**
 * What on-call needs to see about event consumers, whatever the bus adapter: events whose handler
 * keeps failing (how many, and how long the oldest has been failing, per topic and group), a log
 * line once an event has been failing for longer than the alert threshold, and dead letters.
 *
 * Works by wrapping each subscription's handler: an event is "failing" from its first failed
 * attempt until an attempt succeeds, the bus dead-letters it or the subscription closes. With
 * `maxAttempts: 'unlimited'` nothing is dead-lettered, so `bus_oldest_failing_event_age_seconds`
 * is the alert that a money or state consumer is stuck.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { describeFailure } from './envelope.js';
import type { BatchEventHandler, EventEnvelope, EventHandler } from './types.js';

/** Options of {@link createConsumerHealth}. */
export interface ConsumerHealthOptions {
  readonly registry: Registry;
  readonly logger: {
    error(fields: object, message: string): void;
    info(fields: object, message: string): void;
  };
  /** ms since the epoch. */
  readonly now: () => number;
  /** An event failing for longer than this is logged as an error once. Default 60,000 ms. */
  readonly alertAfterMs?: number;
  /**
   * A failing event not retried for this long is forgotten (another member took it over, or the
   * process lost it). Default 600,000 ms: well above the buses' longest retry backoff (30 s).
   */
  readonly forgetAfterMs?: number;
}

/** Tracks the consumers of one service; see the module comment. */
export interface ConsumerHealth {
  /** Wraps a subscription's handler so its failures are tracked. */
  wrap(group: string, handler: EventHandler): EventHandler;
  /** `wrap` for a batch handler: a failed call marks each of its events failing. */
  wrapBatch(group: string, handler: BatchEventHandler): BatchEventHandler;
  /** For `SubscribeOptions.onDeadLettered`: counts the dead letter and stops tracking the event. */
  deadLettered(group: string, event: EventEnvelope): void;
  /** Forgets a closed subscription's failing events. */
  forget(group: string): void;
}

interface Failing {
  readonly group: string;
  readonly topic: string;
  readonly eventId: string;
  readonly firstFailedAtMs: number;
  lastFailedAtMs: number;
  attempts: number;
  alerted: boolean;
}

/** Creates the tracker and registers its metrics in `registry`. */
export function createConsumerHealth(options: ConsumerHealthOptions): ConsumerHealth {
  const alertAfterMs = options.alertAfterMs ?? 60_000;
  const forgetAfterMs = options.forgetAfterMs ?? 600_000;
  const { now, logger } = options;
  const failing = new Map<string, Failing>();
  const idOf = (group: string, eventId: string): string => `${group}\u0000${eventId}`;

  function prune(): void {
    const cutoff = now() - forgetAfterMs;
    for (const [id, entry] of failing) if (entry.lastFailedAtMs < cutoff) failing.delete(id);
  }

  function byLabels(): Map<string, { group: string; topic: string; entries: Failing[] }> {
    prune();
    const grouped = new Map<string, { group: string; topic: string; entries: Failing[] }>();
    for (const entry of failing.values()) {
      const key = `${entry.group}\u0000${entry.topic}`;
      const bucket = grouped.get(key) ?? { group: entry.group, topic: entry.topic, entries: [] };
      bucket.entries.push(entry);
      grouped.set(key, bucket);
    }
    return grouped;
  }

  const failures = new Counter({
    name: 'bus_handler_failures_total',
    help: 'Failed handler attempts (each is retried, or dead-lettered once attempts run out)',
    labelNames: ['topic', 'group'],
    registers: [options.registry],
  });
  const deadLetters = new Counter({
    name: 'bus_dead_lettered_total',
    help: 'Events moved to <topic>.dlq after their attempts ran out (list and replay: npm run dlq)',
    labelNames: ['topic', 'group'],
    registers: [options.registry],
  });
  new Gauge({
    name: 'bus_failing_events',
    help: 'Events whose handler is failing and being retried right now',
    labelNames: ['topic', 'group'],
    registers: [options.registry],
    collect() {
      this.reset();
      for (const { group, topic, entries } of byLabels().values())
        this.set({ topic, group }, entries.length);
    },
  });
  new Gauge({
    name: 'bus_oldest_failing_event_age_seconds',
    help: 'Since when the oldest still-failing event of a topic and group has been failing (alert on it)',
    labelNames: ['topic', 'group'],
    registers: [options.registry],
    collect() {
      this.reset();
      const nowMs = now();
      for (const { group, topic, entries } of byLabels().values()) {
        const oldest = Math.min(...entries.map((entry) => entry.firstFailedAtMs));
        this.set({ topic, group }, Math.max(0, nowMs - oldest) / 1000);
      }
    },
  });

  function failed(group: string, event: EventEnvelope, error: unknown): void {
    const nowMs = now();
    failures.inc({ topic: event.topic, group });
    const id = idOf(group, event.id);
    let entry = failing.get(id);
    if (entry === undefined) {
      entry = {
        group,
        topic: event.topic,
        eventId: event.id,
        firstFailedAtMs: nowMs,
        lastFailedAtMs: nowMs,
        attempts: 0,
        alerted: false,
      };
      failing.set(id, entry);
    }
    entry.lastFailedAtMs = nowMs;
    entry.attempts += 1;
    if (!entry.alerted && nowMs - entry.firstFailedAtMs >= alertAfterMs) {
      entry.alerted = true;
      logger.error(
        {
          group,
          topic: event.topic,
          eventId: event.id,
          eventType: event.type,
          failingForMs: nowMs - entry.firstFailedAtMs,
          attempts: entry.attempts,
          error: describeFailure(error),
        },
        'event handler has been failing for longer than the alert threshold; still retrying',
      );
    }
  }

  function succeeded(group: string, event: EventEnvelope): void {
    const id = idOf(group, event.id);
    const entry = failing.get(id);
    if (entry === undefined) return;
    failing.delete(id);
    if (entry.alerted) {
      logger.info(
        {
          group,
          topic: event.topic,
          eventId: event.id,
          failedForMs: now() - entry.firstFailedAtMs,
        },
        'event handler recovered after failing past the alert threshold',
      );
    }
  }

  return {
    wrap(group, handler) {
      return async (event) => {
        try {
          await handler(event);
        } catch (error) {
          failed(group, event, error);
          throw error;
        }
        succeeded(group, event);
      };
    },
    wrapBatch(group, handler) {
      return async (events) => {
        try {
          await handler(events);
        } catch (error) {
          for (const event of events) failed(group, event, error);
          throw error;
        }
        for (const event of events) succeeded(group, event);
      };
    },
    deadLettered(group, event) {
      failing.delete(idOf(group, event.id));
      deadLetters.inc({ topic: event.topic, group });
    },
    forget(group) {
      for (const [id, entry] of failing) if (entry.group === group) failing.delete(id);
    },
  };
}
