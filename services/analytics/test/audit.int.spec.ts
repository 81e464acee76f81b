/**
 * The audit log: regulated state changes from every family become entries (once per event,
 * personal data redacted, odds not audited), searchable by subject, actor and time with cursor
 * pages; the table refuses UPDATE and DELETE; an exported range verifies, and altering any single
 * byte of it makes verification fail — through the `npm run audit -- verify` command too.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Code, ConnectError } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  BetPlacedSchema,
  BetVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { MarketResolvedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  KycStatusChangedSchema,
  UserFrozenSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { KycStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { testEpochMs } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { realServers } from '@streambet/testkit/env';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatExport, verifyExport } from '../src/audit/chain.js';
import { auditHead, readAuditRange } from '../src/audit/store.js';
import { createAuditConsumer } from '../src/consumers.js';
import { createAnalyticsTestService } from '../src/testing.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
let tokens: TestTokens;
beforeAll(async () => {
  tokens = await createTestTokens();
});

const adminId = nextUlid();
const userId = nextUlid();
const marketId = nextUlid();
const betId = nextUlid();

function script(): EventEnvelope[] {
  const at = (s: number) => ({ occurredAtMs: testEpochMs + s * 1000 });
  const asAdmin = { actorUserId: adminId, actorRole: Role.ADMIN, producer: 'user' };
  return [
    envelope(
      'user',
      userId,
      UserRegisteredSchema,
      {
        metadata: { producer: 'user', actorUserId: userId, actorRole: Role.VIEWER },
        userId,
        email: 'someone@example.com',
        displayName: 'someone',
      },
      at(1),
    ),
    envelope(
      'bet',
      marketId,
      BetPlacedSchema,
      {
        metadata: {
          producer: 'bet-engine',
          actorUserId: userId,
          actorRole: Role.VIEWER,
          traceParent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`,
        },
        betId,
        marketId,
        userId,
        currency: 'PTS',
        stakeMinor: 500n,
      },
      at(2),
    ),
    envelope('odds', marketId, OddsChangedSchema, { channelId: nextUlid() }, at(3)),
    envelope(
      'market',
      marketId,
      MarketResolvedSchema,
      {
        metadata: { ...asAdmin, producer: 'pool' },
        marketId,
        currency: 'PTS',
      },
      at(4),
    ),
    envelope(
      'bet',
      marketId,
      BetVoidedSchema,
      {
        metadata: { producer: 'bet-engine' },
        betId,
        marketId,
        userId,
        currency: 'PTS',
      },
      at(5),
    ),
    envelope(
      'user',
      userId,
      KycStatusChangedSchema,
      {
        metadata: asAdmin,
        userId,
        kycCaseId: 'kyc-1',
        status: KycStatus.REJECTED,
        reason: 'document unreadable',
      },
      at(6),
    ),
    envelope(
      'user',
      userId,
      UserFrozenSchema,
      {
        metadata: asAdmin,
        userId,
        reason: 'chargeback investigation',
      },
      at(7),
    ),
  ];
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
  return 'OK';
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))('audit log on %s', (_n, target) => {
  it('records each regulated change once, with actor, subject and reason, searchable by subject, actor and time', async () => {
    const db = await target.create();
    try {
      const service = await createAnalyticsTestService({ sql: db.sql, tokens });
      const events = script();
      await service.ingest(events);
      await service.ingest([events[1]!, events[6]!]); // redelivered
      const admin = await asUser(tokens, nextUlid(), 'admin');
      const all = await service.analytics.queryAuditLog({}, admin);
      expect(all.entries.map((e) => e.action.replace('streambet.events.v1.', ''))).toEqual([
        'UserFrozen',
        'KycStatusChanged',
        'BetVoided',
        'MarketResolved',
        'BetPlaced',
        'UserRegistered',
      ]);
      const frozen = all.entries[0]!;
      expect(frozen).toMatchObject({
        actorType: 1,
        actorUserId: adminId,
        actorRole: Role.ADMIN,
        actorService: 'user',
        subjectType: 'user',
        subjectId: userId,
        reason: 'chargeback investigation',
        sourceEventId: events[6]!.id,
      });
      const registered = all.entries.at(-1)!;
      expect(registered.detailsJson).not.toContain('someone@example.com');
      expect(JSON.parse(registered.detailsJson)).toMatchObject({ email: '[redacted]' });
      const voided = all.entries[2]!;
      expect([voided.actorType, voided.actorUserId, voided.actorService]).toEqual([
        2,
        '',
        'bet-engine',
      ]);
      expect(all.entries[4]!.traceId).toBe('ab'.repeat(16));
      expect(all.entries[1]).toMatchObject({ subjectType: 'kyc_case', subjectId: 'kyc-1' });

      const bet = await service.analytics.queryAuditLog(
        { subjectType: 'bet', subjectId: betId, oldestFirst: true },
        admin,
      );
      expect(bet.entries.map((e) => e.action)).toEqual([
        'streambet.events.v1.BetPlaced',
        'streambet.events.v1.BetVoided',
      ]);
      const byAdmin = await service.analytics.queryAuditLog({ actorUserId: adminId }, admin);
      expect(byAdmin.entries).toHaveLength(3);
      const window = await service.analytics.queryAuditLog(
        { fromMs: BigInt(testEpochMs + 2000), toMs: BigInt(testEpochMs + 5000) },
        admin,
      );
      expect(window.entries.map((e) => e.occurredAtMs)).toEqual([
        BigInt(testEpochMs + 4000),
        BigInt(testEpochMs + 2000),
      ]);
      const actions = await service.analytics.queryAuditLog(
        { actions: ['streambet.events.v1.UserFrozen', 'streambet.events.v1.BetPlaced'] },
        admin,
      );
      expect(actions.entries).toHaveLength(2);

      const seen: string[] = [];
      let token = '';
      do {
        const page = await service.analytics.queryAuditLog(
          { oldestFirst: true, page: { pageSize: 4, pageToken: token } },
          admin,
        );
        seen.push(...page.entries.map((e) => e.entryId));
        token = page.page?.nextPageToken ?? '';
      } while (token !== '');
      expect(seen).toEqual(all.entries.map((e) => e.entryId).reverse());

      for (const bad of [
        { subjectId: betId },
        { fromMs: 10n, toMs: 10n },
        { page: { pageToken: 'garbage' } },
        { page: { pageSize: 201 } },
      ]) {
        expect({ bad, code: await codeOf(service.analytics.queryAuditLog(bad, admin)) }).toEqual({
          bad,
          code: 'InvalidArgument',
        });
      }
      const viewer = await asUser(tokens, nextUlid(), 'viewer');
      expect(await codeOf(service.analytics.queryAuditLog({}, viewer))).toBe('PermissionDenied');
    } finally {
      await db.dispose();
    }
  });

  it('refuses to change or delete an entry', async () => {
    const db = await target.create();
    try {
      const service = await createAnalyticsTestService({ sql: db.sql, tokens });
      await service.ingest(script());
      await expect(
        db.sql.query("UPDATE audit_log SET reason = 'nothing happened'"),
      ).rejects.toThrow(/append-only/);
      await expect(db.sql.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
      expect((await db.sql.query('SELECT count(*)::int AS n FROM audit_log')).rows).toEqual([
        { n: 6 },
      ]);
    } finally {
      await db.dispose();
    }
  });

  it('concurrent appends to one partition keep one unbroken chain', async () => {
    const db = await target.create();
    try {
      await createAnalyticsTestService({ sql: db.sql, tokens });
      const consumer = createAuditConsumer({ clock: { now: () => testEpochMs } });
      if (!('handle' in consumer)) throw new Error('the audit consumer runs in the inbox');
      const events = Array.from({ length: 30 }, (_, i) =>
        envelope('bet', nextUlid(), BetPlacedSchema, {
          betId: nextUlid(),
          stakeMinor: BigInt(i + 1),
        }),
      );
      await Promise.all(
        [...events, ...events.slice(0, 5)].map((event) =>
          handleOnce(db.sql, 'analytics.audit', event, (tx) => consumer.handle(event, tx)),
        ),
      );
      const head = await auditHead(db.sql, 'bet');
      expect(head.seq).toBe(30);
      const result = verifyExport(formatExport(await readAuditRange(db.sql, 'bet', 1, 30)));
      expect(result).toMatchObject({ ok: true, fromSeq: 1, toSeq: 30, headHash: head.hash });
    } finally {
      await db.dispose();
    }
  });

  it('group-committed deliveries append each event once and keep every chain unbroken', async () => {
    const db = await target.create();
    try {
      await createAnalyticsTestService({ sql: db.sql, tokens });
      const consumer = createAuditConsumer({ clock: { now: () => testEpochMs }, sql: db.sql });
      if (!('handleIdempotently' in consumer))
        throw new Error('the audit consumer batches with sql');
      const bets = Array.from({ length: 40 }, (_, i) =>
        envelope('bet', nextUlid(), BetPlacedSchema, {
          betId: nextUlid(),
          stakeMinor: BigInt(i + 1),
        }),
      );
      const users = Array.from({ length: 10 }, () => {
        const id = nextUlid();
        return envelope('user', id, UserRegisteredSchema, {
          metadata: { producer: 'user', actorUserId: id, actorRole: Role.VIEWER },
          userId: id,
          email: `${id.toLowerCase()}@example.com`,
          displayName: 'someone',
        });
      });
      // Two partitions at once, and redeliveries of some events while the first are in flight.
      const events = [...bets, ...users];
      await Promise.all(
        [...events, ...bets.slice(0, 5), ...users.slice(0, 2)].map((event) =>
          consumer.handleIdempotently(event),
        ),
      );
      // And again once they are stored: nothing is appended twice.
      await Promise.all(events.slice(0, 10).map((event) => consumer.handleIdempotently(event)));
      for (const [partition, count] of [
        ['bet', 40],
        ['user', 10],
      ] as const) {
        const head = await auditHead(db.sql, partition);
        expect(head.seq).toBe(count);
        const result = verifyExport(
          formatExport(await readAuditRange(db.sql, partition, 1, count)),
        );
        expect(result).toMatchObject({ ok: true, toSeq: count, headHash: head.hash });
      }
      const logged = await db.sql.query<{ source_event_id: string }>(
        'SELECT source_event_id FROM audit_log',
      );
      expect(logged.rows.map((row) => row.source_event_id).sort()).toEqual(
        events.map((event) => event.id).sort(),
      );
    } finally {
      await db.dispose();
    }
  });

  it('an exported range verifies, and altering any one byte of it fails verification', async () => {
    const db = await target.create();
    try {
      const service = await createAnalyticsTestService({ sql: db.sql, tokens });
      await service.ingest(script());
      const head = await auditHead(db.sql, 'user');
      expect(head.seq).toBe(2);
      const exported = formatExport(await readAuditRange(db.sql, 'user', 1, head.seq));
      expect(verifyExport(exported)).toEqual({
        ok: true,
        partition: 'user',
        fromSeq: 1,
        toSeq: 2,
        entries: 2,
        headHash: head.hash,
      });
      const bytes = Buffer.from(exported, 'utf8');
      let undetected = 0;
      for (let i = 0; i < bytes.length; i += 1) {
        const altered = Buffer.from(bytes);
        altered[i] = altered[i] === 0x41 ? 0x42 : 0x41; // 'A' or 'B'
        if (verifyExport(altered.toString('utf8')).ok) undetected += 1;
      }
      expect({ bytes: bytes.length, undetected }).toEqual({ bytes: bytes.length, undetected: 0 });
      const lines = exported.trimEnd().split('\n');
      expect(verifyExport(`${[lines[0], lines[2]].join('\n')}\n`)).toMatchObject({ ok: false });
    } finally {
      await db.dispose();
    }
  });
});

describe('npm run audit -- verify', () => {
  it('exits 0 on an intact export and 1, naming the line, on one altered byte', async () => {
    const db = await sqlTargets()[0]!.create();
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-audit-'));
    try {
      const service = await createAnalyticsTestService({ sql: db.sql, tokens });
      await service.ingest(script());
      const exported = formatExport(await readAuditRange(db.sql, 'bet', 1, 2));
      const good = path.join(dir, 'bet.jsonl');
      const bad = path.join(dir, 'bet-altered.jsonl');
      fs.writeFileSync(good, exported);
      expect(exported).toContain('\\"stakeMinor\\":\\"500\\"');
      fs.writeFileSync(
        bad,
        exported.replace('\\"stakeMinor\\":\\"500\\"', '\\"stakeMinor\\":\\"900\\"'),
      );
      const run = promisify(execFile);
      const ok = await run('npm', ['run', '-s', 'audit', '--', 'verify', good], { cwd: repoRoot });
      expect(ok.stdout).toContain('verified: partition bet, seq 1–2 (2 entries)');
      const failed = await run('npm', ['run', '-s', 'audit', '--', 'verify', bad], {
        cwd: repoRoot,
      }).then(
        () => undefined,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toContain('NOT VERIFIED: line 2 (seq 1): hash does not match');
    } finally {
      await db.dispose();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(realServers.postgresUrl === '')(
  `npm run audit -- export / head on PostgreSQL${realServers.postgresUrl === '' ? ` (${POSTGRES_SKIP_REASON})` : ''}`,
  () => {
    it('exports a partition that verifies against the live head', async () => {
      const target = sqlTargets().find((t) => t.name === 'postgres')!;
      const db = await target.create();
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-audit-'));
      try {
        const service = await createAnalyticsTestService({ sql: db.sql, tokens });
        await service.ingest(script());
        const run = promisify(execFile);
        const args = ['--database-url', db.url!, '--partition', 'user'];
        const exported = await run('npm', ['run', '-s', 'audit', '--', 'export', ...args], {
          cwd: repoRoot,
        });
        const file = path.join(dir, 'user.jsonl');
        fs.writeFileSync(file, exported.stdout);
        const head = await run('npm', ['run', '-s', 'audit', '--', 'head', ...args], {
          cwd: repoRoot,
        });
        const live = await auditHead(db.sql, 'user');
        expect(head.stdout.trim()).toBe(`user: seq 2, hash ${live.hash}`);
        const verified = await run('npm', ['run', '-s', 'audit', '--', 'verify', file], {
          cwd: repoRoot,
        });
        expect(verified.stdout).toContain(`seq 1–2 (2 entries), head hash ${live.hash}`);
      } finally {
        await db.dispose();
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    });
  },
);
