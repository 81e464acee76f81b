/**
 * The token-bucket arithmetic, written once in TypeScript for the memory cache and mirrored
 * operation for operation by the Lua script of the Redis cache (./redis.ts), so both adapters
 * return identical decisions for identical inputs (both compute in IEEE doubles).
 */
import type { RateLimitDecision, TokenBucketSpec } from './types.js';

/**
 * Stored bucket state: milli-tokens (tokens × 1000) as of `updatedAtMs` on the caller's clock.
 * Milli-tokens keep the arithmetic exact for integer clocks and integer refill rates
 * (`elapsedMs × refillPerSecond` milli-tokens accrue per take), so `retryAfterMs` is exact
 * instead of off by one from binary rounding (0.99 tokens is not representable; 990 is).
 */
export interface BucketState {
  readonly milliTokens: number;
  readonly updatedAtMs: number;
}

/** Throws a RangeError naming the bad argument; a rate limiter must not fail open on a typo. */
export function assertBucketArgs(spec: TokenBucketSpec, nowMs: number, cost: number): void {
  if (!(Number.isFinite(spec.capacity) && spec.capacity > 0)) {
    throw new RangeError(`token bucket capacity must be a positive number, got ${spec.capacity}`);
  }
  if (!(Number.isFinite(spec.refillPerSecond) && spec.refillPerSecond > 0)) {
    throw new RangeError(
      `token bucket refillPerSecond must be a positive number, got ${spec.refillPerSecond}`,
    );
  }
  if (!Number.isFinite(nowMs))
    throw new RangeError(`token bucket nowMs must be a finite number, got ${nowMs}`);
  if (!(Number.isFinite(cost) && cost > 0))
    throw new RangeError(`token bucket cost must be a positive number, got ${cost}`);
  if (cost > spec.capacity) {
    throw new RangeError(
      `token bucket cost ${cost} exceeds capacity ${spec.capacity}: it could never be allowed`,
    );
  }
}

/**
 * One take: refill for the time since the last update (never for time going backwards), then
 * take `cost` if available. `remaining` counts whole tokens left; `retryAfterMs` is rounded up
 * so a caller that waits exactly that long is allowed.
 */
export function takeFromBucket(
  state: BucketState | undefined,
  spec: TokenBucketSpec,
  nowMs: number,
  cost: number,
): { state: BucketState; decision: RateLimitDecision } {
  const capacityMilli = spec.capacity * 1000;
  const costMilli = cost * 1000;
  let milliTokens = capacityMilli;
  let updatedAtMs = nowMs;
  if (state !== undefined) {
    const elapsedMs = Math.max(0, nowMs - state.updatedAtMs);
    milliTokens = Math.min(capacityMilli, state.milliTokens + elapsedMs * spec.refillPerSecond);
    updatedAtMs = Math.max(nowMs, state.updatedAtMs);
  }
  if (milliTokens >= costMilli) {
    milliTokens -= costMilli;
    return {
      state: { milliTokens, updatedAtMs },
      decision: { allowed: true, remaining: Math.floor(milliTokens / 1000), retryAfterMs: 0 },
    };
  }
  const retryAfterMs = Math.ceil((costMilli - milliTokens) / spec.refillPerSecond);
  return {
    state: { milliTokens, updatedAtMs },
    decision: { allowed: false, remaining: 0, retryAfterMs },
  };
}

/**
 * How long an untouched bucket is kept: twice the time to refill from empty (at least 1 s).
 * After that it would be full anyway, so dropping it changes no decision (for callers whose
 * clock runs at real speed).
 */
export function bucketTtlMs(spec: TokenBucketSpec): number {
  return Math.max(1000, Math.ceil((2 * spec.capacity * 1000) / spec.refillPerSecond));
}
