import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import {
  CoolOffStartedSchema,
  LimitChangedSchema,
  SelfExclusionStartedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { DepositSucceededSchema } from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PayoutMadeSchema,
  PayoutReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  EligibilityAction,
  EligibilityResultSchema,
  IneligibilityReason,
  LimitPeriod,
  SelfExclusionDuration,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  codeForDomainErrorKind,
  toClientError,
} from '@streambet/platform/errors/error-interceptor';
import { createLogger } from '@streambet/platform/log/logger';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IneligibleError } from '../../src/identity/eligibility.js';
import {
  as,
  createHarness,
  failure,
  outboxRows,
  startMs,
  type Harness,
} from '../identity/harness.js';

const targets = sqlTargets();
const hour = 3_600_000;
const day = 24 * hour;
const brl = (amountMinor: bigint) => ({ amountMinor, currency: 'BRL' });

for (const target of targets) {
  describe(`responsible-gambling limits on ${target.name}`, () => {
    let h: Harness;
    let deposits = 0;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h?.dispose();
    });
    beforeEach(() => h.clock.set(startMs));

    async function deposit(userId: string, amountMinor: bigint): Promise<void> {
      deposits += 1;
      await h.applyPaymentEvent({
        id: `limits-dep-${deposits}`,
        type: DepositSucceededSchema.typeName,
        topic: 'payment',
        key: `p${deposits}`,
        headers: {},
        occurredAtMs: h.clock.now(),
        payload: toBinary(
          DepositSucceededSchema,
          create(DepositSucceededSchema, {
            paymentId: `limits-pay-${deposits}`,
            userId,
            amount: brl(amountMinor),
            metadata: { occurredAtMs: BigInt(h.clock.now()) },
          }),
        ),
      });
    }

    async function check(
      userId: string,
      action: EligibilityAction,
      amountMinor: bigint,
      currency = 'BRL',
    ) {
      const svc = await h.service(action === EligibilityAction.BET ? 'bet-engine' : 'payment');
      const res = await h.internal.checkEligibility(
        { checks: [{ userId, action, amount: { amountMinor, currency } }] },
        svc,
      );
      return res.results[0]!.result!;
    }

    it('lowers a deposit limit at once and raises it only after 24 h (then the sweeper publishes it)', async () => {
      const { user, tokens } = await h.register('lim_dep');
      const set = await h.users.setDepositLimit(
        { period: LimitPeriod.DAILY, amount: brl(10_000n) },
        as(tokens),
      );
      expect(set).toMatchObject({
        appliedImmediately: true,
        effectiveAtMs: BigInt(startMs),
        limit: { amount: brl(10_000n) },
      });

      h.clock.advance(hour);
      let fresh = await h.login('lim_dep');
      await deposit(user.userId, 7_000n);
      const refused = await check(user.userId, EligibilityAction.DEPOSIT, 5_000n);
      expect(refused.allowed).toBe(false);
      expect(refused.reasons).toHaveLength(1);
      expect(refused.reasons[0]).toMatchObject({
        reason: IneligibilityReason.DEPOSIT_LIMIT_EXCEEDED,
        period: LimitPeriod.DAILY,
        remaining: brl(3_000n),
        untilMs: BigInt(startMs + hour + day),
      });

      const raise = await h.users.setDepositLimit(
        { period: LimitPeriod.DAILY, amount: brl(20_000n) },
        as(fresh),
      );
      expect(raise).toMatchObject({
        appliedImmediately: false,
        effectiveAtMs: BigInt(startMs + hour + day),
        limit: {
          amount: brl(10_000n),
          used: brl(7_000n),
          pendingChange: { amount: brl(20_000n), effectiveAtMs: BigInt(startMs + hour + day) },
        },
      });
      h.clock.advance(hour);
      fresh = await h.login('lim_dep');
      const repeat = await h.users.setDepositLimit(
        { period: LimitPeriod.DAILY, amount: brl(20_000n) },
        as(fresh),
      );
      expect(repeat.effectiveAtMs).toBe(BigInt(startMs + hour + day));
      expect((await check(user.userId, EligibilityAction.DEPOSIT, 5_000n)).allowed).toBe(false);

      h.clock.set(startMs + hour + day - 1);
      expect(await h.sweepLimits()).toBe(0);
      h.clock.set(startMs + hour + day);
      const limits = (await h.users.getLimits({}, as(await h.login('lim_dep')))).limits!;
      expect(limits.depositLimits[0]).toMatchObject({ amount: brl(20_000n) });
      expect(limits.depositLimits[0]?.pendingChange).toBeUndefined();
      expect(await h.sweepLimits()).toBe(1);
      expect(await h.sweepLimits()).toBe(0);
      expect((await check(user.userId, EligibilityAction.DEPOSIT, 15_000n)).allowed).toBe(true);

      const changes = (await outboxRows(h))
        .filter((row) => row.key === user.userId && row.type.endsWith('LimitChanged'))
        .map((row) => fromBinary(LimitChangedSchema, row.payload));
      expect(
        changes.map((c) => [
          c.amount?.amountMinor,
          c.scheduled,
          c.metadata?.actorUserId === user.userId,
        ]),
      ).toEqual([
        [10_000n, false, true],
        [20_000n, true, true],
        [20_000n, false, false],
      ]);
    });

    it('a tightening cancels a pending loosening; removal waits 24 h', async () => {
      const { tokens } = await h.register('lim_cancel');
      await h.users.setLossLimit({ period: LimitPeriod.WEEKLY, amount: brl(5_000n) }, as(tokens));
      await h.users.setLossLimit({ period: LimitPeriod.WEEKLY }, as(tokens));
      let loss = (await h.users.getLimits({}, as(tokens))).limits!.lossLimits[1]!;
      expect(loss).toMatchObject({
        amount: brl(5_000n),
        pendingChange: { effectiveAtMs: BigInt(startMs + day) },
      });
      expect(loss.pendingChange?.amount).toBeUndefined();
      const tighten = await h.users.setLossLimit(
        { period: LimitPeriod.WEEKLY, amount: brl(4_000n) },
        as(tokens),
      );
      expect(tighten).toMatchObject({ appliedImmediately: true, limit: { amount: brl(4_000n) } });
      expect(tighten.limit?.pendingChange).toBeUndefined();
      h.clock.advance(2 * day);
      loss = (await h.users.getLimits({}, as(await h.login('lim_cancel')))).limits!.lossLimits[1]!;
      expect(loss.amount?.amountMinor).toBe(4_000n);
    });

    it('refuses bad limit requests with INVALID_ARGUMENT and changes nothing', async () => {
      const { tokens } = await h.register('lim_bad');
      const before = (await outboxRows(h)).length;
      expect(
        (
          await failure(
            h.users.setDepositLimit(
              { period: LimitPeriod.UNSPECIFIED, amount: brl(1n) },
              as(tokens),
            ),
          )
        ).message,
      ).toMatch(/period: is required/);
      expect(
        (
          await failure(
            h.users.setDepositLimit({ period: LimitPeriod.DAILY, amount: brl(0n) }, as(tokens)),
          )
        ).message,
      ).toMatch(/amount.amount_minor: must be positive/);
      expect(
        (
          await failure(
            h.users.setDepositLimit(
              { period: LimitPeriod.DAILY, amount: { amountMinor: 5n, currency: 'PTS' } },
              as(tokens),
            ),
          )
        ).message,
      ).toMatch(/amount.currency: must be BRL/);
      expect(
        (await failure(h.users.startCoolOff({ durationSeconds: 3_600n }, as(tokens)))).message,
      ).toMatch(/duration_seconds: must be 86400/);
      expect(
        (
          await failure(
            h.users.selfExclude({ duration: SelfExclusionDuration.UNSPECIFIED }, as(tokens)),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      expect((await outboxRows(h)).length).toBe(before);
      const limits = (await h.users.getLimits({}, as(tokens))).limits!;
      expect(limits.depositLimits.every((l) => l.amount === undefined)).toBe(true);
      expect(limits.coolOffUntilMs).toBe(0n);
    });

    it('a cool-off blocks bets (any currency) and deposits until it ends, never shortened; withdrawals stay allowed', async () => {
      const { user, tokens } = await h.register('lim_cool');
      const started = await h.users.startCoolOff(
        { durationSeconds: BigInt(3 * 86_400) },
        as(tokens),
      );
      expect(started.untilMs).toBe(BigInt(startMs + 3 * day));
      expect((await h.users.startCoolOff({ durationSeconds: 86_400n }, as(tokens))).untilMs).toBe(
        BigInt(startMs + 3 * day),
      );
      const bet = await check(user.userId, EligibilityAction.BET, 10n, 'PTS');
      expect(bet.reasons.map((r) => [r.reason, r.untilMs])).toEqual([
        [IneligibilityReason.COOLING_OFF, BigInt(startMs + 3 * day)],
      ]);
      expect((await check(user.userId, EligibilityAction.DEPOSIT, 10n)).reasons[0]?.reason).toBe(
        IneligibilityReason.COOLING_OFF,
      );
      const withdraw = await check(user.userId, EligibilityAction.WITHDRAW, 10n);
      expect(withdraw.reasons.map((r) => r.reason)).toEqual([IneligibilityReason.KYC_REQUIRED]);
      h.clock.set(startMs + 3 * day);
      expect((await check(user.userId, EligibilityAction.BET, 10n, 'PTS')).allowed).toBe(true);
      expect(
        (await outboxRows(h))
          .filter((r) => r.key === user.userId && r.type.endsWith('CoolOffStarted'))
          .map((r) => fromBinary(CoolOffStartedSchema, r.payload).untilMs),
      ).toEqual([BigInt(startMs + 3 * day)]);
    });

    it('self-exclusion blocks bets and deposits, cannot be shortened, and permanent never ends', async () => {
      const { user, tokens } = await h.register('lim_excl');
      const six = await h.users.selfExclude(
        { duration: SelfExclusionDuration.SIX_MONTHS },
        as(tokens),
      );
      expect(six.selfExclusion?.untilMs).toBe(BigInt(Date.UTC(2027, 4, 20, 12)));
      const bet = await check(user.userId, EligibilityAction.BET, 10n);
      expect(bet.reasons.map((r) => [r.reason, r.untilMs])).toEqual([
        [IneligibilityReason.SELF_EXCLUDED, BigInt(Date.UTC(2027, 4, 20, 12))],
      ]);
      const permanent = await h.users.selfExclude(
        { duration: SelfExclusionDuration.PERMANENT },
        as(tokens),
      );
      expect(permanent.selfExclusion).toMatchObject({
        duration: SelfExclusionDuration.PERMANENT,
        untilMs: 0n,
      });
      const shorter = await h.users.selfExclude(
        { duration: SelfExclusionDuration.ONE_YEAR },
        as(tokens),
      );
      expect(shorter.selfExclusion?.duration).toBe(SelfExclusionDuration.PERMANENT);
      h.clock.advance(5 * 365 * day);
      expect((await check(user.userId, EligibilityAction.DEPOSIT, 10n)).reasons[0]).toMatchObject({
        reason: IneligibilityReason.SELF_EXCLUDED,
        untilMs: 0n,
      });
      expect(
        (await h.users.getLimits({}, as(await h.login('lim_excl')))).limits?.selfExclusion
          ?.duration,
      ).toBe(SelfExclusionDuration.PERMANENT);
      const events = (await outboxRows(h)).filter(
        (r) => r.key === user.userId && r.type.endsWith('SelfExclusionStarted'),
      );
      expect(events.map((r) => fromBinary(SelfExclusionStartedSchema, r.payload).duration)).toEqual(
        [SelfExclusionDuration.SIX_MONTHS, SelfExclusionDuration.PERMANENT],
      );
    });

    it('refuses a deposit over the limit with FAILED_PRECONDITION naming the limit and until when', async () => {
      const { user, tokens } = await h.register('lim_guard');
      await h.users.setDepositLimit(
        { period: LimitPeriod.WEEKLY, amount: brl(1_000n) },
        as(tokens),
      );
      await deposit(user.userId, 900n);
      const request = {
        userId: user.userId,
        action: 'DEPOSIT' as const,
        amountMinor: 500n,
        currency: 'BRL',
      };
      const error = await h.eligibility.assertAllowed(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IneligibleError);
      const ineligible = error as IneligibleError;
      expect(codeForDomainErrorKind[ineligible.kind]).toBe(Code.FailedPrecondition);
      expect(ineligible.message).toBe(
        `deposit refused: weekly deposit limit of 1000 BRL minor units would be exceeded; 100 still allowed now, the same amount fits from ${new Date(startMs + 7 * day).toISOString()}`,
      );
      const connectError = toClientError(ineligible, {
        logger: createLogger({ service: 'user', level: 'silent' }),
        requestId: 'r-1',
        procedure: 'streambet.user.v1.UserService/Deposit',
      });
      expect(connectError.code).toBe(Code.FailedPrecondition);
      expect(connectError.findDetails(EligibilityResultSchema)[0]?.reasons[0]?.period).toBe(
        LimitPeriod.WEEKLY,
      );
      await expect(
        h.eligibility.assertAllowed({ ...request, amountMinor: 100n }),
      ).resolves.toBeUndefined();
      await expect(
        h.eligibility.assertAllowed({ ...request, userId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }),
      ).rejects.toThrow(/no user/);
    });

    it('counts settled real-money results against the loss limit; a reversal gives it back', async () => {
      const { user, tokens } = await h.register('lim_loss');
      await h.users.setLossLimit({ period: LimitPeriod.DAILY, amount: brl(1_000n) }, as(tokens));
      const payout = {
        payoutId: 'po-1',
        marketId: 'm-1',
        userId: user.userId,
        kind: PayoutKind.SETTLEMENT,
        currency: 'BRL',
        stakeMinor: 800n,
        payoutMinor: 0n,
        netMinor: -800n,
        paidAtMs: BigInt(startMs),
      };
      const made = {
        id: 'settle-1',
        type: PayoutMadeSchema.typeName,
        topic: 'settlement',
        key: 'm-1',
        headers: {},
        occurredAtMs: startMs,
        payload: toBinary(PayoutMadeSchema, create(PayoutMadeSchema, { payout })),
      };
      expect(await h.applySettlementEvent(made)).toBe('applied');
      expect(await h.applySettlementEvent(made)).toBe('duplicate');
      expect(await h.applySettlementEvent({ ...made, id: 'settle-1-copy' })).toBe('duplicate');
      const refused = await check(user.userId, EligibilityAction.BET, 300n);
      expect(refused.reasons).toHaveLength(1);
      expect(refused.reasons[0]).toMatchObject({
        reason: IneligibilityReason.LOSS_LIMIT_EXCEEDED,
        period: LimitPeriod.DAILY,
        remaining: brl(200n),
      });
      expect((await check(user.userId, EligibilityAction.BET, 300n, 'PTS')).allowed).toBe(true);
      const limits = (await h.users.getLimits({}, as(tokens))).limits!;
      expect(limits.lossLimits[0]?.used).toEqual(expect.objectContaining(brl(800n)));
      await h.applySettlementEvent({
        ...made,
        id: 'settle-2',
        type: PayoutReversedSchema.typeName,
        payload: toBinary(
          PayoutReversedSchema,
          create(PayoutReversedSchema, {
            payout,
            adjustmentMinor: 800n,
            reversedAtMs: BigInt(startMs + 1),
          }),
        ),
      });
      h.clock.advance(1);
      expect((await check(user.userId, EligibilityAction.BET, 300n)).allowed).toBe(true);
    });

    it('counts what a call already allowed against the limits of the same user later in that call', async () => {
      const { user, tokens } = await h.register('lim_batch_sum');
      await h.users.setLossLimit({ period: LimitPeriod.DAILY, amount: brl(100n) }, as(tokens));
      await h.users.setDepositLimit({ period: LimitPeriod.DAILY, amount: brl(1_000n) }, as(tokens));
      const { user: other } = await h.register('lim_batch_other');
      const bet = (userId: string, amountMinor: bigint, currency = 'BRL') => ({
        userId,
        action: EligibilityAction.BET,
        amount: { amountMinor, currency },
      });
      // Two stakes of 60 each fit a loss limit of 100 alone, not together: the second is refused
      // with what is left (40), the third (40) fits exactly; play money and other users are apart.
      const bets = await h.internal.checkEligibility(
        {
          checks: [
            bet(user.userId, 60n),
            bet(user.userId, 60n),
            bet(user.userId, 500n, 'PTS'),
            bet(other.userId, 60n),
            bet(user.userId, 40n),
          ],
        },
        await h.service('bet-engine'),
      );
      expect(bets.results.map((r) => r.result?.allowed)).toEqual([true, false, true, true, true]);
      expect(bets.results[1]?.result?.reasons[0]).toMatchObject({
        reason: IneligibilityReason.LOSS_LIMIT_EXCEEDED,
        period: LimitPeriod.DAILY,
        remaining: brl(40n),
      });
      // The same for deposits: 700 then 700 against a daily deposit limit of 1,000.
      const deposits = await h.internal.checkEligibility(
        {
          checks: [700n, 700n, 300n].map((amountMinor) => ({
            userId: user.userId,
            action: EligibilityAction.DEPOSIT,
            amount: brl(amountMinor),
          })),
        },
        await h.service('payment'),
      );
      expect(deposits.results.map((r) => r.result?.allowed)).toEqual([true, false, true]);
      expect(deposits.results[1]?.result?.reasons[0]).toMatchObject({
        reason: IneligibilityReason.DEPOSIT_LIMIT_EXCEEDED,
        remaining: brl(300n),
      });
      // Nothing was reserved: each answer alone is still "allowed".
      expect((await check(user.userId, EligibilityAction.BET, 100n)).allowed).toBe(true);
    });

    it('validates CheckEligibility batches and answers unknown users as not found', async () => {
      const svc = await h.service('bet-engine');
      expect((await failure(h.internal.checkEligibility({ checks: [] }, svc))).message).toMatch(
        /checks: must hold 1–1000 checks, got 0/,
      );
      const { user } = await h.register('lim_batch');
      const bad = await failure(
        h.internal.checkEligibility(
          {
            checks: [
              { userId: user.userId, action: EligibilityAction.UNSPECIFIED, amount: brl(1n) },
              { userId: user.userId, action: EligibilityAction.BET },
              { userId: user.userId, action: EligibilityAction.BET, amount: brl(-5n) },
              {
                userId: user.userId,
                action: EligibilityAction.DEPOSIT,
                amount: { amountMinor: 5n, currency: 'PTS' },
              },
            ],
          },
          svc,
        ),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.message).toMatch(
        /checks\[0\].action: is required.*checks\[1\].amount: is required/,
      );
      const ok = await h.internal.checkEligibility(
        {
          checks: [{ userId: user.userId, action: EligibilityAction.BET, amount: brl(-5n) }]
            .slice(0, 0)
            .concat([
              { userId: 'nope', action: EligibilityAction.BET, amount: brl(5n) },
              { userId: user.userId, action: EligibilityAction.BET, amount: brl(5n) },
            ]),
        },
        svc,
      );
      expect(ok.results.map((r) => [r.userId, r.userFound, r.result?.allowed])).toEqual([
        ['nope', false, false],
        [user.userId, true, true],
      ]);
      expect(
        (
          await failure(
            h.internal.checkEligibility(
              {
                checks: [{ userId: user.userId, action: EligibilityAction.BET, amount: brl(-5n) }],
              },
              svc,
            ),
          )
        ).message,
      ).toMatch(/amount.amount_minor: must be positive/);
    });
  });
}

if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`responsible-gambling limits on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('deposit/loss limits, cool-off, self-exclusion, eligibility with an injected clock', () =>
      undefined);
  });
}
