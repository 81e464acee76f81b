import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { toEdgeError } from '../src/forward.js';

const marker = 'x-streambet-failed-dependency';

function fromBetEngine(code: Code, message: string, failedDependency?: string): ConnectError {
  const metadata = new Headers({ 'content-type': 'application/grpc', 'retry-after': '1' });
  if (failedDependency !== undefined) metadata.set(marker, failedDependency);
  return new ConnectError(message, code, metadata);
}

function edge(error: ConnectError): ConnectError {
  return ConnectError.from(toEdgeError(error, 'bet-engine'));
}

describe('toEdgeError names the service that failed', () => {
  it('the dependency the downstream reported, when the downstream itself is up', () => {
    const unavailable = edge(
      fromBetEngine(Code.Unavailable, 'the ledger is unavailable; retry shortly', 'user'),
    );
    expect(unavailable.code).toBe(Code.Unavailable);
    expect(unavailable.rawMessage).toBe(
      'the user service is temporarily unavailable; retry shortly',
    );
    expect(unavailable.metadata.get(marker)).toBe('user');
    expect(unavailable.metadata.get('retry-after')).toBe('1');
    expect(unavailable.metadata.get('content-type')).toBeNull();

    const late = edge(fromBetEngine(Code.DeadlineExceeded, 'user:8080 timed out', 'user'));
    expect(late.code).toBe(Code.DeadlineExceeded);
    expect(late.rawMessage).toBe('the user service did not answer in time; retry shortly');
    expect(late.metadata.get(marker)).toBe('user');
  });

  it('the downstream, when it failed itself or the marker is not a service name', () => {
    for (const failedDependency of [undefined, 'user.svc:8080']) {
      const error = edge(
        fromBetEngine(Code.Unavailable, 'connect ECONNREFUSED 10.0.0.7:8080', failedDependency),
      );
      expect(error.rawMessage).toBe(
        'the bet-engine service is temporarily unavailable; retry shortly',
      );
      expect(error.metadata.get(marker)).toBeNull();
    }
  });
});
