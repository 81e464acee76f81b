/**
 * Authorization of every UserService and UserInternalService RPC, per caller kind: the access
 * policy (public / any user / own player / admin / service) through the real auth interceptor, then
 * ownership (a viewer reads only their own data) and which service may call which internal RPC.
 * The wallet RPCs (GetWallet, ListTransactions) are the ledger's and are tested there.
 */
import { Code } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  EligibilityAction,
  KycDocumentType,
  LimitPeriod,
  SelfExclusionDuration,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { KycDecision } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  createHarness,
  failure,
  password,
  startMs,
  type Harness,
} from '../identity/harness.js';

const targets = sqlTargets();

type CallerKind = 'anonymous' | 'viewer' | 'streamer' | 'admin' | 'service';
const callerKinds: readonly CallerKind[] = ['anonymous', 'viewer', 'streamer', 'admin', 'service'];
type Expectation = 'allowed' | Code.Unauthenticated | Code.PermissionDenied;

const publicRule: Record<CallerKind, Expectation> = {
  anonymous: 'allowed',
  viewer: 'allowed',
  streamer: 'allowed',
  admin: 'allowed',
  service: 'allowed',
};
const anyUserRule: Record<CallerKind, Expectation> = {
  anonymous: Code.Unauthenticated,
  viewer: 'allowed',
  streamer: 'allowed',
  admin: 'allowed',
  service: Code.PermissionDenied,
};
const ownPlayerRule: Record<CallerKind, Expectation> = {
  ...anyUserRule,
  admin: Code.PermissionDenied,
};
const adminRule: Record<CallerKind, Expectation> = {
  anonymous: Code.Unauthenticated,
  viewer: Code.PermissionDenied,
  streamer: Code.PermissionDenied,
  admin: 'allowed',
  service: Code.PermissionDenied,
};
const serviceRule: Record<CallerKind, Expectation> = {
  anonymous: Code.Unauthenticated,
  viewer: Code.PermissionDenied,
  streamer: Code.PermissionDenied,
  admin: Code.PermissionDenied,
  service: 'allowed',
};

const cpf = {
  legalName: 'Ana Souza',
  documentType: KycDocumentType.TAX_ID,
  documentNumber: '52998224725',
  documentCountry: 'BR',
};

