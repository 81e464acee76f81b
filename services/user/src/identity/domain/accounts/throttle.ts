/**
 * Failed-login throttling per email (user.proto Login: RESOURCE_EXHAUSTED after too many failed
 * attempts, with the time to retry). A fixed window opens at the first failure; once it holds
 * `maxFailures`, further attempts are refused until the window ends. Unknown emails count too, so
 * the answer never reveals whether an account exists.
 */

/** Throttle settings. */
export interface LoginThrottlePolicy {
  /** Failures allowed in one window before attempts are refused. */
  readonly maxFailures: number;
  /** Window length in ms. */
  readonly windowMs: number;
}

/** Default: 5 failures per 15 minutes. */
export const defaultLoginThrottle: LoginThrottlePolicy = Object.freeze({
  maxFailures: 5,
  windowMs: 15 * 60_000,
});

/** Failures recorded for one email. */
export interface LoginFailures {
  readonly windowStartedAtMs: number;
  readonly failures: number;
}

/** How long to refuse attempts at `nowMs` (0 = allowed). */
export function loginRetryAfterMs(
  state: LoginFailures | undefined,
  nowMs: number,
  policy: LoginThrottlePolicy,
): number {
  if (state === undefined) return 0;
  const windowEnd = state.windowStartedAtMs + policy.windowMs;
  if (nowMs >= windowEnd || state.failures < policy.maxFailures) return 0;
  return windowEnd - nowMs;
}
