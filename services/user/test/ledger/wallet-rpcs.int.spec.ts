/**
 * The wallet side of UserService on a real ledger, per SQL target: Register opens both wallets
 * and pays the signup PTS grant (once; the start-up sweep repairs an opening that did not
 * finish); GetWallet shows them; ListTransactions pages through the caller's history newest
 * first with each entry's effect on the available balance, filters by currency, code and time,
 * refuses bad tokens, and lets only admins read another user's history.
 */
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { TransferCode as ProtoTransferCode } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { LimitPeriod } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from '../../src/ledger/domain/index.js';
import { as, createHarness, failure, type Harness } from '../identity/harness.js';
import { command, ulid } from './ledger-fixtures.js';

const GRANT = 100_000n;
const targets = sqlTargets();
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`wallet RPCs on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same tests on real PostgreSQL', () => undefined);
  });
}

for (const target of targets) {
  describe(`wallet RPCs on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target, { withLedger: { signupGrantPtsMinor: GRANT } });
      const market = ulid(77);
      await h.ledger!.createAccounts([
        { accountId: 'house:BRL', kind: AccountKind.HOUSE, currency: 'BRL', ownerId: '' },
        {
          accountId: `market:${market}:escrow`,
          kind: AccountKind.MARKET_ESCROW,
          currency: 'PTS',
          ownerId: market,
        },
      ]);
    });
    afterAll(async () => {
      await h.dispose();
    });

    it('opens both wallets at registration and grants the signup play money once', async () => {
      const { user, tokens } = await h.register('walletnew');
      const wallet = await h.users.getWallet({}, as(tokens));
      expect(wallet.balances.map((b) => [b.currency, b.availableMinor])).toEqual([
        ['BRL', 0n],
        ['PTS', GRANT],
      ]);
      const accounts = await h.ledger!.accountsOfOwner(user.userId);
      expect(accounts.map((a) => a.accountId).sort()).toEqual([
        `wallet:${user.userId}:BRL`,
        `wallet:${user.userId}:PTS`,
      ]);
      // Opening again (a retry, or the sweep) changes nothing.
      await h.walletOpener!.open(user.userId);
      const again = await h.users.getWallet({}, as(tokens));
      expect(again.balances[1]?.availableMinor).toBe(GRANT);
      expect(await h.walletOpener!.sweep()).toBe(0);
    });

    it('the start-up sweep opens wallets of a registration whose opening never ran', async () => {
      const { user } = await h.register('walletsweep');
      // Simulate a crash between the Register commit and the opening: no accounts, no grant.
      await h.db.sql.query(`DELETE FROM ledger_transfers WHERE credit_account_id LIKE $1`, [
        `wallet:${user.userId}:%`,
      ]);
      await h.db.sql.query(`DELETE FROM ledger_accounts WHERE owner_id = $1`, [user.userId]);
      await h.db.sql.query(
        `UPDATE ledger_accounts SET debits_posted = debits_posted - $1 WHERE id = 'house:PTS'`,
        [GRANT.toString()],
      );
      expect(await h.walletOpener!.sweep()).toBe(1);
      const [pts] = await h.ledger!.lookupAccounts([`wallet:${user.userId}:PTS`]);
      expect(pts?.balance.creditsPosted).toBe(GRANT);
    });

    it('lists the caller history newest first with signed amounts, pages and filters', async () => {
      const { user, tokens } = await h.register('walletlist');
      const pts = `wallet:${user.userId}:PTS`;
      const brl = `wallet:${user.userId}:BRL`;
      const market = ulid(77);
      const escrowId = `market:${market}:escrow`;
      h.clock.advance(1000);
      const stake = (n: number, amountMinor: bigint) =>
        command({
          transferId: `bet:${ulid(5000 + n)}:stake`,
          kind: TransferKind.PENDING,
          debitAccountId: pts,
          creditAccountId: escrowId,
          amountMinor,
          currency: 'PTS',
          code: TransferCode.BET_STAKE,
          marketId: market,
          betId: ulid(5000 + n),
          memo: '',
        });
      const results = await h.ledger!.submitTransfers([
        stake(1, 300n),
        stake(2, 200n),
        command({
          transferId: `post:1`,
          kind: TransferKind.POST_PENDING,
          pendingId: stake(1, 300n).transferId,
          amountMinor: 250n,
          currency: 'PTS',
          code: TransferCode.BET_STAKE,
          marketId: market,
          betId: ulid(5001),
          memo: '',
        }),
        command({
          transferId: `void:2`,
          kind: TransferKind.VOID_PENDING,
          pendingId: stake(2, 200n).transferId,
          currency: 'PTS',
          code: TransferCode.BET_STAKE,
          marketId: market,
          betId: ulid(5002),
          memo: '',
        }),
        command({
          transferId: `adj:${user.userId}`,
          debitAccountId: 'house:BRL',
          creditAccountId: brl,
          amountMinor: 999n,
        }),
      ]);
      expect(results.every((r) => r.code === TransferResultCode.OK)).toBe(true);

      const all = await h.users.listTransactions({}, as(tokens));
      expect(all.transactions.map((t) => [t.transfer?.transferId, t.signedAmountMinor])).toEqual([
        [`adj:${user.userId}`, 999n],
        ['void:2', 200n],
        ['post:1', 50n],
        [stake(2, 200n).transferId, -200n],
        [stake(1, 300n).transferId, -300n],
        [`signup-grant:${user.userId}:PTS`, GRANT],
      ]);
      expect(all.page?.nextPageToken).toBe('');

      const first = await h.users.listTransactions({ page: { pageSize: 4 } }, as(tokens));
      expect(first.transactions).toHaveLength(4);
      const second = await h.users.listTransactions(
        { page: { pageSize: 4, pageToken: first.page!.nextPageToken } },
        as(tokens),
      );
      expect(second.transactions.map((t) => t.transfer?.transferId)).toEqual([
        stake(1, 300n).transferId,
        `signup-grant:${user.userId}:PTS`,
      ]);
      expect(second.page?.nextPageToken).toBe('');

      const brlOnly = await h.users.listTransactions({ currency: 'BRL' }, as(tokens));
      expect(brlOnly.transactions.map((t) => t.transfer?.transferId)).toEqual([
        `adj:${user.userId}`,
      ]);
      const grants = await h.users.listTransactions(
        { codes: [ProtoTransferCode.PLAY_MONEY_GRANT] },
        as(tokens),
      );
      expect(grants.transactions).toHaveLength(1);
      const later = await h.users.listTransactions(
        { fromMs: BigInt(h.clock.now()) + 1n },
        as(tokens),
      );
      expect(later.transactions).toEqual([]);

      // Another viewer may not read it; an admin may.
      const other = await h.register('walletnosy');
      expect(
        (await failure(h.users.listTransactions({ userId: user.userId }, as(other.tokens)))).code,
      ).toBe(Code.PermissionDenied);
      const admin = await h.makeAdmin('walletadmin');
      const asAdmin = await h.users.listTransactions({ userId: user.userId }, as(admin.tokens));
      expect(asAdmin.transactions).toHaveLength(6);
    });

    it('counts open real-money stakes (holds on the wallet) against the loss limit', async () => {
      const { user, tokens } = await h.register('walletloss');
      await h.users.setLossLimit(
        { period: LimitPeriod.DAILY, amount: { amountMinor: 1_000n, currency: 'BRL' } },
        as(tokens),
      );
      const brl = `wallet:${user.userId}:BRL`;
      const market = ulid(78);
      await h.ledger!.createAccounts([
        {
          accountId: `market:${market}:escrow`,
          kind: AccountKind.MARKET_ESCROW,
          currency: 'BRL',
          ownerId: market,
        },
      ]);
      const bet = { userId: user.userId, action: 'BET' as const, currency: 'BRL' };
      expect((await h.eligibility.check([{ ...bet, amountMinor: 900n }]))[0]?.answer.allowed).toBe(
        true,
      );
      const placed = await h.ledger!.submitTransfers([
        command({
          transferId: `fund:${user.userId}`,
          debitAccountId: 'house:BRL',
          creditAccountId: brl,
          amountMinor: 5_000n,
        }),
        command({
          transferId: `bet:${ulid(6001)}:stake`,
          kind: TransferKind.PENDING,
          debitAccountId: brl,
          creditAccountId: `market:${market}:escrow`,
          amountMinor: 700n,
          code: TransferCode.BET_STAKE,
          marketId: market,
          betId: ulid(6001),
          memo: '',
        }),
      ]);
      expect(placed.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      const [refused] = await h.eligibility.check([{ ...bet, amountMinor: 400n }]);
      expect(refused?.answer.reasons.map((r) => [r.reason, r.limit?.remainingMinor])).toEqual([
        ['LOSS_LIMIT_EXCEEDED', 300n],
      ]);
      expect((await h.eligibility.check([{ ...bet, amountMinor: 300n }]))[0]?.answer.allowed).toBe(
        true,
      );
      // Once the hold is voided the stake is no longer at risk.
      await h.ledger!.submitTransfers([
        command({
          transferId: `void:${ulid(6001)}`,
          kind: TransferKind.VOID_PENDING,
          pendingId: `bet:${ulid(6001)}:stake`,
          code: TransferCode.BET_STAKE,
          marketId: market,
          betId: ulid(6001),
          memo: '',
        }),
      ]);
      expect((await h.eligibility.check([{ ...bet, amountMinor: 900n }]))[0]?.answer.allowed).toBe(
        true,
      );
    });

    it('refuses bad pages, ranges, currencies and codes with INVALID_ARGUMENT', async () => {
      const { tokens } = await h.register('walletbad');
      for (const request of [
        { page: { pageSize: 0, pageToken: 'bm90LWEtdG9rZW4' } },
        { page: { pageSize: 201, pageToken: '' } },
        { fromMs: 10n, toMs: 5n },
        { currency: 'USD' },
        { codes: [99 as ProtoTransferCode] },
      ]) {
        expect((await failure(h.users.listTransactions(request, as(tokens)))).code).toBe(
          Code.InvalidArgument,
        );
      }
    });
  });
}
