/**
 * Crash test: the payment service runs in a child process that is SIGKILLed at a step of a
 * deposit or of the withdrawal saga — before and after each provider call, each ledger call and
 * each commit (`onStep` in payments.ts) — while the provider fakes (in this process) and the
 * databases survive, as the provider and the database servers would. A restarted service then
 * does what a restart does (the client retries with its idempotency key, the provider redelivers
 * its webhook, the saga task resumes due withdrawals) and every wallet, hold and provider record
 * must be in the one correct final state: one charge or payout at the provider, the wallet
 * credited or debited once, no hold left open, one event per transition, and the ledger's debits
 * equal to its credits. PGlite runs from on-disk folders opened by one process at a time (the
 * parent closes them before the child starts); the full list of steps runs on PostgreSQL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEpochMs } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { runUntilKilled } from '@streambet/testkit/process';
import { sqlTargets, type SqlTestUrl } from '@streambet/testkit/sql';
import { describe, expect, it } from 'vitest';
import { startProviderFakes, type ProviderFakes } from '../src/testing.js';
import type { CrashAction, CrashJob } from './fixtures/crash-child.js';
import { openCrashNode, type CrashNode } from './fixtures/crash-node.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'crash-child.ts');
const CUR = 'BRL';
const FUND = 10_000n;
const AMOUNT = 4000n;
const destination = { kind: 'stripe', connectedAccountId: 'acct_1CRASH' } as const;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

type Phase = 'deposit' | 'credit' | 'withdrawal' | 'post' | 'void';

const allCases: ReadonlyArray<readonly [Phase, string]> = [
  ['deposit', 'deposit:before-provider'],
  ['deposit', 'deposit:after-provider'],
  ['deposit', 'deposit:after-commit'],
  ['credit', 'credit:before-ledger'],
  ['credit', 'credit:after-ledger'],
  ['credit', 'credit:after-commit'],
  ['withdrawal', 'withdrawal:before-hold'],
  ['withdrawal', 'withdrawal:after-hold'],
  ['withdrawal', 'withdrawal:after-hold-commit'],
  ['withdrawal', 'withdrawal:before-payout'],
  ['withdrawal', 'withdrawal:after-payout'],
  ['withdrawal', 'withdrawal:after-payout-commit'],
  ['post', 'withdrawal:before-post'],
  ['post', 'withdrawal:after-post'],
  ['void', 'withdrawal:after-void'],
];

for (const target of sqlTargets()) {
  const cases =
    target.name === 'pglite'
      ? allCases.filter(
          ([, step]) => step === 'credit:after-ledger' || step === 'withdrawal:after-payout',
        )
      : allCases;
  describe(`payment crash on ${target.name === 'pglite' ? 'PGlite on disk' : 'PostgreSQL'}`, () => {
    it.each(cases)(
      '%s killed at %s: one correct final state after restart',
      { timeout: 120_000 },
      async (phase, step) => {
        let nowMs = testEpochMs;
        const fakes: ProviderFakes = await startProviderFakes(() => nowMs);
        const paymentDb: SqlTestUrl = await target.createUrl();
        const userDb: SqlTestUrl = await target.createUrl();
        const urls = {
          paymentUrl: paymentDb.url,
          userUrl: userDb.url,
          stripeUrl: fakes.stripe.url,
          mercadoPagoUrl: fakes.mercadoPago.url,
        };
        const open = async (): Promise<CrashNode> => {
          const node = await openCrashNode({ ...urls, startMs: nowMs });
          return node;
        };
        try {
          // Set-up: a verified user, funded for withdrawals; the delivery a webhook phase applies.
          const userId = nextUlid();
          let action: CrashAction;
          let setupPaymentId = '';
          {
            const node = await open();
            await node.user.insertUser(userId);
            await node.userSql.query(`UPDATE users SET kyc_status = 'VERIFIED' WHERE id = $1`, [
              userId,
            ]);
            if (phase !== 'deposit' && phase !== 'credit') await fund(node, fakes, userId);
            if (phase === 'deposit') {
              action = {
                kind: 'deposit',
                userId,
                key: 'crash-deposit',
                amountMinor: String(AMOUNT),
              };
            } else if (phase === 'credit') {
              const row = await node.core.payments.createDeposit({
                userId,
                idempotencyKey: 'crash-credit',
                provider: 'STRIPE',
                amountMinor: AMOUNT,
                currency: CUR,
              });
              setupPaymentId = row.paymentId;
              const delivery = fakes.stripe.settleIntent(
                fakes.stripe.intentOf(row.paymentId)!.id,
                'succeed',
              );
              action = {
                kind: 'stripe-webhook',
                body: delivery.body,
                headers: { ...delivery.headers },
              };
            } else if (phase === 'withdrawal') {
              action = {
                kind: 'withdrawal',
                userId,
                key: 'crash-w',
                amountMinor: String(AMOUNT),
                destination,
              };
            } else {
              const row = await node.core.payments.requestWithdrawal({
                userId,
                idempotencyKey: 'crash-w',
                amountMinor: AMOUNT,
                currency: CUR,
                destination,
              });
              setupPaymentId = row.paymentId;
              expect(row.status).toBe('PAYOUT_SENT');
              const delivery = fakes.stripe.settlePayout(
                fakes.stripe.payoutOf(row.paymentId)!.id,
                phase === 'post' ? 'paid' : 'failed',
              );
              action = {
                kind: 'stripe-webhook',
                body: delivery.body,
                headers: { ...delivery.headers },
              };
            }
            await node.close();
          }

          const output = await runUntilKilled(child, {
            ...urls,
            startMs: nowMs,
            killAt: step,
            action,
          } satisfies CrashJob);
          expect(output).toContain(`STEP ${step}`);

          // Restart: what the world does next, then the checks.
          nowMs += 60_000;
          const node = await open();
          try {
            const { core } = node;
            if (action.kind === 'stripe-webhook') {
              // No 2xx came back: the provider delivers again (the signature is re-made per attempt).
              const parsed = JSON.parse(action.body) as {
                type: string;
                data: { object: object };
                account?: string;
              };
              const again = fakes.stripe.event(parsed.type, parsed.data.object, parsed.account);
              const answer = await core.webhooks.stripe(bytes(again.body), again.headers);
              expect(answer.status).toBe(200);
            } else if (action.kind === 'deposit') {
              const row = await core.payments.createDeposit({
                userId,
                idempotencyKey: 'crash-deposit',
                provider: 'STRIPE',
                amountMinor: AMOUNT,
                currency: CUR,
              });
              expect(row.status).toBe('REQUIRES_ACTION');
              setupPaymentId = row.paymentId;
              const delivery = fakes.stripe.settleIntent(
                fakes.stripe.intentOf(row.paymentId)!.id,
                'succeed',
              );
              expect(
                (await core.webhooks.stripe(bytes(delivery.body), delivery.headers)).status,
              ).toBe(200);
            } else {
              // The saga task resumes the withdrawal; the client's retry finds it where it is.
              await core.saga.runOnce();
              const row = await core.payments.requestWithdrawal({
                userId,
                idempotencyKey: 'crash-w',
                amountMinor: AMOUNT,
                currency: CUR,
                destination,
              });
              setupPaymentId = row.paymentId;
              expect(row.status).toBe('PAYOUT_SENT');
              const delivery = fakes.stripe.settlePayout(
                fakes.stripe.payoutOf(row.paymentId)!.id,
                'paid',
              );
              expect(
                (await core.webhooks.stripe(bytes(delivery.body), delivery.headers)).status,
              ).toBe(200);
            }

            const row = (await core.store.get(setupPaymentId))!;
            const wallet = await balance(node, `wallet:${userId}:${CUR}`);
            const events = await node.paymentSql.query<{ type: string }>(
              `SELECT type FROM outbox WHERE topic = 'payment' AND key = $1 ORDER BY seq`,
              [setupPaymentId],
            );
            const types = events.rows.map((r) => r.type.replace('streambet.events.v1.', ''));
            if (phase === 'deposit' || phase === 'credit') {
              expect(row.status).toBe('SUCCEEDED');
              expect(wallet).toEqual({ posted: AMOUNT, available: AMOUNT, pending: 0n });
              expect(fakes.stripe.intentsOf(setupPaymentId)).toHaveLength(1);
              expect(types).toEqual(['DepositSucceeded']);
            } else if (phase === 'void') {
              expect(row.status).toBe('FAILED');
              expect(wallet).toEqual({ posted: FUND, available: FUND, pending: 0n });
              expect(types).toEqual(['WithdrawalRequested', 'WithdrawalFailed']);
            } else {
              expect(row.status).toBe('PAID');
              expect(wallet).toEqual({
                posted: FUND - AMOUNT,
                available: FUND - AMOUNT,
                pending: 0n,
              });
              expect(types).toEqual(['WithdrawalRequested', 'WithdrawalPaid']);
            }
            if (phase !== 'deposit' && phase !== 'credit') {
              expect(
                fakes.stripe.payouts.filter((p) => p.metadata.payment_id === setupPaymentId),
              ).toHaveLength(1);
            }
            const credits = await node.userSql.query<{ n: bigint }>(
              `SELECT count(*)::bigint AS n FROM ledger_transfers WHERE payment_id = $1`,
              [setupPaymentId],
            );
            // Deposit: the credit. Withdrawal: hold + post (or void).
            expect(Number(credits.rows[0]!.n)).toBe(
              phase === 'deposit' || phase === 'credit' ? 1 : 2,
            );
            const totals = await node.ledger.getLedgerTotals({});
            for (const t of totals.totals) {
              expect(t.debitsPostedMinor).toBe(t.creditsPostedMinor);
              expect(t.debitsPendingMinor).toBe(t.creditsPendingMinor);
            }
          } finally {
            await node.close();
          }
        } finally {
          await fakes.close();
          await paymentDb.dispose();
          await userDb.dispose();
        }
      },
    );
  });
}

/** Deposits FUND for `userId` (Stripe deposit + its webhook) through the node's real pieces. */
async function fund(node: CrashNode, fakes: ProviderFakes, userId: string): Promise<void> {
  const row = await node.core.payments.createDeposit({
    userId,
    idempotencyKey: 'fund',
    provider: 'STRIPE',
    amountMinor: FUND,
    currency: CUR,
  });
  const delivery = fakes.stripe.settleIntent(fakes.stripe.intentOf(row.paymentId)!.id, 'succeed');
  const answer = await node.core.webhooks.stripe(bytes(delivery.body), delivery.headers);
  expect(answer.status).toBe(200);
}

async function balance(node: CrashNode, accountId: string) {
  const response = await node.ledger.getAccountBalances({ accountIds: [accountId] });
  const b = response.balances[0];
  return {
    posted: b?.postedMinor ?? 0n,
    available: b?.availableMinor ?? 0n,
    pending: b?.debitsPendingMinor ?? 0n,
  };
}
