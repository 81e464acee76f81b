/**
 * The payment service's storage: one row per payment (status = the state machine's, plus the
 * saga's retry schedule), the webhook deliveries applied (by provider event id), and the outbox
 * rows of payment.* events, always written in the transaction of the status change they announce.
 * Every status change is a compare-and-set on the status read (`advance`), so concurrent paths
 * (the RPC, a webhook, the saga task, reconciliation) cannot move a payment twice or backwards.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  DepositFailedSchema,
  DepositSucceededSchema,
  WithdrawalFailedSchema,
  WithdrawalPaidSchema,
  WithdrawalRequestedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PaymentProvider as ProtoProvider,
  PaymentStatus as ProtoStatus,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { appendToOutbox, type OutboxEvent } from '@streambet/platform/outbox/outbox';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { Destination } from './domain/limits.js';
import type { PaymentKind, PaymentStatus, Provider } from './domain/payment.js';
import type { ClientAction } from './providers/types.js';

/** One payment as stored. */
export interface PaymentRow {
  readonly paymentId: string;
  readonly userId: string;
  readonly kind: PaymentKind;
  readonly provider: Provider;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly idempotencyKey: string;
  /** What the request asked for, to tell a retry from a different request with the same key. */
  readonly requestFingerprint: string;
  readonly providerReference: string;
  readonly failureCode: string;
  readonly failureMessage: string;
  readonly destination: Destination | null;
  readonly clientAction: ClientAction | null;
  /** Deposit credit or withdrawal hold, once made. */
  readonly ledgerTransferId: string;
  /** Withdrawal post or void, once made. */
  readonly settleTransferId: string;
  /** Deposits: when the charge stops being payable. */
  readonly expiresAtMs: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly completedAtMs: number;
  readonly attempts: number;
  readonly nextAttemptAtMs: number;
}

/** The fields a status change may set besides the status. */
export type PaymentPatch = Partial<
  Pick<
    PaymentRow,
    | 'providerReference'
    | 'failureCode'
    | 'failureMessage'
    | 'clientAction'
    | 'ledgerTransferId'
    | 'settleTransferId'
    | 'expiresAtMs'
    | 'attempts'
    | 'nextAttemptAtMs'
  >
>;

/** The payment.* event a change publishes. */
export type PaymentEventKind =
  | 'DepositSucceeded'
  | 'DepositFailed'
  | 'WithdrawalRequested'
  | 'WithdrawalPaid'
  | 'WithdrawalFailed';

/** A webhook delivery to record with a change (dedupe by provider event id). */
export interface WebhookRecord {
  readonly provider: Provider;
  readonly eventId: string;
}

/** Filters of {@link PaymentStore.list}. */
export interface PaymentFilter {
  readonly userId?: string;
  readonly kind?: PaymentKind;
  readonly statuses?: readonly PaymentStatus[];
  readonly provider?: Provider;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Cursor: list strictly after this (created_at_ms, payment_id), newest first. */
  readonly after?: { readonly createdAtMs: number; readonly paymentId: string };
  readonly limit: number;
}

const finalStatuses = ['SUCCEEDED', 'FAILED', 'CANCELED', 'EXPIRED', 'PAID'] as const;

const columns = `payment_id, user_id, kind, provider, amount_minor, currency, status, idempotency_key,
  request_fingerprint, provider_reference, failure_code, failure_message, destination, client_action,
  ledger_transfer_id, settle_transfer_id, expires_at_ms, created_at_ms, updated_at_ms,
  completed_at_ms, attempts, next_attempt_at_ms`;

function toRow(r: Record<string, unknown>): PaymentRow {
  return {
    paymentId: r.payment_id as string,
    userId: r.user_id as string,
    kind: r.kind as PaymentKind,
    provider: r.provider as Provider,
    amountMinor: BigInt(r.amount_minor as bigint),
    currency: r.currency as string,
    status: r.status as PaymentStatus,
    idempotencyKey: r.idempotency_key as string,
    requestFingerprint: r.request_fingerprint as string,
    providerReference: r.provider_reference as string,
    failureCode: r.failure_code as string,
    failureMessage: r.failure_message as string,
    destination: (r.destination as Destination | null) ?? null,
    clientAction: (r.client_action as ClientAction | null) ?? null,
    ledgerTransferId: r.ledger_transfer_id as string,
    settleTransferId: r.settle_transfer_id as string,
    expiresAtMs: Number(r.expires_at_ms),
    createdAtMs: Number(r.created_at_ms),
    updatedAtMs: Number(r.updated_at_ms),
    completedAtMs: Number(r.completed_at_ms),
    attempts: Number(r.attempts),
    nextAttemptAtMs: Number(r.next_attempt_at_ms),
  };
}

