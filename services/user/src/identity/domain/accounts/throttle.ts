/**
 * Failed-login throttling (user.proto Login: RESOURCE_EXHAUSTED after too many failed attempts,
 * with the time to retry), in two layers so that nobody can lock a real user out:
 *
 * - per (email, client address): a small budget (5 per 15 min). A guesser at one address is
 *   stopped; the same email from any other address is not affected, so the user's own login
 *   from their own network still works.
 * - per email across all addresses: a slower ceiling (50 per hour) that slows a distributed
 *   credential-stuffing run. An address that logged in to the account recently (a known address)
 *   is exempt from it, so spreading failures over many addresses cannot lock the owner out either.
 *
 * Each layer is a fixed window that opens at its first failure; once it holds `maxFailures`,
 * further attempts are refused until the window ends. Unknown emails count the same way, so the
 * answer never reveals whether an account exists.
 */

/** One fixed-window limit. */
export interface FailureWindow {
  /** Failures allowed in one window before attempts are refused. */
  readonly maxFailures: number;
  /** Window length in ms. */
  readonly windowMs: number;
}

/** Throttle settings. */
export interface LoginThrottlePolicy {
  /** Failures one client address may make against one email. */
  readonly perAddress: FailureWindow;
  /** Failures against one email from every address together (known addresses exempt). */
  readonly perEmail: FailureWindow;
  /** How long after a successful login from an address it counts as known, in ms. */
  readonly knownAddressMs: number;
}

/** Default: 5 failures per 15 minutes per address, 50 per hour per email, known for 30 days. */
export const defaultLoginThrottle: LoginThrottlePolicy = Object.freeze({
  perAddress: Object.freeze({ maxFailures: 5, windowMs: 15 * 60_000 }),
  perEmail: Object.freeze({ maxFailures: 50, windowMs: 60 * 60_000 }),
  knownAddressMs: 30 * 24 * 3600_000,
});

/** Failures recorded in one window. */
export interface LoginFailures {
  readonly windowStartedAtMs: number;
  readonly failures: number;
}

/** What is recorded about an email when a login attempt comes in. */
export interface LoginAttemptHistory {
  /** Failures of this email from this address. */
  readonly fromAddress: LoginFailures | undefined;
  /** Failures of this email from every address. */
  readonly forEmail: LoginFailures | undefined;
  /** When this address last logged in to this email successfully, if ever. */
  readonly lastSuccessFromAddressAtMs: number | undefined;
}

/** A refused attempt: which limit refused it and for how long. */
export interface LoginRefusal {
  readonly scope: 'address' | 'email';
  readonly retryAfterMs: number;
}

/** How long one window refuses attempts at `nowMs` (0 = allowed). */
export function loginRetryAfterMs(
  state: LoginFailures | undefined,
  nowMs: number,
  window: FailureWindow,
): number {
  if (state === undefined) return 0;
  const windowEnd = state.windowStartedAtMs + window.windowMs;
  if (nowMs >= windowEnd || state.failures < window.maxFailures) return 0;
  return windowEnd - nowMs;
}

/** Whether an attempt at `nowMs` may check the password; the refusal otherwise. */
export function decideLoginAttempt(
  history: LoginAttemptHistory,
  nowMs: number,
  policy: LoginThrottlePolicy,
): LoginRefusal | undefined {
  const fromAddress = loginRetryAfterMs(history.fromAddress, nowMs, policy.perAddress);
  if (fromAddress > 0) return { scope: 'address', retryAfterMs: fromAddress };
  const known =
    history.lastSuccessFromAddressAtMs !== undefined &&
    nowMs - history.lastSuccessFromAddressAtMs < policy.knownAddressMs;
  if (known) return undefined;
  const forEmail = loginRetryAfterMs(history.forEmail, nowMs, policy.perEmail);
  return forEmail > 0 ? { scope: 'email', retryAfterMs: forEmail } : undefined;
}
