/**
 * ExportAuditLog (the admin console's audit export): a time range of one partition comes back as
 * the consecutive seq range covering it, in the format `npm run audit -- verify` checks, with the
 * live head; role grants and revocations (SetUserRole) are in it with their reason; bad ranges,
 * empty ranges and non-admins get the contract's errors.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  UserRegisteredSchema,
  UserRoleGrantedSchema,
  UserRoleRevokedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { testEpochMs } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../src/audit/chain.js';
import { createAnalyticsTestService } from '../src/testing.js';

let tokens: TestTokens;
beforeAll(async () => {
  tokens = await createTestTokens();
});

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
  return 'OK';
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))('audit export on %s', (_n, target) => {
  it('exports a time range as a verifiable chain segment with the live head', async () => {
    const db = await target.create();
    try {
      const service = await createAnalyticsTestService({ sql: db.sql, tokens });
      const adminId = nextUlid();
      const users = [nextUlid(), nextUlid(), nextUlid()];
      const at = (s: number) => ({ occurredAtMs: testEpochMs + s * 1000 });
      await service.ingest([
        ...users.map((userId, i) =>
          envelope(
            'user',
            userId,
            UserRegisteredSchema,
            { metadata: { producer: 'user' }, userId, displayName: `u${i}` },
            at(i + 1),
          ),
        ),
        envelope(
          'user',
          users[0]!,
          UserRoleGrantedSchema,
          {
            metadata: { producer: 'user', actorRole: Role.SERVICE },
            userId: users[0]!,
            role: Role.ADMIN,
            roles: [Role.VIEWER, Role.ADMIN],
            reason: 'first admin, by operator ops@host',
          },
          at(10),
        ),
        envelope(
          'user',
          users[1]!,
          UserRoleRevokedSchema,
          {
            metadata: { producer: 'user', actorUserId: adminId, actorRole: Role.ADMIN },
            userId: users[1]!,
            role: Role.STREAMER,
            roles: [Role.VIEWER],
            reason: 'channel sold',
          },
          at(11),
        ),
      ]);
      const admin = await asUser(tokens, nextUlid(), 'admin');
      const all = await service.analytics.exportAuditLog(
        { partition: 'user', fromMs: BigInt(testEpochMs), toMs: BigInt(testEpochMs + 60_000) },
        admin,
      );
      expect([all.fromSeq, all.toSeq, all.liveHeadSeq]).toEqual([1n, 5n, 5n]);
      expect(all.headHash).toBe(all.liveHeadHash);
      const verified = verifyExport(all.exportJsonl);
      expect(verified).toMatchObject({ ok: true, partition: 'user', fromSeq: 1, toSeq: 5 });
      expect(all.exportJsonl).toContain('first admin, by operator ops@host');
      expect(all.exportJsonl).toContain('channel sold');

      const middle = await service.analytics.exportAuditLog(
        {
          partition: 'user',
          fromMs: BigInt(testEpochMs + 2000),
          toMs: BigInt(testEpochMs + 10_000),
        },
        admin,
      );
      expect([middle.fromSeq, middle.toSeq]).toEqual([2n, 3n]);
      expect(verifyExport(middle.exportJsonl).ok).toBe(true);
      expect(middle.headHash).not.toBe(middle.liveHeadHash);

      const range = (fromS: number, toS: number, partition = 'user') =>
        service.analytics.exportAuditLog(
          {
            partition,
            fromMs: BigInt(testEpochMs + fromS * 1000),
            toMs: BigInt(testEpochMs + toS * 1000),
          },
          admin,
        );
      expect(await codeOf(range(5, 5))).toBe('InvalidArgument');
      expect(await codeOf(range(0, 60, 'Bad Partition'))).toBe('InvalidArgument');
      expect(await codeOf(range(100, 200))).toBe('NotFound');
      expect(await codeOf(range(0, 60, 'market'))).toBe('NotFound');
      const viewer = await asUser(tokens, nextUlid(), 'viewer');
      expect(
        await codeOf(
          service.analytics.exportAuditLog(
            { partition: 'user', fromMs: 0n, toMs: BigInt(testEpochMs + 60_000) },
            viewer,
          ),
        ),
      ).toBe('PermissionDenied');
    } finally {
      await db.dispose();
    }
  });
});
