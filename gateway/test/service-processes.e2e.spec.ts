import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, Code, ConnectError } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { SettlementService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  generateServiceKeys,
  generateSigningKeyPair,
  type ServiceKeys,
  type SigningKeyPair,
} from '@streambet/platform/auth/tokens';
import { realServers } from '@streambet/testkit/env';
import { spawnService, type ServiceProcess } from '@streambet/testkit/process';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestUrl } from '@streambet/testkit/sql';

/** Every deployable's cluster-mode entry point. */
const entryPoints = {
  user: 'services/user/src/main.ts',
  'bet-engine': 'services/bet-engine/src/main.ts',
  pool: 'services/pool/src/main.ts',
  settlement: 'services/settlement/src/main.ts',
  payment: 'services/payment/src/main.ts',
  integration: 'services/integration/src/main.ts',
  realtime: 'services/realtime/src/main.ts',
  analytics: 'services/analytics/src/main.ts',
  gateway: 'gateway/src/main.ts',
} as const;

/** Spawning tsx processes (and PGlite's first start) is slow on 2 cores shared with other work. */
const processTimeoutMs = 180_000;

let keys: SigningKeyPair;
let serviceKeys: ServiceKeys;
const running: ServiceProcess[] = [];
beforeAll(async () => {
  keys = await generateSigningKeyPair('process-test');
  serviceKeys = await generateServiceKeys(Object.keys(entryPoints));
});
afterAll(async () => {
  for (const proc of running) {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await proc.exited;
  }
});

function start(entry: string, env: Record<string, string>): ServiceProcess {
  const proc = spawnService(entry, env);
  running.push(proc);
  return proc;
}

/** `service`'s own signing key and every service's public key. */
function keyEnv(service: keyof typeof entryPoints): Record<string, string> {
  return {
    SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(serviceKeys.privateJwks[service]),
    SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(serviceKeys.publicJwks),
  };
}

