/**
 * Responsible-gambling routes (GetLimits, SetDepositLimit, SetLossLimit, StartCoolOff,
 * SelfExclude) and the sweep that puts due loosenings into force. The rules are in
 * domain/limits/.
 */
import { create } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import { LimitChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import type { LimitPeriod } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  LimitKind,
  ResponsibleGamblingLimitsSchema,
  SelfExclusionDuration,
  type AmountLimit,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { Money } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { handleCommand, type CommandHandler } from '@streambet/platform/command/handle-command';
import {
  applyDueLoosening,
  decideLimitChange,
  evolveLimit,
  limitAt,
  limitPeriods,
  periodMs,
  usedInWindow,
  type DatedAmount,
  type LimitChange,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from './domain/limits/limits.js';
import { decideSelfExclude, decideStartCoolOff } from './domain/accounts/account.js';
import {
  decideCoolOff,
  decideSelfExclusion,
  selfExclusionActive,
  type SelfExclusionDurationName,
} from './domain/limits/restrictions.js';
import {
  userEvent,
  type EventActor,
  type PendingUserEvent,
  type UserRecord,
} from './store/index.js';

import {
  enumName,
  limitPeriodProto,
  limitPeriodName,
  money,
  selfExclusionProto,
  amountLimitProto,
} from './proto-codec.js';
import { userCaller, actorOf, targetUser, existingUser } from './requests.js';
import { handleAccountCommand } from './account-commands.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';

function limitChangedEvent(
  userId: string,
  kind: LimitKindName,
  period: LimitPeriodName,
  change: LimitChange,
  currency: string,
  actor: EventActor | undefined,
): PendingUserEvent {
  return userEvent(
    LimitChangedSchema,
    userId,
    {
      kind: kind === 'deposit' ? LimitKind.DEPOSIT : LimitKind.LOSS,
      period: limitPeriodProto(period),
      ...(change.previousAmountMinor === null
        ? {}
        : { previousAmount: money(change.previousAmountMinor, currency) }),
      ...(change.amountMinor === null ? {} : { amount: money(change.amountMinor, currency) }),
      effectiveAtMs: BigInt(change.effectiveAtMs),
      scheduled: change.scheduled,
    },
    actor,
  );
}

/**
 * Puts every scheduled limit loosening that is due into force and publishes LimitChanged
 * (scheduled = false) for each; returns how many were applied. Reads already treat due changes as
 * in force, so this only makes the stored state and the event stream catch up: run it every minute
 * or so from main.ts.
 */
export async function applyDueLimitChanges(
  deps: Pick<UserServiceDeps, 'sql' | 'store' | 'clock' | 'settings'>,
  batchSize = 100,
): Promise<number> {
  const nowMs = deps.clock.now();
  const due = await deps.store.dueLimits(deps.sql, nowMs, batchSize);
  let applied = 0;
  for (const item of due) {
    const result = await handleCommand(
      deps.sql,
      limitCommand(deps, item.userId, item.kind, item.period, undefined, (limit) => {
        const loosening = applyDueLoosening(limit, nowMs);
        return loosening === undefined ? [] : [loosening.change];
      }),
    );
    applied += result.applied.length;
  }
  return applied;
}

/**
 * One limit of one user (`kind`, `period`) on the platform's command handler: the user's row is
 * locked, `decide` returns the LimitChanged events, the domain's `evolveLimit` folds them, and the
 * limit is saved with its events. `actor` is credited with the changes made by the request.
 */
function limitCommand(
  deps: Pick<UserServiceDeps, 'store' | 'settings'>,
  userId: string,
  kind: LimitKindName,
  period: LimitPeriodName,
  actor: EventActor | undefined,
  decide: (limit: LimitState) => readonly LimitChange[],
): CommandHandler<LimitState, LimitChange> {
  const { store, settings } = deps;
  return {
    async load(tx) {
      await existingUser(store, tx, userId, { forUpdate: true });
      return (await store.getLimits(tx, userId, kind))[period];
    },
    decide,
    evolve: evolveLimit,
    async save(tx, { after, applied }) {
      await store.saveLimit(tx, userId, kind, period, after);
      await store.appendEvents(
        tx,
        applied.map(({ event }) =>
          limitChangedEvent(
            userId,
            kind,
            period,
            event,
            settings.realCurrency,
            event.byRequest ? actor : undefined,
          ),
        ),
      );
    },
  };
}

/** The responsible-gambling RPCs of UserService. */
export function createLimitsRoutes(
  deps: UserServiceDeps,
): Pick<
  UserServiceImpl,
  'getLimits' | 'setDepositLimit' | 'setLossLimit' | 'startCoolOff' | 'selfExclude'
> {
  const { sql, store, clock, settings } = deps;

  async function limitsView(db: SqlExecutor, user: UserRecord, nowMs: number) {
    const since = nowMs - periodMs.monthly;
    const [deposit, loss, deposits, losses] = await Promise.all([
      store.getLimits(db, user.userId, 'deposit'),
      store.getLimits(db, user.userId, 'loss'),
      store.amountsSince(db, 'deposits', [user.userId], since),
      store.amountsSince(db, 'losses', [user.userId], since),
    ]);
    return {
      deposit,
      loss,
      deposits: deposits.get(user.userId) ?? [],
      losses: losses.get(user.userId) ?? [],
    };
  }

  function limitsList(
    kind: LimitKindName,
    limits: Record<LimitPeriodName, LimitState>,
    entries: readonly DatedAmount[],
    nowMs: number,
  ): AmountLimit[] {
    return limitPeriods.map((period) =>
      amountLimitProto(
        kind,
        period,
        limitAt(limits[period], nowMs),
        usedInWindow(entries, period, nowMs),
        settings.realCurrency,
      ),
    );
  }

  async function setLimit(
    kind: LimitKindName,
    req: { period: LimitPeriod; amount?: Money | undefined },
    ctx: HandlerContext,
  ) {
    const caller = userCaller(ctx);
    const period = limitPeriodName(req.period);
    const violations: FieldViolation[] = [];
    if (period === undefined) {
      violations.push({ field: 'period', description: 'is required (DAILY, WEEKLY or MONTHLY)' });
    }
    if (req.amount !== undefined) {
      if (req.amount.amountMinor <= 0n) {
        violations.push({
          field: 'amount.amount_minor',
          description: 'must be positive; leave amount unset to remove the limit',
        });
      }
      if (req.amount.currency !== settings.realCurrency) {
        violations.push({
          field: 'amount.currency',
          description: `must be ${settings.realCurrency}, the deployment's real currency (play money is never limited)`,
        });
      }
    }
    if (violations.length > 0 || period === undefined) {
      throw new ValidationError(`${kind} limit refused`, violations);
    }
    const requested = req.amount === undefined ? null : req.amount.amountMinor;
    const nowMs = clock.now();
    // what the decision says about the request itself (the events say what changed)
    let answer = { effectiveAtMs: nowMs, appliedImmediately: true };
    const { after } = await handleCommand(
      sql,
      limitCommand(deps, caller.userId, kind, period, actorOf(caller), (limit) => {
        const decision = decideLimitChange(limit, requested, nowMs);
        answer = {
          effectiveAtMs: decision.effectiveAtMs,
          appliedImmediately: decision.appliedImmediately,
        };
        return decision.changes;
      }),
    );
    const entries = await store.amountsSince(
      sql,
      kind === 'deposit' ? 'deposits' : 'losses',
      [caller.userId],
      nowMs - periodMs[period],
    );
    return {
      limit: amountLimitProto(
        kind,
        period,
        after,
        usedInWindow(entries.get(caller.userId) ?? [], period, nowMs),
        settings.realCurrency,
      ),
      effectiveAtMs: BigInt(answer.effectiveAtMs),
      appliedImmediately: answer.appliedImmediately,
    };
  }

  return {
    async getLimits(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'limits');
      const nowMs = clock.now();
      const user = await existingUser(store, sql, userId);
      const view = await limitsView(sql, user, nowMs);
      return {
        limits: create(ResponsibleGamblingLimitsSchema, {
          depositLimits: limitsList('deposit', view.deposit, view.deposits, nowMs),
          lossLimits: limitsList('loss', view.loss, view.losses, nowMs),
          coolOffUntilMs: BigInt(user.coolOffUntilMs > nowMs ? user.coolOffUntilMs : 0),
          ...(user.selfExclusion !== null && selfExclusionActive(user.selfExclusion, nowMs)
            ? { selfExclusion: selfExclusionProto(user.selfExclusion) }
            : {}),
          lifetimeDeposits: money(user.lifetimeDepositsMinor, settings.realCurrency),
          kycThreshold: money(settings.kycThresholdMinor, settings.realCurrency),
        }),
      };
    },

    setDepositLimit: (req, ctx) => setLimit('deposit', req, ctx),
    setLossLimit: (req, ctx) => setLimit('loss', req, ctx),

    async startCoolOff(req, ctx) {
      const caller = userCaller(ctx);
      const nowMs = clock.now();
      const seconds = Number(req.durationSeconds);
      decideCoolOff(0, seconds, nowMs);
      const { after } = await handleAccountCommand(deps, caller.userId, actorOf(caller), (user) =>
        decideStartCoolOff(user, seconds, nowMs),
      );
      return { untilMs: BigInt(after.coolOffUntilMs) };
    },

    async selfExclude(req, ctx) {
      const caller = userCaller(ctx);
      const duration = enumName<SelfExclusionDurationName>(SelfExclusionDuration, req.duration);
      const nowMs = clock.now();
      decideSelfExclusion(null, duration, nowMs);
      const { after } = await handleAccountCommand(deps, caller.userId, actorOf(caller), (user) =>
        decideSelfExclude(user, duration, nowMs),
      );
      const exclusion = after.selfExclusion!;
      return { selfExclusion: selfExclusionProto(exclusion) };
    },
  };
}
