import { describe, expect, it } from 'vitest';
import { resolveMaxAttempts } from '@streambet/platform/bus/envelope';
import {
  afterFailedAttempt,
  fromKafkaMessage,
  kafkaEnvelopeHeaders,
  kafkaTopicName,
  MalformedKafkaMessageError,
  toKafkaMessage,
  topicFromKafkaTopic,
} from '@streambet/platform/bus/kafka';
import type { EventEnvelope } from '@streambet/platform/bus/types';

const sample: EventEnvelope = {
  id: 'outbox-42',
  type: 'streambet.events.v1.MarketOpened',
  topic: 'market',
  key: 'market-7',
  payload: Uint8Array.from([0, 1, 2, 254, 255]),
  headers: { traceparent: '00-abc-def-01', 'request-id': 'r-1', producer: 'pool' },
  occurredAtMs: 1_700_000_000_123,
};

describe('Kafka message mapping', () => {
  it('names topics streambet.<topic> and back', () => {
    expect(kafkaTopicName('market')).toBe('streambet.market');
    expect(kafkaTopicName('market.dlq')).toBe('streambet.market.dlq');
    expect(topicFromKafkaTopic('streambet.market.dlq')).toBe('market.dlq');
    expect(() => topicFromKafkaTopic('other.market')).toThrow(/is not a bus topic/);
  });

  it('keys the message by aggregate, carries the payload as value and the envelope fields as headers', () => {
    const { topic, message } = toKafkaMessage(sample);
    expect(topic).toBe('streambet.market');
    expect(message.key).toBe('market-7');
    expect(Buffer.isBuffer(message.value)).toBe(true);
    expect([...(message.value as Buffer)]).toEqual([0, 1, 2, 254, 255]);
    expect(message.timestamp).toBe('1700000000123');
    expect(message.headers).toEqual({
      traceparent: '00-abc-def-01',
      'request-id': 'r-1',
      producer: 'pool',
      [kafkaEnvelopeHeaders.id]: 'outbox-42',
      [kafkaEnvelopeHeaders.type]: 'streambet.events.v1.MarketOpened',
      [kafkaEnvelopeHeaders.occurredAtMs]: '1700000000123',
    });
  });

  it('round-trips through what a consumer receives (Buffers for key, value and headers)', () => {
    const { topic, message } = toKafkaMessage(sample);
    const consumed = {
      key: Buffer.from(message.key as string),
      value: Buffer.from(message.value as Buffer),
      headers: Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [
          name,
          Buffer.from(String(value)),
        ]),
      ),
    };
    const back = fromKafkaMessage(topic, consumed);
    expect({ ...back, payload: [...back.payload] }).toEqual({
      ...sample,
      payload: [...sample.payload],
    });
    expect(back.payload).toBeInstanceOf(Uint8Array);
  });

  it('takes the first value of a repeated header and treats a null value as an empty payload', () => {
    const back = fromKafkaMessage('streambet.bet', {
      key: Buffer.from('b1'),
      value: null,
      headers: {
        [kafkaEnvelopeHeaders.id]: 'e1',
        [kafkaEnvelopeHeaders.type]: 'T',
        [kafkaEnvelopeHeaders.occurredAtMs]: '5',
        'x-multi': [Buffer.from('first'), 'second'],
      },
    });
    expect(back.headers).toEqual({ 'x-multi': 'first' });
    expect(back.payload).toEqual(new Uint8Array(0));
    expect(back.topic).toBe('bet');
  });

  it('names what is missing when a message was not produced by the bus', () => {
    const headers = {
      [kafkaEnvelopeHeaders.id]: 'e1',
      [kafkaEnvelopeHeaders.type]: 'T',
      [kafkaEnvelopeHeaders.occurredAtMs]: '5',
    };
    expect(() =>
      fromKafkaMessage('streambet.bet', { key: Buffer.from('k'), value: null, headers: {} }),
    ).toThrow(new MalformedKafkaMessageError("message on streambet.bet has no 'sb-id' header"));
    expect(() => fromKafkaMessage('streambet.bet', { key: null, value: null, headers })).toThrow(
      /has no key/,
    );
    expect(() =>
      fromKafkaMessage('streambet.bet', {
        key: Buffer.from('k'),
        value: null,
        headers: { ...headers, [kafkaEnvelopeHeaders.occurredAtMs]: '5.5' },
      }),
    ).toThrow(/is not an integer/);
  });

  it('refuses envelopes that would collide with the reserved sb- headers', () => {
    expect(() => toKafkaMessage({ ...sample, headers: { 'sb-id': 'spoofed' } })).toThrow(
      /reserved prefix/,
    );
  });
});

describe('Kafka retry decision after a failed attempt', () => {
  it('dead-letters once the attempts reach maxAttempts, retrying with capped backoff before', () => {
    const max = resolveMaxAttempts(3);
    expect(afterFailedAttempt(1, max, 100, 30_000)).toEqual({ deadLetter: false, retryInMs: 100 });
    expect(afterFailedAttempt(2, max, 100, 30_000)).toEqual({ deadLetter: false, retryInMs: 200 });
    expect(afterFailedAttempt(3, max, 100, 30_000)).toEqual({ deadLetter: true });
  });

  it("never dead-letters with maxAttempts: 'unlimited' and caps the backoff at retryMaxMs", () => {
    const unlimited = resolveMaxAttempts('unlimited');
    expect(afterFailedAttempt(5, unlimited, 100, 30_000)).toEqual({
      deadLetter: false,
      retryInMs: 1_600,
    });
    expect(afterFailedAttempt(1_000_000, unlimited, 100, 30_000)).toEqual({
      deadLetter: false,
      retryInMs: 30_000,
    });
  });
});
