/**
 * The analytics service's testing entry: its migrations apply to a fresh database and its contract is
 * served behind its real access policy; GetMetrics answers admins (validating their request).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { createAnalyticsTestService } from '../src/testing.js';

async function failure(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'analytics testing entry on %s',
  (_name, target) => {
    it('migrates its database and enforces its access policy in front of its contract', async () => {
      const db = await target.create();
      try {
        const tokens = await createTestTokens();
        const service = await createAnalyticsTestService({ sql: db.sql, tokens });
        expect(await failure(service.analytics.getMetrics({}))).toBe(Code.Unauthenticated);
        const denied = await failure(
          service.analytics.getMetrics({}, await asUser(tokens, nextUlid(), 'viewer')),
        );
        expect(denied).toBe(Code.PermissionDenied);
        const allowed = await failure(
          service.analytics.getMetrics({}, await asUser(tokens, nextUlid(), 'admin')),
        );
        expect(allowed).toBe(Code.InvalidArgument);
        const applied = await db.sql.query<{ count: string }>(
          'SELECT count(*)::text AS count FROM outbox',
        );
        expect(applied.rows).toEqual([{ count: '0' }]);
      } finally {
        await db.dispose();
      }
    });
  },
);
