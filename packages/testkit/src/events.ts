/**
 * Event envelopes as a producer's outbox publishes them, for tests and benches that feed
 * consumers or buses directly.
 */
import { randomUUID } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import type { EventEnvelope } from '@streambet/platform/bus/types';

let sequence = 0;

/** What {@link envelope} fills in unless told. */
export interface EnvelopeOptions {
  /** The event id (inbox dedup key); default: unique per process and run. */
  readonly id?: string;
  /** Default: the wall clock (what an outbox row records). */
  readonly occurredAtMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The protobuf event `init` of `schema`, on `topic` under `key`, as an outbox relay sends it. */
export function envelope<D extends DescMessage>(
  topic: string,
  key: string,
  schema: D,
  init: MessageInitShape<D>,
  options: EnvelopeOptions = {},
): EventEnvelope {
  sequence += 1;
  return {
    id: options.id ?? `test-${sequence}-${randomUUID()}`,
    topic,
    key,
    type: schema.typeName,
    payload: toBinary(schema, create(schema, init)),
    headers: { ...options.headers },
    occurredAtMs: options.occurredAtMs ?? Date.now(),
  };
}

/**
 * A schema-less `streambet.testing.v1.Ping` envelope for bus tests: number `seq` of a run, its
 * payload `#<seq>`, header `seq`, and an `occurredAtMs` that orders with `seq`; `overrides`
 * replace fields (headers are merged).
 */
export function pingEnvelope(
  topic: string,
  key: string,
  seq: number,
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope {
  return {
    id: `evt-${seq}-${randomUUID()}`,
    type: 'streambet.testing.v1.Ping',
    topic,
    key,
    payload: new TextEncoder().encode(`#${seq}`),
    occurredAtMs: 1_700_000_000_000 + seq,
    ...overrides,
    headers: { seq: String(seq), ...overrides.headers },
  };
}
