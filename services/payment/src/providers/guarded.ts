/**
 * A provider behind its own circuit breaker (the platform's): after `failureThreshold` calls in a
 * row that got no answer, calls to that provider fail at once with ProviderUnavailableError
 * ("circuit open") until a probe succeeds, so a Stripe outage makes card deposits answer
 * UNAVAILABLE quickly while Pix, bets and settlement carry on. Refusals (4xx) prove the provider
 * is up and count as successes.
 */
import type { Counter } from 'prom-client';
import {
  createCircuitBreaker,
  type CircuitBreaker,
  type Clock,
} from '@streambet/platform/rpc/circuit-breaker';
import type { Logger } from '@streambet/platform/log/logger';
import { ProviderUnavailableError, type PaymentProviderPort } from './types.js';

/** Options of {@link guardProvider}. */
export interface GuardOptions {
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Consecutive unanswered calls that open the circuit; default 5. */
  readonly failureThreshold?: number;
  /** How long it stays open before a probe; default 2000 ms (doubling to 30 s while probes fail). */
  readonly resetTimeoutMs?: number;
  /** payment_provider_calls_total{provider, outcome}. */
  readonly calls?: Counter<'provider' | 'outcome'>;
}

/** The guarded provider and its breaker (for readiness and tests). */
export interface GuardedProvider {
  readonly port: PaymentProviderPort;
  readonly breaker: CircuitBreaker;
}

/** Wraps every call of `inner` in one breaker named after its provider. */
export function guardProvider(inner: PaymentProviderPort, options: GuardOptions): GuardedProvider {
  const breaker = createCircuitBreaker(
    `provider ${inner.provider}`,
    {
      failureThreshold: options.failureThreshold ?? 5,
      resetTimeoutMs: options.resetTimeoutMs ?? 2000,
      maxResetTimeoutMs: 30_000,
    },
    { clock: options.clock, ...(options.logger === undefined ? {} : { logger: options.logger }) },
  );
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      let permit;
      try {
        permit = breaker.acquire();
      } catch (error) {
        options.calls?.inc({ provider: inner.provider, outcome: 'circuit_open' });
        throw new ProviderUnavailableError(inner.provider, (error as Error).message, {
          cause: error,
        });
      }
      try {
        const result = await call(...args);
        permit.report('success');
        options.calls?.inc({ provider: inner.provider, outcome: 'ok' });
        return result;
      } catch (error) {
        const unavailable = error instanceof ProviderUnavailableError;
        permit.report(unavailable ? 'failure' : 'success');
        options.calls?.inc({
          provider: inner.provider,
          outcome: unavailable ? 'unavailable' : 'refused',
        });
        throw error;
      }
    };
  return {
    breaker,
    port: {
      provider: inner.provider,
      createDeposit: guard((charge) => inner.createDeposit(charge)),
      getDeposit: guard((reference) => inner.getDeposit(reference)),
      cancelDeposit: guard((reference) => inner.cancelDeposit(reference)),
      createPayout: guard((request) => inner.createPayout(request)),
      getPayout: guard((reference, destination) => inner.getPayout(reference, destination)),
    },
  };
}
