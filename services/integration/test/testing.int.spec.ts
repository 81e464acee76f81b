/**
 * The integration service's testing entry: its migrations apply to a fresh database and its RPCs are
 * served behind its real access policy (anonymous → UNAUTHENTICATED for owner-only calls, viewers
 * may not unlink, a streamer's malformed request → INVALID_ARGUMENT; nothing written).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createIntegrationTestService } from '../src/testing.js';

async function failure(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'integration testing entry on %s',
  (_name, target) => {
    it('migrates its database and enforces its access policy in front of its contract', async () => {
      const db = await target.create();
      try {
        const tokens = await createTestTokens();
        const service = await createIntegrationTestService({ sql: db.sql, tokens });
        onTestFinished(() => service.close());
        expect(await failure(service.integration.unlinkChannel({}))).toBe(Code.Unauthenticated);
        const denied = await failure(
          service.integration.unlinkChannel({}, await asUser(tokens, nextUlid(), 'viewer')),
        );
        expect(denied).toBe(Code.PermissionDenied);
        const allowed = await failure(
          service.integration.unlinkChannel({}, await asUser(tokens, nextUlid(), 'streamer')),
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
