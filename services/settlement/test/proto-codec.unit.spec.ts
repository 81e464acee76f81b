/**
 * The direct PayoutMade and PayoutsMade encoders write exactly what protobuf-es writes for the
 * same message.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { EventMetadataSchema } from '@streambet/contracts/gen/streambet/events/v1/envelope_pb';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { PayoutSchema } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  encodePayoutMade,
  encodePayoutsMade,
  payoutToProto,
  type EventMeta,
  type PayoutKindName,
  type PayoutRecord,
} from '../src/proto-codec.js';

const INT64_MAX = 9_223_372_036_854_775_807n;

/** The message-building encoding (create + toBinary), as every other settlement event is encoded. */
function reference(row: PayoutRecord, meta: EventMeta): Uint8Array {
  return toBinary(
    PayoutMadeSchema,
    create(PayoutMadeSchema, {
      metadata: {
        eventId: meta.eventId,
        occurredAtMs: BigInt(meta.occurredAtMs),
        producer: 'settlement',
        traceParent: '',
        aggregateId: meta.marketId,
        actorUserId: meta.actorUserId ?? '',
        actorRole: meta.actorUserId ? Role.ADMIN : Role.SERVICE,
      },
      payout: payoutToProto(row),
    }),
  );
}

/** Deterministic pseudo-random rows covering zeros, negatives, int64 extremes and non-ASCII ids. */
function rows(count: number): { row: PayoutRecord; meta: EventMeta }[] {
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  const amounts = [0n, 1n, 127n, 128n, 300n, -1n, -128n, -(2n ** 40n), INT64_MAX, -INT64_MAX - 1n];
  const pick = <T>(values: readonly T[]): T => values[next() % values.length]!;
  const kinds: PayoutKindName[] = ['SETTLEMENT', 'REFUND', 'STREAMER_REVENUE_SHARE'];
  return Array.from({ length: count }, (_, index) => {
    const marketId = pick(['01JMARKET00000000000000000', 'm', 'mercado-ç-€']);
    return {
      row: {
        marketId,
        userId: pick(['01JUSER000000000000000000A', 'u', 'ユーザー', `u-${index}`]),
        kind: pick(kinds),
        channelId: pick(['', 'channel-1']),
        currency: pick(['BRL', 'USD', '']),
        stakeMinor: pick(amounts),
        payoutMinor: pick(amounts),
        netMinor: pick(amounts),
        transferId: pick(['', `settle:${marketId}:payout:u`, 'x'.repeat(200)]),
        paidAtMs: pick([0, 1, 1_764_643_000_123, 2 ** 53 - 1]),
        reversedAtMs: pick([0, 1_764_643_999_000]),
      },
      meta: {
        eventId: pick(['0193a2b4-0000-7000-8000-000000000000', '', 'e'.repeat(64)]),
        occurredAtMs: pick([0, 1_764_643_000_123]),
        marketId,
        ...(next() % 3 === 0 ? { actorUserId: pick(['', '01JADMIN00000000000000000A']) } : {}),
      },
    };
  });
}

describe('PayoutMade encoding', () => {
  it('gives the bytes protobuf-es gives for the same message', () => {
    for (const { row, meta } of rows(2_000)) {
      const encoded = encodePayoutMade(row, meta);
      expect(encoded.type).toBe(PayoutMadeSchema.typeName);
      expect(Buffer.from(encoded.payload).toString('hex')).toBe(
        Buffer.from(reference(row, meta)).toString('hex'),
      );
    }
  });

  it('hands out independent buffers and decodes to the row', () => {
    const [first, second] = rows(2);
    const a = encodePayoutMade(first!.row, first!.meta);
    const aCopy = Uint8Array.from(a.payload);
    encodePayoutMade(second!.row, second!.meta);
    expect(a.payload).toEqual(aCopy);
    const decoded = fromBinary(PayoutMadeSchema, a.payload);
    expect(decoded.payout?.userId).toBe(first!.row.userId);
    expect(decoded.payout?.netMinor).toBe(first!.row.netMinor);
    expect(decoded.metadata?.producer).toBe('settlement');
  });

  it('covers every field of PayoutMade, Payout and EventMetadata (a new field needs the encoder updated)', () => {
    const fields = (schema: { fields: readonly { number: number; name: string }[] }) =>
      schema.fields.map((field) => `${field.number}:${field.name}`);
    expect(fields(PayoutMadeSchema)).toEqual(['1:metadata', '2:payout']);
    expect(fields(EventMetadataSchema)).toEqual([
      '1:event_id',
      '2:occurred_at_ms',
      '3:producer',
      '4:trace_parent',
      '5:aggregate_id',
      '6:actor_user_id',
      '7:actor_role',
    ]);
    expect(fields(PayoutSchema)).toEqual([
      '1:payout_id',
      '2:market_id',
      '3:channel_id',
      '4:user_id',
      '5:kind',
      '6:currency',
      '7:stake_minor',
      '8:payout_minor',
      '9:commission_minor',
      '10:net_minor',
      '11:transfer_id',
      '12:paid_at_ms',
      '13:reversed_at_ms',
    ]);
  });
});

describe('PayoutsMade encoding', () => {
  it('gives the bytes protobuf-es gives for a page, and every row decodes back', () => {
    const all = rows(300);
    for (const size of [0, 1, 7, 300]) {
      const page = all.slice(0, size).map((r) => r.row);
      const meta = all[size % all.length]!.meta;
      const encoded = encodePayoutsMade('01JMARKET00000000000000000', page, meta);
      expect(encoded.type).toBe(PayoutsMadeSchema.typeName);
      const one = fromBinary(PayoutMadeSchema, reference(page[0] ?? all[0]!.row, meta));
      const want = toBinary(
        PayoutsMadeSchema,
        create(PayoutsMadeSchema, {
          metadata: one.metadata,
          marketId: '01JMARKET00000000000000000',
          payouts: page.map(payoutToProto),
        }),
      );
      expect(Buffer.from(encoded.payload).toString('hex')).toBe(Buffer.from(want).toString('hex'));
      const decoded = fromBinary(PayoutsMadeSchema, encoded.payload);
      expect(decoded.payouts.map((p) => [p.userId, p.netMinor])).toEqual(
        page.map((r) => [r.userId, r.netMinor]),
      );
    }
    const fields = (schema: { fields: readonly { number: number; name: string }[] }) =>
      schema.fields.map((field) => `${field.number}:${field.name}`);
    expect(fields(PayoutsMadeSchema)).toEqual(['1:metadata', '2:market_id', '3:payouts']);
  });
});
