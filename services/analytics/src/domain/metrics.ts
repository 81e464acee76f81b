/**
 * GetMetrics' rules, pure: the request's validation, UTC-aligned buckets, and the percentile of
 * settlement times (nearest rank).
 */
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';

/** Bucket widths of the contract's Granularity. */
export type Granularity = 'minute' | 'hour' | 'day' | 'week';

const WIDTH_MS: Record<Granularity, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};
/** 1970-01-05T00:00Z, the first Monday of the epoch: weeks are aligned to it. */
const WEEK_OFFSET_MS = 345_600_000;

/** Most buckets in one request (contract). */
export const MAX_BUCKETS = 1000;
/** channel_limit when 0, and its largest value (contract). */
export const DEFAULT_CHANNEL_LIMIT = 50;
export const MAX_CHANNEL_LIMIT = 500;

/** Width and alignment of one bucket: start = floor((t − offset) / width) · width + offset. */
export interface BucketScheme {
  readonly widthMs: number;
  readonly offsetMs: number;
}

/** The scheme of `granularity`. */
export function bucketScheme(granularity: Granularity): BucketScheme {
  return {
    widthMs: WIDTH_MS[granularity],
    offsetMs: granularity === 'week' ? WEEK_OFFSET_MS : 0,
  };
}

/** Start of the bucket holding `ms`. */
export function bucketStart(ms: number, scheme: BucketScheme): number {
  return Math.floor((ms - scheme.offsetMs) / scheme.widthMs) * scheme.widthMs + scheme.offsetMs;
}

/** A GetMetrics request as the routes decode it. */
export interface MetricsRequestInput {
  readonly fromMs: number;
  readonly toMs: number;
  readonly granularity: Granularity | undefined;
  readonly currency: string;
  readonly channelId: string;
  readonly channelLimit: number;
}

/** A valid request: range aligned to buckets. */
export interface MetricsQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly scheme: BucketScheme;
  readonly bucketStarts: readonly number[];
  readonly currency: string;
  /** Empty: all channels. */
  readonly channelId: string;
  readonly channelLimit: number;
}

const CURRENCY = /^[A-Z]{3}$/;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Validates `input` (every violation at once) and aligns its range; throws ValidationError. */
export function planMetricsQuery(input: MetricsRequestInput): MetricsQuery {
  const violations: FieldViolation[] = [];
  if (input.currency === '') {
    violations.push({ field: 'currency', description: 'is required (ISO 4217 code or PTS)' });
  } else if (!CURRENCY.test(input.currency)) {
    violations.push({
      field: 'currency',
      description: 'must be an ISO 4217 code (3 capital letters) or PTS',
    });
  }
  if (input.granularity === undefined) {
    violations.push({
      field: 'granularity',
      description: 'is required: MINUTE, HOUR, DAY or WEEK',
    });
  }
  if (input.fromMs < 0)
    violations.push({ field: 'from_ms', description: 'must be ≥ 0 (ms since the epoch)' });
  if (input.toMs <= input.fromMs) {
    violations.push({ field: 'to_ms', description: 'must be greater than from_ms' });
  }
  if (input.channelId !== '' && !ULID.test(input.channelId)) {
    violations.push({ field: 'channel_id', description: 'must be a channel id (ULID) or empty' });
  }
  if (input.channelLimit < 0 || input.channelLimit > MAX_CHANNEL_LIMIT) {
    violations.push({
      field: 'channel_limit',
      description: `must be between 1 and ${MAX_CHANNEL_LIMIT} (0 = ${DEFAULT_CHANNEL_LIMIT})`,
    });
  }
  if (violations.length === 0 && input.granularity !== undefined) {
    const scheme = bucketScheme(input.granularity);
    const fromMs = bucketStart(input.fromMs, scheme);
    const lastStart = bucketStart(input.toMs - 1, scheme);
    const count = (lastStart - fromMs) / scheme.widthMs + 1;
    if (count > MAX_BUCKETS) {
      violations.push({
        field: 'to_ms',
        description: `the range holds ${count} ${input.granularity} buckets; at most ${MAX_BUCKETS}: narrow the range or use a wider granularity`,
      });
    } else {
      const bucketStarts = Array.from({ length: count }, (_, i) => fromMs + i * scheme.widthMs);
      return {
        fromMs,
        toMs: lastStart + scheme.widthMs,
        scheme,
        bucketStarts,
        currency: input.currency,
        channelId: input.channelId,
        channelLimit: input.channelLimit === 0 ? DEFAULT_CHANNEL_LIMIT : input.channelLimit,
      };
    }
  }
  throw new ValidationError('invalid metrics request', violations);
}

/** Nearest-rank percentile `p` (0–100] of `values`; 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}
