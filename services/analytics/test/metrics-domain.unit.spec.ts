/** GetMetrics' pure rules: UTC-aligned buckets (weeks from Monday), the 1000-bucket cap, percentiles. */
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { describe, expect, it } from 'vitest';
import { percentile, planMetricsQuery, type MetricsRequestInput } from '../src/domain/metrics.js';

const base: MetricsRequestInput = {
  fromMs: Date.UTC(2026, 10, 25, 13, 7, 5),
  toMs: Date.UTC(2026, 10, 25, 15, 0, 1),
  granularity: 'hour',
  currency: 'BRL',
  channelId: '',
  channelLimit: 0,
};

describe('planMetricsQuery', () => {
  it('rounds from down and to up to bucket boundaries', () => {
    const plan = planMetricsQuery(base);
    expect(plan.fromMs).toBe(Date.UTC(2026, 10, 25, 13));
    expect(plan.toMs).toBe(Date.UTC(2026, 10, 25, 16));
    expect(plan.bucketStarts).toEqual([13, 14, 15].map((h) => Date.UTC(2026, 10, 25, h)));
    expect(plan.channelLimit).toBe(50);
  });

  it('aligns weeks to Monday 00:00 UTC', () => {
    // 2026-11-25 is a Wednesday; its week starts on Monday 2026-11-23.
    const plan = planMetricsQuery({ ...base, granularity: 'week' });
    expect(plan.bucketStarts).toEqual([Date.UTC(2026, 10, 23)]);
    expect(new Date(plan.bucketStarts[0]!).getUTCDay()).toBe(1);
    expect(plan.toMs).toBe(Date.UTC(2026, 10, 30));
  });

  it('accepts exactly 1000 buckets and refuses 1001', () => {
    const from = Date.UTC(2026, 0, 1);
    expect(
      planMetricsQuery({ ...base, granularity: 'minute', fromMs: from, toMs: from + 1000 * 60_000 })
        .bucketStarts,
    ).toHaveLength(1000);
    expect(() =>
      planMetricsQuery({
        ...base,
        granularity: 'minute',
        fromMs: from,
        toMs: from + 1000 * 60_000 + 1,
      }),
    ).toThrow(/1001 minute buckets/);
  });

  it('lists every bad field at once', () => {
    try {
      planMetricsQuery({ ...base, currency: '', granularity: undefined, toMs: 0 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).violations.map((v) => v.field)).toEqual([
        'currency',
        'granularity',
        'to_ms',
      ]);
    }
  });
});

describe('percentile (nearest rank)', () => {
  it('is 0 for no values and picks ranks by ceiling', () => {
    expect(percentile([], 50)).toBe(0);
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([
      50, 95, 99,
    ]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
  });
});