const protoProvider: Readonly<Record<Provider, ProtoProvider>> = {
  STRIPE: ProtoProvider.STRIPE,
  MERCADOPAGO_PIX: ProtoProvider.MERCADOPAGO_PIX,
};

/** The contract's status of a stored payment. */
export function protoStatus(row: Pick<PaymentRow, 'status'>): ProtoStatus {
  switch (row.status) {
    case 'CREATED':
    case 'REQUIRES_ACTION':
      return ProtoStatus.REQUIRES_ACTION;
    case 'PROCESSING':
    case 'REQUESTED':
    case 'HELD':
    case 'PAYOUT_SENT':
      return ProtoStatus.PROCESSING;
    case 'SUCCEEDED':
    case 'PAID':
      return ProtoStatus.SUCCEEDED;
    case 'FAILED':
      return ProtoStatus.FAILED;
    case 'CANCELED':
      return ProtoStatus.CANCELED;
    case 'EXPIRED':
      return ProtoStatus.EXPIRED;
  }
}

/** The outbox row of `kind` about `row` (after the change). */
function encodeEvent(
  kind: PaymentEventKind,
  row: PaymentRow,
  eventId: string,
  nowMs: number,
): OutboxEvent {
  const metadata = {
    eventId,
    occurredAtMs: BigInt(nowMs),
    producer: 'payment',
    aggregateId: row.paymentId,
  };
  const base = {
    metadata,
    paymentId: row.paymentId,
    userId: row.userId,
    provider: protoProvider[row.provider],
    amount: { currency: row.currency, amountMinor: row.amountMinor },
  };
  const event = (typeName: string, payload: Uint8Array): OutboxEvent => ({
    topic: 'payment',
    key: row.paymentId,
    type: typeName,
    payload,
  });
  switch (kind) {
    case 'DepositSucceeded':
      return event(
        DepositSucceededSchema.typeName,
        toBinary(
          DepositSucceededSchema,
          create(DepositSucceededSchema, {
            ...base,
            providerReference: row.providerReference,
            ledgerTransferId: row.ledgerTransferId,
          }),
        ),
      );
    case 'DepositFailed':
      return event(
        DepositFailedSchema.typeName,
        toBinary(
          DepositFailedSchema,
          create(DepositFailedSchema, {
            ...base,
            status: protoStatus(row),
            failureCode: row.failureCode,
            failureMessage: row.failureMessage,
          }),
        ),
      );
    case 'WithdrawalRequested':
      return event(
        WithdrawalRequestedSchema.typeName,
        toBinary(
          WithdrawalRequestedSchema,
          create(WithdrawalRequestedSchema, { ...base, holdTransferId: row.ledgerTransferId }),
        ),
      );
    case 'WithdrawalPaid':
      return event(
        WithdrawalPaidSchema.typeName,
        toBinary(
          WithdrawalPaidSchema,
          create(WithdrawalPaidSchema, {
            ...base,
            providerReference: row.providerReference,
            postTransferId: row.settleTransferId,
          }),
        ),
      );
    case 'WithdrawalFailed':
      return event(
        WithdrawalFailedSchema.typeName,
        toBinary(
          WithdrawalFailedSchema,
          create(WithdrawalFailedSchema, {
            ...base,
            failureCode: row.failureCode,
            failureMessage: row.failureMessage,
            voidTransferId: row.settleTransferId,
          }),
        ),
      );
  }
}

/** One compare-and-set move of a payment (the arguments of `advance`). */
export interface AdvanceCommand {
  readonly paymentId: string;
  readonly from: PaymentStatus;
  readonly to: PaymentStatus;
  readonly patch: PaymentPatch;
  readonly options?: { readonly event?: PaymentEventKind; readonly webhook?: WebhookRecord };
}

/** Dependencies of {@link createPaymentStore}. */
export interface PaymentStoreDeps {
  readonly sql: Sql;
  readonly clock: Clock;
  /** Called after a commit that appended outbox rows (the relay publishes at once). */
  readonly onCommitted?: () => void;
}

/** The payment service's storage (see the file comment). */
export type PaymentStore = ReturnType<typeof createPaymentStore>;

