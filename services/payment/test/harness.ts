/**
 * Harness of the payment int tests: the payment service's real pieces on one fresh database, the
 * user service's real ledger and eligibility (its internal handlers, on a second fresh database,
 * in memory), the provider fakes on local ports, a manual clock, real signed tokens.
 */
import { createClient, createRouterTransport, type Client } from '@connectrpc/connect';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { UserRole } from '@streambet/platform/auth/caller';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser, type CallOptions } from '@streambet/testkit/rpc';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { createUserTestService, type UserTestService } from '@streambet/user/testing';
import {
  createPaymentTestService,
  type PaymentTestService,
  type PaymentTestServiceOptions,
} from '../src/testing.js';

/** The real currency of every test. */
export const CUR = 'BRL';

/** One harness: payment + user databases, fakes, clock, tokens. */
export interface Harness {
  readonly clock: ManualClock;
  readonly tokens: TestTokens;
  readonly svc: PaymentTestService;
  readonly user: UserTestService;
  readonly userDb: SqlTestDatabase;
  readonly paymentDb: SqlTestDatabase;
  readonly ledger: Client<typeof LedgerInternalService>;
  /** The user-service methods the payment service called, in order (e.g. `SubmitTransfers`). */
  readonly userCalls: string[];
  /** A new active adult viewer, KYC verified unless told otherwise. */
  newUser(options?: { kycVerified?: boolean }): Promise<string>;
  as(userId: string, role?: UserRole): Promise<CallOptions>;
  /** posted and available of the user's wallet. */
  wallet(userId: string): Promise<{ posted: bigint; available: bigint; pending: bigint }>;
  /** Debits and credits (posted and pending) summed over every account of CUR: must be equal. */
  ledgerBalanced(): Promise<boolean>;
  /** payment.* outbox rows by type name (short). */
  events(): Promise<string[]>;
  dispose(): Promise<void>;
}

/** Builds a harness on `target` (two fresh databases). */
export async function createHarness(
  target: SqlTarget,
  options: Partial<Omit<PaymentTestServiceOptions, 'sql' | 'clock' | 'tokens' | 'user'>> = {},
): Promise<Harness> {
  const clock = manualClock();
  const tokens = await createTestTokens();
  const userDb = await target.create();
  const paymentDb = await target.create();
  const user = await createUserTestService({ sql: userDb.sql, clock, tokens });
  // The user service behind its real interceptors, called with the payment service's credential.
  const paymentToken = await tokens.serviceToken('payment');
  const userCalls: string[] = [];
  const userTransport = createRouterTransport(user.routes, {
    router: { interceptors: user.interceptors },
    transport: {
      interceptors: [
        (next) => (request) => {
          userCalls.push(request.method.name);
          request.header.set('authorization', `Bearer ${paymentToken}`);
          return next(request);
        },
      ],
    },
  });
  // The test's own look at the ledger (balances, totals), without a credential.
  const ledger = createClient(LedgerInternalService, createRouterTransport(user.routes));
  const svc = await createPaymentTestService({
    sql: paymentDb.sql,
    clock,
    tokens,
    user: userTransport,
    ...options,
  });
  return {
    clock,
    tokens,
    svc,
    user,
    userDb,
    paymentDb,
    ledger,
    userCalls,
    async newUser(opts = {}) {
      const userId = nextUlid();
      await user.insertUser(userId);
      if (opts.kycVerified !== false) {
        await userDb.sql.query(`UPDATE users SET kyc_status = 'VERIFIED' WHERE id = $1`, [userId]);
      }
      return userId;
    },
    as: (userId, role = 'viewer') => asUser(tokens, userId, role),
    async wallet(userId) {
      const response = await ledger.getAccountBalances({
        accountIds: [`wallet:${userId}:${CUR}`],
      });
      const balance = response.balances[0];
      return {
        posted: balance?.postedMinor ?? 0n,
        available: balance?.availableMinor ?? 0n,
        pending: balance?.debitsPendingMinor ?? 0n,
      };
    },
    async ledgerBalanced() {
      const totals = await ledger.getLedgerTotals({});
      return totals.totals.every(
        (t) =>
          t.debitsPostedMinor === t.creditsPostedMinor &&
          t.debitsPendingMinor === t.creditsPendingMinor,
      );
    },
    async events() {
      const rows = await paymentDb.sql.query<{ type: string }>(
        `SELECT type FROM outbox WHERE topic = 'payment' ORDER BY seq`,
      );
      return rows.rows.map((r) => r.type.replace('streambet.events.v1.', ''));
    },
    async dispose() {
      await svc.close();
      await userDb.dispose();
      await paymentDb.dispose();
    },
  };
}