for (const target of targets) {
  describe(`authorization on ${target.name}`, () => {
    let h: Harness;
    const headers = new Map<CallerKind, { headers: Record<string, string> } | undefined>();
    const ids = { viewer: '', streamer: '', admin: '', victim: '', kycCase: '' };
    let registrations = 0;

    beforeAll(async () => {
      h = await createHarness(target);
      const viewer = await h.register('authz_viewer');
      const streamer = await h.register('authz_streamer');
      await h.internal.grantRole(
        { userId: streamer.user.userId, role: Role.STREAMER },
        await h.service('integration'),
      );
      const streamerLogin = await h.users.login({ email: 'authz_streamer@example.com', password });
      const admin = await h.makeAdmin('authz_admin');
      const victim = await h.register('authz_victim');
      const kase = await h.users.startKyc(cpf, as(victim.tokens));
      Object.assign(ids, {
        viewer: viewer.user.userId,
        streamer: streamer.user.userId,
        admin: admin.user.userId,
        victim: victim.user.userId,
        kycCase: kase.kycCase!.kycCaseId,
      });
      headers.set('anonymous', undefined);
      headers.set('viewer', as(viewer.tokens));
      headers.set('streamer', as(streamerLogin.tokens!));
      headers.set('admin', as(admin.tokens));
    });
    afterAll(async () => {
      await h?.dispose();
    });

    async function callerOptions(kind: CallerKind, serviceName: string) {
      h.clock.set(startMs);
      return kind === 'service' ? h.service(serviceName) : headers.get(kind);
    }

    const freshRefreshToken = async () =>
      (await h.users.login({ email: 'authz_victim@example.com', password })).tokens!.refreshToken;

    /** One call per RPC with a request that passes validation for an allowed caller. */
    const rpcs: Record<
      string,
      {
        rule: Record<CallerKind, Expectation>;
        service?: string;
        call: (options: { headers: Record<string, string> } | undefined) => Promise<unknown>;
      }
    > = {
      Register: {
        rule: publicRule,
        call: (o) => {
          registrations += 1;
          return h.users.register(
            {
              email: `reg${registrations}@example.com`,
              password,
              displayName: `reg_${registrations}`,
              dateOfBirth: { year: 1990, month: 1, day: 1 },
            },
            o,
          );
        },
      },
      Login: {
        rule: publicRule,
        call: (o) => h.users.login({ email: 'authz_victim@example.com', password }, o),
      },
      Refresh: {
        rule: publicRule,
        call: async (o) => h.users.refresh({ refreshToken: await freshRefreshToken() }, o),
      },
      Logout: {
        rule: publicRule,
        call: async (o) => h.users.logout({ refreshToken: await freshRefreshToken() }, o),
      },
      GetJwks: { rule: publicRule, call: (o) => h.users.getJwks({}, o) },
      GetProfile: { rule: anyUserRule, call: (o) => h.users.getProfile({}, o) },
      UpdateProfile: { rule: anyUserRule, call: (o) => h.users.updateProfile({}, o) },
      StartKyc: { rule: ownPlayerRule, call: (o) => h.users.startKyc(cpf, o) },
      GetKycStatus: { rule: anyUserRule, call: (o) => h.users.getKycStatus({}, o) },
      ListKycCases: { rule: adminRule, call: (o) => h.users.listKycCases({}, o) },
      ReviewKyc: {
        rule: adminRule,
        call: (o) =>
          h.users.reviewKyc({ kycCaseId: ids.kycCase, decision: KycDecision.APPROVE }, o),
      },
      GetLimits: { rule: anyUserRule, call: (o) => h.users.getLimits({}, o) },
      SetDepositLimit: {
        rule: ownPlayerRule,
        call: (o) =>
          h.users.setDepositLimit(
            { period: LimitPeriod.MONTHLY, amount: { amountMinor: 100_000n, currency: 'BRL' } },
            o,
          ),
      },
      SetLossLimit: {
        rule: ownPlayerRule,
        call: (o) =>
          h.users.setLossLimit(
            { period: LimitPeriod.MONTHLY, amount: { amountMinor: 100_000n, currency: 'BRL' } },
            o,
          ),
      },
      StartCoolOff: {
        rule: ownPlayerRule,
        call: (o) => h.users.startCoolOff({ durationSeconds: 86_400n }, o),
      },
      SelfExclude: {
        rule: ownPlayerRule,
        call: (o) => h.users.selfExclude({ duration: SelfExclusionDuration.SIX_MONTHS }, o),
      },
      FreezeAccount: {
        rule: adminRule,
        call: (o) => h.users.freezeAccount({ userId: ids.victim, reason: 'test' }, o),
      },
      UnfreezeAccount: {
        rule: adminRule,
        call: (o) => h.users.unfreezeAccount({ userId: ids.victim, reason: 'test' }, o),
      },
      ListUsers: { rule: adminRule, call: (o) => h.users.listUsers({}, o) },
      CheckEligibility: {
        rule: serviceRule,
        service: 'bet-engine',
        call: (o) =>
          h.internal.checkEligibility(
            {
              checks: [
                {
                  userId: ids.viewer,
                  action: EligibilityAction.BET,
                  amount: { amountMinor: 1n, currency: 'PTS' },
                },
              ],
            },
            o,
          ),
      },
      GetUsers: {
        rule: serviceRule,
        service: 'realtime',
        call: (o) => h.internal.getUsers({ userIds: [ids.viewer] }, o),
      },
      GrantRole: {
        rule: serviceRule,
        service: 'integration',
        call: (o) => h.internal.grantRole({ userId: ids.viewer, role: Role.STREAMER }, o),
      },
    };

    for (const [rpc, spec] of Object.entries(rpcs)) {
      for (const kind of callerKinds) {
        const expected = spec.rule[kind];
        it(`${rpc} as ${kind}: ${expected === 'allowed' ? 'allowed' : Code[expected]}`, async () => {
          const options = await callerOptions(kind, spec.service ?? 'pool');
          if (expected === 'allowed') {
            await expect(spec.call(options)).resolves.toBeDefined();
          } else {
            expect((await failure(spec.call(options))).code).toBe(expected);
          }
        });
      }
    }

    describe('ownership', () => {
      it('a viewer or streamer reads only their own profile, KYC status and limits; an admin reads anyone', async () => {
        for (const kind of ['viewer', 'streamer'] as const) {
          const options = headers.get(kind);
          const other = kind === 'viewer' ? ids.streamer : ids.viewer;
          for (const call of [
            () => h.users.getProfile({ userId: other }, options),
            () => h.users.getKycStatus({ userId: other }, options),
            () => h.users.getLimits({ userId: other }, options),
          ]) {
            const denied = await failure(call());
            expect(denied.code).toBe(Code.PermissionDenied);
            expect(denied.message).toMatch(/only admins may read another user's/);
          }
          const own = ids[kind];
          expect((await h.users.getProfile({ userId: own }, options)).user?.userId).toBe(own);
        }
        const admin = headers.get('admin');
        expect((await h.users.getProfile({ userId: ids.viewer }, admin)).user?.userId).toBe(
          ids.viewer,
        );
        await expect(h.users.getKycStatus({ userId: ids.victim }, admin)).resolves.toMatchObject({
          latestCase: { documentNumber: '52998224725' },
        });
        await expect(h.users.getLimits({ userId: ids.viewer }, admin)).resolves.toBeDefined();
      });

      it('denies another user before saying whether they exist', async () => {
        expect(
          (
            await failure(
              h.users.getProfile({ userId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, headers.get('viewer')),
            )
          ).code,
        ).toBe(Code.PermissionDenied);
      });

      it('lets only the named services call CheckEligibility and GrantRole', async () => {
        const pool = await h.service('pool');
        const denied = await failure(
          h.internal.grantRole(
            { userId: ids.viewer, role: Role.STREAMER },
            await h.service('payment'),
          ),
        );
        expect(denied).toEqual({
          code: Code.PermissionDenied,
          message:
            'method streambet.user.v1.UserInternalService/GrantRole may be called only by service integration; caller is service payment',
        });
        expect(
          (
            await failure(
              h.internal.checkEligibility(
                {
                  checks: [
                    {
                      userId: ids.viewer,
                      action: EligibilityAction.BET,
                      amount: { amountMinor: 1n, currency: 'PTS' },
                    },
                  ],
                },
                pool,
              ),
            )
          ).code,
        ).toBe(Code.PermissionDenied);
        await expect(
          h.internal.getUsers({ userIds: [ids.viewer, 'unknown'] }, pool),
        ).resolves.toMatchObject({
          users: [{ userId: ids.viewer, displayName: 'authz_viewer' }],
        });
      });

      it('refuses user tokens on internal RPCs, even an admin token, naming the reason', async () => {
        const denied = await failure(
          h.internal.getUsers({ userIds: [ids.viewer] }, headers.get('admin')),
        );
        expect(denied).toEqual({
          code: Code.PermissionDenied,
          message:
            'method streambet.user.v1.UserInternalService/GetUsers is internal: only services may call it',
        });
      });
    });
  });
}

if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`authorization on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('every RPC × caller kind, ownership, internal service allow-lists', () => undefined);
  });
}
