import { Code, ConnectError } from '@connectrpc/connect';
import { KycDocumentType, KycStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { createLogger } from '@streambet/platform/log/logger';
import { createServiceClient } from '@streambet/platform/rpc/client';
import type { RunningService } from '@streambet/platform/runtime/service-host';
import { manualClock } from '@streambet/testkit/clock';
import { createTestTokens } from '@streambet/testkit/tokens';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeKycProvider, noKycProviderMessage } from '../../src/identity/kyc-provider.js';
import { startWholeUserService, wholeServiceEnv } from '../whole-service.js';

const startMs = Date.UTC(2026, 10, 20, 12, 0, 0);
const submission = {
  legalName: 'Ana Souza',
  documentType: KycDocumentType.TAX_ID,
  documentNumber: '52998224725',
  documentCountry: 'BR',
};

/** A cluster deployment's real dependencies, named (the test injects its own database, bus and cache). */
const clusterEnv = {
  STREAMBET_MODE: 'cluster',
  DATABASE_URL: 'postgres://user@db.invalid:5432/streambet_user',
  EVENT_BUS: 'redis-streams',
  CACHE: 'redis',
};

for (const target of sqlTargets()) {
  describe(`KYC by run mode on ${target.name}`, () => {
    const clock = manualClock(startMs);
    const started: RunningService[] = [];
    const databases: SqlTestDatabase[] = [];
    let baseEnv: Record<string, string>;

    beforeAll(async () => {
      const tokens = await createTestTokens();
      const userKey = await generateSigningKeyPair('kyc-mode-user-key');
      baseEnv = {
        ...tokens.serviceEnv('user'),
        USER_TOKEN_PRIVATE_JWK: JSON.stringify(userKey.privateJwk),
      };
    });
    afterAll(async () => {
      for (const service of started) await service.shutdown();
      for (const db of databases) await db.dispose();
    });

    /** Starts the service in `env`'s mode, registers a viewer and has them start KYC. */
    async function startKycIn(env: Record<string, string>) {
      const db = await target.create();
      databases.push(db);
      const service = await startWholeUserService(db.sql, { ...baseEnv, ...env }, clock);
      started.push(service);
      const { client } = createServiceClient(UserService, {
        baseUrl: service.url,
        logger: createLogger({ service: 'test', level: 'silent' }),
        timeoutMs: 30_000,
        retries: false,
        breaker: false,
      });
      const registered = await client.register({
        email: `kyc-${started.length}@example.com`,
        password: 'correct horse battery staple',
        displayName: `kyc${started.length}`,
        dateOfBirth: { year: 1990, month: 5, day: 17 },
      });
      const auth = { headers: { authorization: `Bearer ${registered.tokens!.accessToken}` } };
      const outcome = await client.startKyc(submission, auth).then(
        (res) => ({ status: res.kycCase!.status, caseId: res.kycCase!.kycCaseId }),
        (error: unknown) => ConnectError.from(error),
      );
      const status = (await client.getKycStatus({}, auth)).status;
      return { service, outcome, status };
    }

    it('given cluster mode, then StartKyc answers FAILED_PRECONDITION "no KYC provider configured" and stores no case, and the signed webhook still answers', async () => {
      const { service, outcome, status } = await startKycIn(clusterEnv);
      expect(outcome).toBeInstanceOf(ConnectError);
      expect(outcome).toMatchObject({
        code: Code.FailedPrecondition,
        rawMessage: noKycProviderMessage,
      });
      expect(status).toBe(KycStatus.NOT_STARTED);

      // Decisions of a real provider still come in through the signed webhook: a correctly signed
      // one for a case this deployment never saw is 404, a forged one 401 (not 500, not absent).
      const signer = createFakeKycProvider({ secret: wholeServiceEnv.KYC_WEBHOOK_SECRET, clock });
      const post = async (delivery: ReturnType<typeof signer.decision>) =>
        (
          await fetch(`${service.url}/webhooks/kyc`, {
            method: 'POST',
            headers: delivery.headers,
            body: delivery.rawBody,
          })
        ).status;
      expect(await post(signer.decision('no-such-case', 'approved'))).toBe(404);
      expect(
        await post(signer.decision('no-such-case', 'approved', { secret: 'not-the-secret-0123' })),
      ).toBe(401);
    });

    it('given embedded mode, then the fake provider takes the case (PENDING_REVIEW), as npm start does', async () => {
      const { outcome, status } = await startKycIn({ STREAMBET_MODE: 'embedded' });
      expect(outcome).toMatchObject({ status: KycStatus.PENDING_REVIEW });
      expect(status).toBe(KycStatus.PENDING_REVIEW);
    });
  });
}
