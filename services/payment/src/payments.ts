/**
 * What the payment service does, between its edges (RPCs, webhooks, background tasks) and its
 * ports (store, ledger, eligibility, providers). Each operation reads the payment, asks the pure
 * state machine what the observation means, makes the ledger movement it needs (idempotent by its
 * derived transfer id) and then saves the change with its event (compare-and-set on the status).
 * A crash between the ledger call and the save is repaired by doing the same again: the ledger
 * answers ALREADY_EXISTS_SAME and the save happens the second time.
 *
 * Withdrawal saga, resumable at every step: REQUESTED —hold→ HELD —payout→ PAYOUT_SENT
 * —provider's outcome→ PAID (hold posted) | FAILED (hold voided). A payout whose answer was lost
 * is asked for again with the same idempotency key (the provider returns the first payout, never a
 * second one); one that is in flight is resolved by its webhook or by reconciliation, which asks
 * the provider.
 */
import { createHash } from 'node:crypto';
import {
  AlreadyExistsError,
  IllegalStateError,
  UnavailableError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import {
  checkDepositRequest,
  checkVelocity,
  checkWithdrawalRequest,
  insufficientBalance,
  providerOf,
  velocityWindowMs,
  type Destination,
  type PaymentLimits,
} from './domain/limits.js';
import {
  canAdvanceWithdrawal,
  decideDeposit,
  decidePayout,
  expiryStatus,
  isFinal,
  retryDelayMs,
  type DepositObservation,
  type DepositStatus,
  type PayoutObservation,
  type Provider,
  type WithdrawalStatus,
} from './domain/payment.js';
import { createCreditBatcher } from './credit-batcher.js';
import type { EligibilityPort, PaymentLedger } from './downstreams.js';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type PaymentProviderPort,
} from './providers/types.js';
import type { PaymentRow, PaymentStore, WebhookRecord } from './store.js';

/** Dependencies of {@link createPayments}. */
export interface PaymentsDeps {
  readonly store: PaymentStore;
  readonly ledger: PaymentLedger;
  readonly eligibility: EligibilityPort;
  readonly providers: Readonly<Record<Provider, PaymentProviderPort>>;
  readonly clock: Clock;
  readonly limits: PaymentLimits;
  readonly newPaymentId: () => string;
  /** How long a Pix code stays payable, ms. */
  readonly pixExpiryMs: number;
  /** How long an unpaid card deposit waits, ms. */
  readonly cardTimeoutMs: number;
  readonly logger: Logger;
  /** Which providers have keys (live mode); default all. Others' payments: FAILED_PRECONDITION. */
  readonly configured?: Readonly<Record<Provider, boolean>>;
  /** Most deposit credits in one ledger call and one payment transaction (default 200). */
  readonly creditBatchMax?: number;
  /** Test hook: called at each named step of the saga and the deposit (crash tests stop there). */
  readonly onStep?: (step: string, paymentId: string) => void | Promise<void>;
}

/** A deposit request after validation of its shape by the routes. */
export interface DepositRequest {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly provider: Provider | undefined;
  readonly amountMinor: bigint;
  readonly currency: string;
}

/** A withdrawal request after validation of its shape by the routes. */
export interface WithdrawalRequest {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly destination: Destination | undefined;
  /** The user's two-step code ('' when none given); checked for new withdrawals. */
  readonly secondFactorCode?: string;
  /** The user's client network (x-forwarded-for), for the code's per-network lockout. */
  readonly clientAddress?: string;
}

/** What applying an observation did. */
export type ApplyOutcome = 'applied' | 'unchanged' | 'duplicate';

function fingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function providerDown(error: ProviderUnavailableError): UnavailableError {
  return new UnavailableError(`${error.message}; retry with the same idempotency key`, {
    cause: error,
    retryAfterMs: 2000,
  });
}

function checkKey(key: string): void {
  if (key.length < 1 || key.length > 64) {
    throw new ValidationError('invalid request', [
      { field: 'idempotency_key', description: 'must be 1–64 characters' },
    ]);
  }
}

/** The payment operations (see the file comment). */
export type Payments = ReturnType<typeof createPayments>;