/** The code of SettlementService.GetSettlement for a market nobody created (NOT_FOUND from the service). */
async function getSettlementCode(baseUrl: string): Promise<Code> {
  try {
    await createClient(SettlementService, createGrpcTransport({ baseUrl })).getSettlement({
      marketId: 'm-1',
    });
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error('GetSettlement unexpectedly succeeded');
}

describe('every deployable as its own process', () => {
  it(
    'given a bad PORT and (for services) no service key, when it starts, then it exits 78 naming each variable',
    async () => {
      const results = await Promise.all(
        Object.entries(entryPoints).map(async ([name, entry]) => {
          const proc = start(entry, { PORT: 'eighty' });
          const code = await proc.exited;
          return { name, code, stderr: proc.stderr() };
        }),
      );
      for (const { name, code, stderr } of results) {
        expect({ name, code }).toEqual({ name, code: 78 });
        expect(stderr).toMatch(/PORT: "eighty" is invalid \(must be a whole number\)/);
        if (name !== 'gateway') {
          expect(stderr).toContain('SERVICE_TOKEN_PRIVATE_JWK: is not set');
          expect(stderr).toContain('SERVICE_TOKEN_PUBLIC_JWKS: is not set');
        }
      }
    },
    processTimeoutMs,
  );

  it(
    'given no STREAMBET_MODE (cluster, the default) and none of the real dependencies, when a service or the gateway starts, then it exits 78 naming each missing one',
    async () => {
      const [user, gateway] = await Promise.all(
        (['user', 'gateway'] as const).map(async (name) => {
          const proc = start(entryPoints[name], {
            ...keyEnv(name),
            USER_TOKEN_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
            KYC_WEBHOOK_SECRET: 'whsec_process_test_0123',
            DEVICE_ID_HASH_KEY: 'device-key-process-test',
            HOST: '127.0.0.1',
            PORT: '0',
          });
          return { code: await proc.exited, stderr: proc.stderr() };
        }),
      );
      expect(user!.code, user!.stderr).toBe(78);
      expect(user!.stderr).toMatch(/^ {2}DATABASE_URL: is not set but STREAMBET_MODE=cluster/m);
      expect(user!.stderr).toMatch(/^ {2}EVENT_BUS: is memory .* but STREAMBET_MODE=cluster/m);
      expect(user!.stderr).toMatch(/^ {2}CACHE: is memory .* but STREAMBET_MODE=cluster/m);
      expect(gateway!.code, gateway!.stderr).toBe(78);
      expect(gateway!.stderr).toMatch(/^ {2}CACHE: is memory .* but STREAMBET_MODE=cluster/m);
      expect(gateway!.stderr).not.toContain('DATABASE_URL');
    },
    processTimeoutMs,
  );

  it(
    'given embedded storage and a bus that is down, then it serves calls, readiness names the bus and its consumers, and SIGTERM stops it cleanly',
    async () => {
      const dataDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-proc-'));
      try {
        const pool = start(entryPoints.pool, {
          ...keyEnv('pool'),
          // PGlite under DATA_DIR is allowed in embedded mode only.
          STREAMBET_MODE: 'embedded',
          HOST: '127.0.0.1',
          PORT: '0',
          DATA_DIR: dataDir,
          EVENT_BUS: 'redis-streams',
          // Nothing listens on port 1: the bus cannot connect.
          REDIS_URL: 'redis://127.0.0.1:1',
        });
        const ready = await pool.waitForLog('service ready');
        const url = String(ready.url);
        const unknownMarket = await createClient(PoolService, createGrpcTransport({ baseUrl: url }))
          .getMarket({ marketId: 'no-such-market' })
          .then(
            () => undefined,
            (error: unknown) => ConnectError.from(error).code,
          );
        expect(unknownMarket).toBe(Code.NotFound);
        const probe = await fetch(`${url}/health/ready`);
        expect(probe.status).toBe(503);
        const body = (await probe.json()) as { status: string; failing: Record<string, string> };
        expect(body.status).toBe('failing');
        // The pool's event consumers cannot subscribe yet: readiness names them too.
        expect(Object.keys(body.failing)).toEqual(expect.arrayContaining(['bus', 'consumers']));
        expect(Object.keys(body.failing)).not.toContain('database');
        pool.child.kill('SIGTERM');
        expect(await pool.exited).toBe(0);
        expect(pool.stdout()).toContain('"msg":"service stopped"');
      } finally {
        await fs.promises.rm(dataDir, { recursive: true, force: true });
      }
    },
    processTimeoutMs,
  );

  const postgres = sqlTargets().find((target) => target.name === 'postgres');
  describe.skipIf(postgres === undefined || realServers.redisUrl === '')(
    `cluster mode on real PostgreSQL, Redis Streams and Redis cache${postgres === undefined ? ` (${POSTGRES_SKIP_REASON})` : realServers.redisUrl === '' ? ' (skipped: TEST_REDIS_URL not set)' : ''}`,
    () => {
      let database: SqlTestUrl;
      beforeAll(async () => {
        database = await postgres!.createUrl();
      });
      afterAll(async () => {
        for (const proc of running) {
          if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
          await proc.exited;
        }
        await database?.dispose();
      });

      it(
        'given a service and the gateway as separate processes, then the service is ready on PostgreSQL and Redis, calls flow through the gateway, and both stop on SIGTERM',
        async () => {
          const settlement = start(entryPoints.settlement, {
            ...keyEnv('settlement'),
            STREAMBET_MODE: 'cluster',
            HOST: '127.0.0.1',
            PORT: '0',
            DATABASE_URL: database.url,
            EVENT_BUS: 'redis-streams',
            CACHE: 'redis',
            REDIS_URL: realServers.redisUrl,
          });
          const settlementUrl = String((await settlement.waitForLog('service ready')).url);
          const probe = await fetch(`${settlementUrl}/health/ready`);
          expect({ status: probe.status, body: await probe.json() }).toEqual({
            status: 200,
            body: { status: 'ok' },
          });

          const gateway = start(entryPoints.gateway, {
            STREAMBET_MODE: 'cluster',
            HOST: '127.0.0.1',
            PORT: '0',
            SETTLEMENT_SERVICE_URL: settlementUrl,
            // Rate-limit buckets in Redis, shared by every gateway replica.
            CACHE: 'redis',
            REDIS_URL: realServers.redisUrl,
          });
          const gatewayUrl = String((await gateway.waitForLog('gateway ready')).url);
          // NOT_FOUND comes from the settlement service's own logic: the call crossed the gateway.
          expect(await getSettlementCode(gatewayUrl)).toBe(Code.NotFound);

          gateway.child.kill('SIGTERM');
          settlement.child.kill('SIGTERM');
          const gatewayCode = await gateway.exited;
          expect(gatewayCode, `gateway output:\n${gateway.stdout()}\n${gateway.stderr()}`).toBe(0);
          const settlementCode = await settlement.exited;
          expect(
            settlementCode,
            `settlement output:\n${settlement.stdout()}\n${settlement.stderr()}`,
          ).toBe(0);
          expect(settlement.stdout()).toContain('"msg":"service stopped"');
        },
        processTimeoutMs,
      );
    },
  );
});
