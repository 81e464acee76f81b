import { Code, ConnectError } from '@connectrpc/connect';
import { manualClock } from '@streambet/testkit/clock';
import { describe, expect, it } from 'vitest';
import { classifyOutcome, createCircuitBreaker } from '../../src/rpc/circuit-breaker.js';

/** The wire marker, spelled out: the contract between services, not an implementation detail. */
const marker = 'x-streambet-failed-dependency';

function answer(code: Code, failedDependency?: string): ConnectError {
  const metadata = new Headers();
  if (failedDependency !== undefined) metadata.set(marker, failedDependency);
  return new ConnectError('answered by the downstream', code, metadata);
}

describe('a circuit breaker counts only its own target failing', () => {
  it('never opens on answers marked as a dependency failure, however many', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'bet-engine',
      { failureThreshold: 3, resetTimeoutMs: 1000 },
      { clock },
    );
    for (let i = 0; i < 50; i += 1) {
      breaker.acquire().report(classifyOutcome(answer(Code.Unavailable, 'user')));
      breaker.acquire().report(classifyOutcome(answer(Code.DeadlineExceeded, 'pool')));
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.rejectedCalls).toBe(0);
  });

  it('opens on unmarked UNAVAILABLE / DEADLINE_EXCEEDED, and on a malformed marker', () => {
    for (const failure of [
      answer(Code.Unavailable),
      answer(Code.DeadlineExceeded),
      new ConnectError('connect ECONNREFUSED 127.0.0.1:4001', Code.Unavailable),
      answer(Code.Unavailable, 'user:8080'),
      answer(Code.Unavailable, ''),
    ]) {
      const breaker = createCircuitBreaker(
        'bet-engine',
        { failureThreshold: 3, resetTimeoutMs: 1000 },
        { clock: manualClock() },
      );
      for (let i = 0; i < 3; i += 1) breaker.acquire().report(classifyOutcome(failure));
      expect(breaker.state).toBe('open');
    }
  });

  it('a marked answer between own failures resets the count; as a probe it closes the circuit', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'bet-engine',
      { failureThreshold: 2, resetTimeoutMs: 1000 },
      { clock },
    );
    breaker.acquire().report(classifyOutcome(answer(Code.Unavailable)));
    breaker.acquire().report(classifyOutcome(answer(Code.Unavailable, 'user')));
    breaker.acquire().report(classifyOutcome(answer(Code.Unavailable)));
    expect(breaker.state).toBe('closed');
    breaker.acquire().report(classifyOutcome(answer(Code.Unavailable)));
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    breaker.acquire().report(classifyOutcome(answer(Code.Unavailable, 'user')));
    expect(breaker.state).toBe('closed');
  });

  it('a marker on any other code changes nothing', () => {
    expect(classifyOutcome(answer(Code.Internal, 'user'))).toBe('success');
    expect(classifyOutcome(answer(Code.Canceled, 'user'))).toBe('neutral');
  });
});

describe('half-open probes: short reset, doubling on failed probes up to a cap', () => {
  it('probes after 500 ms, then 1 s, 1 s; a successful probe closes and resets the backoff', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'user',
      { failureThreshold: 1, resetTimeoutMs: 500, maxResetTimeoutMs: 1000 },
      { clock },
    );
    const probeAfter = (ms: number, outcome: 'success' | 'failure'): void => {
      clock.advance(ms - 1);
      expect(() => breaker.acquire()).toThrow(/circuit open, retry in 1s/);
      clock.advance(1);
      breaker.acquire().report(outcome);
    };
    breaker.acquire().report('failure');
    probeAfter(500, 'failure');
    probeAfter(1000, 'failure');
    probeAfter(1000, 'success');
    expect(breaker.state).toBe('closed');
    breaker.acquire().report('failure');
    probeAfter(500, 'success');
    expect(breaker.state).toBe('closed');
  });

  it('the circuit-open error tells callers when to come back (retry-after)', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker(
      'user',
      { failureThreshold: 1, resetTimeoutMs: 2500 },
      { clock },
    );
    breaker.acquire().report('failure');
    let rejection: unknown;
    try {
      breaker.acquire();
    } catch (error) {
      rejection = error;
    }
    expect(ConnectError.from(rejection).metadata.get('retry-after')).toBe('3');
  });
});