/** Builds the payment operations. */
export function createPayments(deps: PaymentsDeps) {
  const { store, ledger, clock, logger } = deps;
  const step = async (name: string, paymentId: string): Promise<void> => {
    await deps.onStep?.(name, paymentId);
  };
  const credits = createCreditBatcher({
    ledger,
    store,
    maxBatch: deps.creditBatchMax ?? 200,
    step,
  });
  const requireConfigured = (provider: Provider): void => {
    if (deps.configured !== undefined && !deps.configured[provider]) {
      throw new IllegalStateError(
        `${provider === 'STRIPE' ? 'card (Stripe)' : 'Pix (MercadoPago)'} payments are not configured on this deployment`,
      );
    }
  };

  /** Creates the provider charge of a CREATED deposit (idempotent by payment id). */
  async function ensureCharge(row: PaymentRow): Promise<PaymentRow> {
    if (row.status !== 'CREATED') return row;
    const provider = deps.providers[row.provider];
    let created;
    try {
      await step('deposit:before-provider', row.paymentId);
      created = await provider.createDeposit({
        paymentId: row.paymentId,
        userId: row.userId,
        amountMinor: row.amountMinor,
        currency: row.currency,
        expiresAtMs: row.expiresAtMs,
      });
      await step('deposit:after-provider', row.paymentId);
    } catch (error) {
      if (error instanceof ProviderUnavailableError) throw providerDown(error);
      if (error instanceof ProviderRefusedError) {
        const failed = await store.advance(
          row.paymentId,
          'CREATED',
          'FAILED',
          { failureCode: error.code, failureMessage: error.message },
          { event: 'DepositFailed' },
        );
        return failed ?? (await reread(row));
      }
      throw error;
    }
    const next = await store.advance(row.paymentId, 'CREATED', 'REQUIRES_ACTION', {
      providerReference: created.reference,
      clientAction: created.action,
      expiresAtMs:
        created.action.kind === 'pix' && created.action.expiresAtMs > 0
          ? created.action.expiresAtMs
          : row.expiresAtMs,
    });
    await step('deposit:after-commit', row.paymentId);
    return next ?? (await reread(row));
  }

  async function reread(row: PaymentRow): Promise<PaymentRow> {
    const current = await store.get(row.paymentId);
    if (current === undefined) throw new Error(`payment ${row.paymentId} vanished`);
    return current;
  }

  /**
   * Applies a provider's word about a deposit: credits the wallet exactly once when it succeeded
   * (whatever state we thought the deposit was in) and saves the change with its event and the
   * webhook delivery that brought it, in one transaction.
   */
  async function applyDeposit(
    initial: PaymentRow,
    observation: DepositObservation,
    webhook?: WebhookRecord,
  ): Promise<{ outcome: ApplyOutcome; row: PaymentRow }> {
    let row = initial;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (webhook !== undefined && (await store.seenWebhook(webhook))) {
        return { outcome: 'duplicate', row };
      }
      const decision = decideDeposit(
        {
          status: row.status as DepositStatus,
          failureCode: row.failureCode,
          failureMessage: row.failureMessage,
        },
        observation,
      );
      if (!decision.changed) {
        if (webhook !== undefined) await store.recordWebhook(webhook, row.paymentId);
        return { outcome: 'unchanged', row };
      }
      const patch = {
        providerReference: row.providerReference,
        failureCode: decision.next.failureCode,
        failureMessage: decision.next.failureMessage,
        ...(decision.next.status === 'SUCCEEDED' ? { clientAction: null } : {}),
      };
      const options = {
        ...(decision.event === undefined ? {} : { event: decision.event }),
        ...(webhook === undefined ? {} : { webhook }),
      };
      if (decision.credit) {
        // The credit and its status change join the next batch (credit-batcher.ts).
        const credited = await credits.submit({
          credit: {
            paymentId: row.paymentId,
            userId: row.userId,
            amountMinor: row.amountMinor,
            currency: row.currency,
          },
          move: {
            paymentId: row.paymentId,
            from: row.status,
            to: decision.next.status,
            patch,
            options,
          },
        });
        if (credited !== undefined) return { outcome: 'applied', row: credited };
        row = await reread(row);
        continue;
      }
      const next = await store.advance(
        row.paymentId,
        row.status,
        decision.next.status,
        { ...patch, ledgerTransferId: row.ledgerTransferId },
        options,
      );
      if (next !== undefined) return { outcome: 'applied', row: next };
      row = await reread(row);
    }
    throw new UnavailableError(`payment ${initial.paymentId} is busy; retry shortly`);
  }

  /** Posts or voids the hold of a withdrawal whose payout outcome is known, then saves it. */
  async function resolvePayout(
    initial: PaymentRow,
    observation: PayoutObservation,
    webhook?: WebhookRecord,
  ): Promise<{ outcome: ApplyOutcome; row: PaymentRow }> {
    let row = initial;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (webhook !== undefined && (await store.seenWebhook(webhook))) {
        return { outcome: 'duplicate', row };
      }
      const status = row.status as WithdrawalStatus;
      const decision = decidePayout(status, observation);
      const reference = observation.reference || row.providerReference;
      if (decision.ledger === undefined) {
        if (decision.next === 'PAYOUT_SENT' && status === 'HELD') {
          const sent = await store.advance(
            row.paymentId,
            'HELD',
            'PAYOUT_SENT',
            {
              providerReference: reference,
              attempts: 0,
              nextAttemptAtMs: 0,
            },
            webhook === undefined ? {} : { webhook },
          );
          if (sent !== undefined) return { outcome: 'applied', row: sent };
          row = await reread(row);
          continue;
        }
        if (webhook !== undefined) await store.recordWebhook(webhook, row.paymentId);
        return { outcome: 'unchanged', row };
      }
      await step(`withdrawal:before-${decision.ledger}`, row.paymentId);
      const moved =
        decision.ledger === 'post'
          ? await ledger.post(row.paymentId, row.amountMinor, row.currency)
          : await ledger.void(row.paymentId, row.currency);
      if (!moved.committed) {
        throw new Error(
          `ledger refused to ${decision.ledger} the hold of withdrawal ${row.paymentId}: ${moved.code} ${moved.detail}`,
        );
      }
      await step(`withdrawal:after-${decision.ledger}`, row.paymentId);
      const failure =
        observation.kind === 'failed'
          ? { failureCode: observation.code, failureMessage: observation.message }
          : {};
      const next = await store.advance(
        row.paymentId,
        status,
        decision.next,
        { providerReference: reference, settleTransferId: moved.transferId, ...failure },
        {
          event: decision.next === 'PAID' ? 'WithdrawalPaid' : 'WithdrawalFailed',
          ...(webhook === undefined ? {} : { webhook }),
        },
      );
      if (next !== undefined) return { outcome: 'applied', row: next };
      row = await reread(row);
    }
    throw new UnavailableError(`payment ${initial.paymentId} is busy; retry shortly`);
  }

  /** Runs the withdrawal saga from wherever `row` is until it waits for the provider or ends. */
  async function advanceWithdrawal(initial: PaymentRow): Promise<PaymentRow> {
    let row = initial;
    for (let guard = 0; guard < 10; guard += 1) {
      const status = row.status as WithdrawalStatus;
      if (status === 'REQUESTED') {
        await step('withdrawal:before-hold', row.paymentId);
        let held = await ledger.hold(row.paymentId, row.userId, row.amountMinor, row.currency);
        if (!held.committed && held.code === 'ACCOUNT_NOT_FOUND') {
          await ledger.ensureAccounts(row.userId, row.currency);
          held = await ledger.hold(row.paymentId, row.userId, row.amountMinor, row.currency);
        }
        await step('withdrawal:after-hold', row.paymentId);
        const next = held.committed
          ? await store.advance(
              row.paymentId,
              'REQUESTED',
              'HELD',
              { ledgerTransferId: held.transferId, attempts: 0, nextAttemptAtMs: 0 },
              { event: 'WithdrawalRequested' },
            )
          : await store.advance(row.paymentId, 'REQUESTED', 'FAILED', {
              failureCode:
                held.code === 'EXCEEDS_AVAILABLE' ? 'insufficient_funds' : held.code.toLowerCase(),
              failureMessage:
                held.code === 'EXCEEDS_AVAILABLE'
                  ? 'The available balance is below the amount; nothing was held.'
                  : `The ledger refused the hold (${held.code}).`,
            });
        await step('withdrawal:after-hold-commit', row.paymentId);
        row = next ?? (await reread(row));
        continue;
      }
      if (status === 'HELD') {
        const provider = deps.providers[row.provider];
        let observation: PayoutObservation;
        try {
          await step('withdrawal:before-payout', row.paymentId);
          observation = await provider.createPayout({
            paymentId: row.paymentId,
            userId: row.userId,
            amountMinor: row.amountMinor,
            currency: row.currency,
            destination: row.destination!,
          });
          await step('withdrawal:after-payout', row.paymentId);
        } catch (error) {
          if (error instanceof ProviderUnavailableError) {
            // Outcome unknown: the next attempt repeats the call with the same idempotency key,
            // which returns the payout if the provider made one.
            const attempts = row.attempts + 1;
            await store.defer(
              row.paymentId,
              'HELD',
              attempts,
              clock.now() + retryDelayMs(attempts),
            );
            logger.warn(
              { paymentId: row.paymentId, attempts, err: error },
              'payout request got no answer; will ask again',
            );
            return (await store.get(row.paymentId)) ?? row;
          }
          if (error instanceof ProviderRefusedError) {
            observation = {
              kind: 'failed',
              reference: '',
              code: error.code,
              message: error.message,
            };
          } else {
            throw error;
          }
        }
        row = (await resolvePayout(row, observation)).row;
        await step('withdrawal:after-payout-commit', row.paymentId);
        continue;
      }
      return row;
    }
    return row;
  }

  return {
    applyDeposit,
    resolvePayout,
    advanceWithdrawal,
    /** Deposit credits waiting for or in a batch (webhooks answer 503 above a bound). */
    creditQueueDepth: (): number => credits.depth(),

    /** CreateDeposit (payment.proto). */
    async createDeposit(request: DepositRequest): Promise<PaymentRow> {
      checkKey(request.idempotencyKey);
      checkDepositRequest(request, deps.limits);
      const provider = request.provider!;
      requireConfigured(provider);
      const print = fingerprint([
        'deposit',
        provider,
        request.amountMinor.toString(),
        request.currency,
      ]);
      const nowMs = clock.now();
      const earlier = await store.byKey(request.userId, request.idempotencyKey);
      if (earlier === undefined) {
        // Eligibility before anything is stored: a refused deposit leaves no row behind. (Never
        // inside a transaction: the user service may share the embedded database engine.)
        const inFlight = await store.depositsInFlight(request.userId);
        await deps.eligibility.require(
          request.userId,
          'deposit',
          request.amountMinor + inFlight,
          request.currency,
        );
      }
      const { row, created } = await store.insert({
        paymentId: deps.newPaymentId(),
        userId: request.userId,
        kind: 'DEPOSIT',
        provider,
        amountMinor: request.amountMinor,
        currency: request.currency,
        status: 'CREATED',
        idempotencyKey: request.idempotencyKey,
        requestFingerprint: print,
        providerReference: '',
        failureCode: '',
        failureMessage: '',
        destination: null,
        clientAction: null,
        ledgerTransferId: '',
        settleTransferId: '',
        expiresAtMs:
          nowMs + (provider === 'MERCADOPAGO_PIX' ? deps.pixExpiryMs : deps.cardTimeoutMs),
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        completedAtMs: 0,
        attempts: 0,
        nextAttemptAtMs: 0,
      });
      if (!created && row.requestFingerprint !== print) {
        throw new AlreadyExistsError(
          'idempotency_key was already used for a different deposit; choose a new key',
        );
      }
      await step('deposit:after-insert', row.paymentId);
      return ensureCharge(row);
    },

    /** RequestWithdrawal (payment.proto). */
    async requestWithdrawal(request: WithdrawalRequest): Promise<PaymentRow> {
      checkKey(request.idempotencyKey);
      checkWithdrawalRequest(request, deps.limits);
      const destination = request.destination!;
      requireConfigured(providerOf(destination));
      const print = fingerprint([
        'withdrawal',
        request.amountMinor.toString(),
        request.currency,
        destination,
      ]);
      const nowMs = clock.now();
      if ((await store.byKey(request.userId, request.idempotencyKey)) === undefined) {
        await deps.eligibility.require(
          request.userId,
          'withdrawal',
          request.amountMinor,
          request.currency,
        );
        // Two-step verification (issue 17): a new withdrawal spends a code; a retry does not.
        await deps.eligibility.requireSecondFactor(
          request.userId,
          request.secondFactorCode ?? '',
          request.clientAddress ?? '',
        );
      }
      const { row, created } = await store.insert(
        {
          paymentId: deps.newPaymentId(),
          userId: request.userId,
          kind: 'WITHDRAWAL',
          provider: providerOf(destination),
          amountMinor: request.amountMinor,
          currency: request.currency,
          status: 'REQUESTED',
          idempotencyKey: request.idempotencyKey,
          requestFingerprint: print,
          providerReference: '',
          failureCode: '',
          failureMessage: '',
          destination,
          clientAction: null,
          ledgerTransferId: '',
          settleTransferId: '',
          expiresAtMs: 0,
          createdAtMs: nowMs,
          updatedAtMs: nowMs,
          completedAtMs: 0,
          attempts: 0,
          nextAttemptAtMs: 0,
        },
        async (tx) => {
          const recent = await store.recentWithdrawals(
            tx,
            request.userId,
            nowMs - velocityWindowMs,
          );
          checkVelocity(recent, request.amountMinor, deps.limits, nowMs);
        },
      );
      if (!created && row.requestFingerprint !== print) {
        throw new AlreadyExistsError(
          'idempotency_key was already used for a different withdrawal; choose a new key',
        );
      }
      await step('withdrawal:after-insert', row.paymentId);
      const after = await advanceWithdrawal(row);
      if (after.status === 'FAILED' && after.failureCode === 'insufficient_funds') {
        throw insufficientBalance(after.amountMinor, after.currency);
      }
      return after;
    },

    /**
     * Reconciliation of one stuck payment: asks its provider and applies the answer; a deposit
     * past its payable window that the provider does not report as paid is canceled there and
     * ends EXPIRED (Pix) or CANCELED (card). Unanswered providers are asked again later.
     */
    async reconcile(row: PaymentRow): Promise<PaymentRow> {
      if (isFinal(row.kind, row.status)) return row;
      const provider = deps.providers[row.provider];
      const nowMs = clock.now();
      try {
        if (row.kind === 'WITHDRAWAL') {
          if (row.status !== 'PAYOUT_SENT') return await advanceWithdrawal(row);
          const view = await provider.getPayout(
            row.providerReference,
            row.destination ?? undefined,
          );
          const result = await resolvePayout(row, view.observation);
          if (result.outcome === 'unchanged') {
            await store.defer(row.paymentId, row.status, row.attempts, 0);
          }
          return result.row;
        }
        let current = row;
        if (current.status === 'CREATED') {
          if (nowMs < current.expiresAtMs) return await ensureCharge(current);
          // Never shown to the payer (no client action was returned): nothing can have been paid.
          return (
            (await store.advance(
              current.paymentId,
              'CREATED',
              expiryStatus(current.provider),
              {},
              {
                event: 'DepositFailed',
              },
            )) ?? (await reread(current))
          );
        }
        const view = await provider.getDeposit(current.providerReference);
        current = (await applyDeposit(current, view.observation)).row;
        if (!isFinal('DEPOSIT', current.status) && nowMs >= current.expiresAtMs) {
          const after = await provider.cancelDeposit(current.providerReference);
          current = (await applyDeposit(current, after)).row;
          if (!isFinal('DEPOSIT', current.status)) {
            current = (
              await applyDeposit(
                current,
                current.provider === 'MERCADOPAGO_PIX' ? { kind: 'expired' } : { kind: 'canceled' },
              )
            ).row;
          }
        }
        if (!isFinal('DEPOSIT', current.status)) {
          await store.defer(current.paymentId, current.status, current.attempts, 0);
        }
        return current;
      } catch (error) {
        if (error instanceof ProviderUnavailableError) {
          const attempts = row.attempts + 1;
          await store.defer(row.paymentId, row.status, attempts, nowMs + retryDelayMs(attempts));
          logger.warn(
            { paymentId: row.paymentId, err: error },
            'reconciliation: provider unavailable',
          );
          return row;
        }
        throw error;
      }
    },

    /** True when `status` of a withdrawal may still move to `to` (for webhook handlers). */
    canAdvance: (from: WithdrawalStatus, to: WithdrawalStatus) => canAdvanceWithdrawal(from, to),
  };
}
