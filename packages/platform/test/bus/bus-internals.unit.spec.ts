import { describe, expect, it } from 'vitest';
import {
  deadLetterEnvelope,
  deadLetterHeaders,
  describeFailure,
  maxDeadLetterErrorChars,
} from '@streambet/platform/bus/envelope';
import { exponentialBackoffMs } from '@streambet/platform/bus/keyed-dispatcher';
import { hashKey, partitionForKey } from '@streambet/platform/bus/partition';

describe('bus internals', () => {
  it('backs off exponentially from the base and stops growing at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((failed) => exponentialBackoffMs(failed, 50, 1_000))).toEqual([
      50, 100, 200, 400, 800, 1_000,
    ]);
    expect(exponentialBackoffMs(500, 50, 1_000)).toBe(1_000);
  });

  it('maps keys to partitions with a stable hash (changing it would reorder keys mid-stream)', () => {
    // Pinned values: FNV-1a 32-bit of the UTF-16 code units.
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    expect(hashKey('market-42')).toBe(hashKey('market-42'));
    expect(partitionForKey('a', 4)).toBe(0xe40c292c % 4);
    expect(() => partitionForKey('a', 0)).toThrow(/partitions must be an integer >= 1/);
  });

  it('describes failures for the DLQ header, truncated to a bounded size', () => {
    expect(describeFailure(new TypeError('bad'))).toBe('TypeError: bad');
    expect(describeFailure('plain')).toBe('non-error thrown: plain');
    expect(describeFailure(new Error('x'.repeat(5_000)))).toHaveLength(maxDeadLetterErrorChars);
  });

  it('builds the dead-letter envelope on <topic>.dlq keeping the original headers', () => {
    const dead = deadLetterEnvelope(
      {
        id: 'e1',
        type: 't',
        topic: 'market',
        key: 'm1',
        payload: new Uint8Array([1]),
        headers: { traceparent: 'tp' },
        occurredAtMs: 5,
      },
      { error: new Error('nope'), attempts: 5, group: 'settlement', failedAtMs: 99 },
    );
    expect(dead.topic).toBe('market.dlq');
    expect(dead.headers).toEqual({
      traceparent: 'tp',
      [deadLetterHeaders.error]: 'Error: nope',
      [deadLetterHeaders.attempts]: '5',
      [deadLetterHeaders.group]: 'settlement',
      [deadLetterHeaders.originalTopic]: 'market',
      [deadLetterHeaders.failedAtMs]: '99',
    });
  });
});