/** Builds the store over the service's database. */
export function createPaymentStore(deps: PaymentStoreDeps) {
  const { sql, clock } = deps;

  async function get(paymentId: string, tx: SqlExecutor = sql): Promise<PaymentRow | undefined> {
    const result = await tx.query(`SELECT ${columns} FROM payments WHERE payment_id = $1`, [
      paymentId,
    ]);
    const row = result.rows[0];
    return row === undefined ? undefined : toRow(row);
  }

  /** One compare-and-set move inside `tx` (see `advance`); undefined when it did not apply. */
  async function advanceIn(
    tx: SqlExecutor,
    nowMs: number,
    move: AdvanceCommand,
  ): Promise<PaymentRow | undefined> {
    const { paymentId, from, to, patch, options = {} } = move;
    const current = await tx.query(
      `SELECT ${columns} FROM payments WHERE payment_id = $1 FOR UPDATE`,
      [paymentId],
    );
    const before = current.rows[0] === undefined ? undefined : toRow(current.rows[0]);
    if (before?.status !== from) return undefined;
    if (options.webhook !== undefined) {
      const inserted = await tx.query(
        `INSERT INTO payment_webhook_events (provider, event_id, payment_id, received_at_ms)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING event_id`,
        [options.webhook.provider, options.webhook.eventId, paymentId, nowMs],
      );
      if (inserted.rows.length === 0) return undefined;
    }
    const final = (finalStatuses as readonly string[]).includes(to);
    const next: PaymentRow = {
      ...before,
      ...patch,
      status: to,
      updatedAtMs: nowMs,
      completedAtMs: final ? nowMs : before.completedAtMs,
    };
    await tx.query(
      `UPDATE payments SET status = $2, provider_reference = $3, failure_code = $4,
           failure_message = $5, client_action = $6, ledger_transfer_id = $7,
           settle_transfer_id = $8, expires_at_ms = $9, updated_at_ms = $10,
           completed_at_ms = $11, attempts = $12, next_attempt_at_ms = $13
         WHERE payment_id = $1`,
      [
        paymentId,
        next.status,
        next.providerReference,
        next.failureCode,
        next.failureMessage,
        next.clientAction === null ? null : JSON.stringify(next.clientAction),
        next.ledgerTransferId,
        next.settleTransferId,
        next.expiresAtMs,
        next.updatedAtMs,
        next.completedAtMs,
        next.attempts,
        next.nextAttemptAtMs,
      ],
    );
    if (options.event !== undefined) {
      const eventId = newEventId();
      await appendToOutbox(tx, [encodeEvent(options.event, next, eventId, nowMs)], {
        clock: () => nowMs,
        newId: () => eventId,
      });
    }
    return next;
  }

  return {
    get,

    /** The payment `userId` created with `idempotencyKey`, if any. */
    async byKey(userId: string, idempotencyKey: string): Promise<PaymentRow | undefined> {
      const result = await sql.query(
        `SELECT ${columns} FROM payments WHERE user_id = $1 AND idempotency_key = $2`,
        [userId, idempotencyKey],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toRow(row);
    },

    /** The payment a provider's reference belongs to. */
    async byReference(provider: Provider, reference: string): Promise<PaymentRow | undefined> {
      const result = await sql.query(
        `SELECT ${columns} FROM payments WHERE provider = $1 AND provider_reference = $2`,
        [provider, reference],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toRow(row);
    },

    /**
     * Inserts a new payment unless the caller already used its idempotency key; answers the stored
     * row and whether it was created now. `beforeInsert` runs in the same transaction, after a
     * per-user lock (velocity checks that must not race).
     */
    async insert(
      row: PaymentRow,
      beforeInsert?: (tx: SqlExecutor) => Promise<void>,
    ): Promise<{ readonly row: PaymentRow; readonly created: boolean }> {
      return sql.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `payment-user:${row.userId}`,
        ]);
        const existing = await tx.query(
          `SELECT ${columns} FROM payments WHERE user_id = $1 AND idempotency_key = $2`,
          [row.userId, row.idempotencyKey],
        );
        if (existing.rows[0] !== undefined) return { row: toRow(existing.rows[0]), created: false };
        await beforeInsert?.(tx);
        await tx.query(
          `INSERT INTO payments (${columns}) VALUES
            ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
          [
            row.paymentId,
            row.userId,
            row.kind,
            row.provider,
            row.amountMinor,
            row.currency,
            row.status,
            row.idempotencyKey,
            row.requestFingerprint,
            row.providerReference,
            row.failureCode,
            row.failureMessage,
            row.destination === null ? null : JSON.stringify(row.destination),
            row.clientAction === null ? null : JSON.stringify(row.clientAction),
            row.ledgerTransferId,
            row.settleTransferId,
            row.expiresAtMs,
            row.createdAtMs,
            row.updatedAtMs,
            row.completedAtMs,
            row.attempts,
            row.nextAttemptAtMs,
          ],
        );
        return { row, created: true };
      });
    },

    /**
     * Moves a payment from `from` to `to` with `patch`, appending `event` and recording `webhook`
     * in the same transaction. Answers the new row, or undefined when the payment was no longer in
     * `from` (someone else moved it first: re-read and re-decide) or the webhook event was already
     * recorded (a concurrent duplicate; nothing is written).
     */
    async advance(
      paymentId: string,
      from: PaymentStatus,
      to: PaymentStatus,
      patch: PaymentPatch,
      options: { readonly event?: PaymentEventKind; readonly webhook?: WebhookRecord } = {},
    ): Promise<PaymentRow | undefined> {
      const nowMs = clock.now();
      const outcome = await sql.transaction((tx) =>
        advanceIn(tx, nowMs, { paymentId, from, to, patch, options }),
      );
      if (outcome !== undefined && options.event !== undefined) deps.onCommitted?.();
      return outcome;
    },

    /**
     * Several `advance` moves in ONE transaction (one durable commit for a batch of credited
     * deposits). Each move runs under its own savepoint, so one that fails (an error, not a lost
     * compare-and-set) is rolled back alone and answered as its error while the others commit.
     * Answers, in order: the new row, undefined (not applied, as `advance`) or the move's error.
     */
    async advanceMany(
      moves: readonly AdvanceCommand[],
    ): Promise<(PaymentRow | undefined | Error)[]> {
      if (moves.length === 0) return [];
      const nowMs = clock.now();
      const outcomes = await sql.transaction(async (tx) => {
        const results: (PaymentRow | undefined | Error)[] = moves.map(() => undefined);
        // Rows locked in payment id order: two instances' batches never wait on each other in a cycle.
        const order = moves
          .map((move, index) => ({ move, index }))
          .sort((a, b) => (a.move.paymentId < b.move.paymentId ? -1 : 1));
        for (const { move, index } of order) {
          await tx.query('SAVEPOINT payment_move');
          try {
            results[index] = await advanceIn(tx, nowMs, move);
            await tx.query('RELEASE SAVEPOINT payment_move');
          } catch (error) {
            await tx.query('ROLLBACK TO SAVEPOINT payment_move');
            results[index] = error instanceof Error ? error : new Error(String(error));
          }
        }
        return results;
      });
      const published = outcomes.some(
        (outcome, i) =>
          outcome !== undefined && !(outcome instanceof Error) && moves[i]?.options?.event,
      );
      if (published) deps.onCommitted?.();
      return outcomes;
    },

    /** Records a webhook delivery that changes nothing (so its redelivery is a known duplicate). */
    async recordWebhook(webhook: WebhookRecord, paymentId: string): Promise<boolean> {
      const inserted = await sql.query(
        `INSERT INTO payment_webhook_events (provider, event_id, payment_id, received_at_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING event_id`,
        [webhook.provider, webhook.eventId, paymentId, clock.now()],
      );
      return inserted.rows.length > 0;
    },

    /** True when this provider event was already applied. */
    async seenWebhook(webhook: WebhookRecord): Promise<boolean> {
      const result = await sql.query(
        'SELECT 1 FROM payment_webhook_events WHERE provider = $1 AND event_id = $2',
        [webhook.provider, webhook.eventId],
      );
      return result.rows.length > 0;
    },

    /** Schedules the saga's next attempt at a payment still in `status` (no status change). */
    async defer(
      paymentId: string,
      status: PaymentStatus,
      attempts: number,
      nextAttemptAtMs: number,
    ): Promise<void> {
      await sql.query(
        `UPDATE payments SET attempts = $3, next_attempt_at_ms = $4, updated_at_ms = $5
         WHERE payment_id = $1 AND status = $2`,
        [paymentId, status, attempts, nextAttemptAtMs, clock.now()],
      );
    },

    /** Withdrawals of `userId` created since `sinceMs` that did not fail (velocity limits). */
    async recentWithdrawals(
      tx: SqlExecutor,
      userId: string,
      sinceMs: number,
    ): Promise<{ count: number; totalMinor: bigint; oldestAtMs: number }> {
      const result = await tx.query<{ n: bigint; total: bigint; oldest: bigint }>(
        `SELECT count(*)::bigint AS n, coalesce(sum(amount_minor), 0)::bigint AS total,
           coalesce(min(created_at_ms), 0)::bigint AS oldest
         FROM payments WHERE user_id = $1 AND kind = 'WITHDRAWAL' AND status <> 'FAILED'
           AND created_at_ms >= $2`,
        [userId, sinceMs],
      );
      const row = result.rows[0];
      return {
        count: Number(row?.n ?? 0),
        totalMinor: BigInt(row?.total ?? 0n),
        oldestAtMs: Number(row?.oldest ?? 0),
      };
    },

    /** Sum of `userId`'s deposits still in flight (not final), for the deposit-limit check. */
    async depositsInFlight(userId: string): Promise<bigint> {
      const result = await sql.query<{ total: bigint }>(
        `SELECT coalesce(sum(amount_minor), 0)::bigint AS total FROM payments
         WHERE user_id = $1 AND kind = 'DEPOSIT' AND status IN ('CREATED', 'REQUIRES_ACTION', 'PROCESSING')`,
        [userId],
      );
      return BigInt(result.rows[0]?.total ?? 0n);
    },

    /** Withdrawals whose saga has a step due (not final, next attempt reached), oldest first. */
    async dueWithdrawals(nowMs: number, limit: number): Promise<PaymentRow[]> {
      const result = await sql.query(
        `SELECT ${columns} FROM payments
         WHERE kind = 'WITHDRAWAL' AND status IN ('REQUESTED', 'HELD')
           AND next_attempt_at_ms <= $1
         ORDER BY next_attempt_at_ms, payment_id LIMIT $2`,
        [nowMs, limit],
      );
      return result.rows.map(toRow);
    },

    /**
     * Payments stuck in a non-final state: unchanged since `staleBeforeMs`, or deposits past their
     * expiry. Reconciliation asks their providers.
     */
    async stuck(nowMs: number, staleBeforeMs: number, limit: number): Promise<PaymentRow[]> {
      const result = await sql.query(
        `SELECT ${columns} FROM payments
         WHERE status IN ('CREATED', 'REQUIRES_ACTION', 'PROCESSING', 'PAYOUT_SENT', 'REQUESTED', 'HELD')
           AND next_attempt_at_ms <= $1
           AND (updated_at_ms < $2 OR (expires_at_ms > 0 AND expires_at_ms <= $1))
         ORDER BY updated_at_ms, payment_id LIMIT $3`,
        [nowMs, staleBeforeMs, limit],
      );
      return result.rows.map(toRow);
    },

    /** Payments matching `filter`, newest first. */
    async list(filter: PaymentFilter): Promise<PaymentRow[]> {
      const where: string[] = [];
      const params: SqlValue[] = [];
      const add = (clause: (n: string) => string, value: SqlValue): void => {
        params.push(value);
        where.push(clause(`$${params.length}`));
      };
      if (filter.userId !== undefined) add((p) => `user_id = ${p}`, filter.userId);
      if (filter.kind !== undefined) add((p) => `kind = ${p}`, filter.kind);
      if (filter.provider !== undefined) add((p) => `provider = ${p}`, filter.provider);
      if (filter.statuses !== undefined && filter.statuses.length > 0) {
        add((p) => `status = ANY(${p}::text[])`, filter.statuses);
      }
      if (filter.fromMs !== undefined && filter.fromMs > 0) {
        add((p) => `created_at_ms >= ${p}`, filter.fromMs);
      }
      if (filter.toMs !== undefined && filter.toMs > 0)
        add((p) => `created_at_ms < ${p}`, filter.toMs);
      if (filter.after !== undefined) {
        params.push(filter.after.createdAtMs, filter.after.paymentId);
        where.push(
          `(created_at_ms, payment_id) < ($${params.length - 1}::bigint, $${params.length}::text)`,
        );
      }
      params.push(filter.limit);
      const result = await sql.query(
        `SELECT ${columns} FROM payments ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at_ms DESC, payment_id DESC LIMIT $${params.length}`,
        params,
      );
      return result.rows.map(toRow);
    },
  };
}
