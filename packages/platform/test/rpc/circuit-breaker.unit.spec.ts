import { Code, ConnectError } from '@connectrpc/connect';
import { manualClock } from '@streambet/testkit/clock';
import { describe, expect, it } from 'vitest';
import {
  classifyOutcome,
  createCircuitBreaker,
  isCircuitOpenError,
} from '../../src/rpc/circuit-breaker.js';

describe('circuit breaker state machine', () => {
  it('opens after N consecutive failures, fails fast, half-opens after the reset timeout, closes on success', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'ledger',
      { failureThreshold: 3, resetTimeoutMs: 5000 },
      { clock },
    );
    breaker.acquire().report('failure');
    breaker.acquire().report('success');
    for (let i = 0; i < 3; i += 1) breaker.acquire().report('failure');
    expect(breaker.state).toBe('open');

    clock.advance(2000);
    let rejection: unknown;
    try {
      breaker.acquire();
    } catch (error) {
      rejection = error;
    }
    expect(isCircuitOpenError(rejection)).toBe(true);
    expect(ConnectError.from(rejection).code).toBe(Code.Unavailable);
    expect(ConnectError.from(rejection).rawMessage).toBe(
      'downstream ledger unavailable (circuit open, retry in 3s)',
    );
    expect(breaker.rejectedCalls).toBe(1);

    clock.advance(3000);
    const probe = breaker.acquire();
    expect(breaker.state).toBe('half-open');
    expect(() => breaker.acquire()).toThrow(/circuit open/);
    probe.report('success');
    expect(breaker.state).toBe('closed');
  });

  it('re-opens when the probe fails, and ignores neutral outcomes', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'pool',
      { failureThreshold: 1, resetTimeoutMs: 1000 },
      { clock },
    );
    breaker.acquire().report('failure');
    clock.advance(1000);
    breaker.acquire().report('failure');
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    breaker.acquire().report('neutral');
    expect(breaker.state).toBe('half-open');
    const probe = breaker.acquire();
    probe.report('success');
    probe.report('failure');
    expect(breaker.state).toBe('closed');
  });

  it('counts only unreachability as failure, not business errors', () => {
    expect(classifyOutcome(new ConnectError('x', Code.Unavailable))).toBe('failure');
    expect(classifyOutcome(new ConnectError('x', Code.DeadlineExceeded))).toBe('failure');
    expect(classifyOutcome(new ConnectError('x', Code.Canceled))).toBe('neutral');
    for (const code of [
      Code.InvalidArgument,
      Code.NotFound,
      Code.FailedPrecondition,
      Code.Internal,
      Code.PermissionDenied,
    ]) {
      expect(classifyOutcome(new ConnectError('x', code))).toBe('success');
    }
    expect(classifyOutcome(undefined)).toBe('success');
  });
});
