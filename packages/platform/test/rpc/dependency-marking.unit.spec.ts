import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { rememberDependencyError, serviceNameOfType } from '../../src/errors/dependency-failure.js';
import { UnavailableError } from '../../src/errors/domain-errors.js';
import { toClientError } from '../../src/errors/error-interceptor.js';
import { createLogger } from '../../src/log/logger.js';

/** The wire marker, spelled out: the contract between services, not an implementation detail. */
const marker = 'x-streambet-failed-dependency';

function answer(code: Code, failedDependency?: string): ConnectError {
  const metadata = new Headers();
  if (failedDependency !== undefined) metadata.set(marker, failedDependency);
  return new ConnectError('answered by the downstream', code, metadata);
}

/** What a service client throws when its call to `dependency` failed with `error`. */
function fromDependency<E>(error: E, dependency: string): E {
  rememberDependencyError(error, dependency);
  return error;
}

describe('a service marks the failures of its dependencies on the wire', () => {
  const logger = createLogger({ service: 'dependency-test', level: 'silent' });
  const context = { logger, requestId: 'r-1', procedure: 'streambet.betengine.v1.X/PlaceBet' };

  it('names the dependency and keeps the code when a dependency error is passed on as it came', () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded] as const) {
      const received = fromDependency(
        new ConnectError('connect ECONNREFUSED 10.1.2.3:8080', code),
        'user',
      );
      const sent = toClientError(received, context);
      expect(sent.code).toBe(code);
      expect(sent.metadata.get(marker)).toBe('user');
      expect(sent.rawMessage).toBe(
        code === Code.Unavailable
          ? 'the user service is unavailable; retry shortly'
          : 'the user service did not answer in time; retry shortly',
      );
      expect(sent.cause).toBe(received);
    }
  });

  it('keeps a domain message written on purpose and adds the marker and retry-after', () => {
    const received = fromDependency(new ConnectError('refused', Code.Unavailable), 'user');
    const sent = toClientError(
      new UnavailableError('the ledger is unavailable; retry shortly', {
        retryAfterMs: 1000,
        cause: received,
      }),
      context,
    );
    expect(sent.code).toBe(Code.Unavailable);
    expect(sent.rawMessage).toBe('the ledger is unavailable; retry shortly (retry after 1s)');
    expect(sent.metadata.get(marker)).toBe('user');
    expect(sent.metadata.get('retry-after')).toBe('1');
  });

  it('blames the deepest failed service: a dependency that itself reported a failed dependency', () => {
    const received = fromDependency(answer(Code.Unavailable, 'ledger'), 'user');
    const sent = toClientError(received, context);
    expect(sent.metadata.get(marker)).toBe('ledger');
    expect(sent.rawMessage).toBe('the ledger service is unavailable; retry shortly');
  });

  it("marks nothing that is the service's own failure or not an outage", () => {
    const own = toClientError(new UnavailableError('bets are still being confirmed'), context);
    expect(own.metadata.get(marker)).toBeNull();

    const database = toClientError(
      Object.assign(new Error('connection terminated'), { code: '08006' }),
      context,
    );
    expect(database.code).toBe(Code.Unavailable);
    expect(database.metadata.get(marker)).toBeNull();

    const notFound = fromDependency(new ConnectError('no market m-1', Code.NotFound), 'pool');
    const passed = toClientError(notFound, context);
    expect(passed).toBe(notFound);
    expect(passed.metadata.get(marker)).toBeNull();
  });
});

describe('serviceNameOfType', () => {
  it('names the deployable a proto service belongs to, bet-engine included', () => {
    expect(serviceNameOfType('streambet.user.v1.LedgerInternalService')).toBe('user');
    expect(serviceNameOfType('streambet.betengine.v1.BetEngineInternalService')).toBe('bet-engine');
    expect(serviceNameOfType('grpc.reflection.v1.ServerReflection')).toBeUndefined();
  });
});
