/** The wallet book: pushes apply only when newer by ledger sequence; loads never undo a push. */
import { create, toJson } from '@bufbuild/protobuf';
import {
  HoldPlacedSchema,
  MarketPayoutsCreditedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { AccountKind } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { describe, expect, it } from 'vitest';
import {
  applyLoadedWallet,
  applyWalletPush,
  emptyWalletBook,
  expiryCountdownText,
  paymentErrorSentence,
  paymentStatusLabel,
  shownBalances,
  walletSnapshotsOf,
  type WalletSnapshot,
} from '../src/wallet.js';

const snap = (availableMinor: bigint, sequence: bigint, currency = 'BRL'): WalletSnapshot => ({
  currency,
  postedMinor: availableMinor,
  pendingMinor: 0n,
  availableMinor,
  sequence,
});
const loaded = (availableMinor: bigint, currency = 'BRL') => ({
  currency,
  postedMinor: availableMinor,
  pendingMinor: 0n,
  availableMinor,
});

describe('wallet book', () => {
  it('applies a push only when its sequence is higher than the one shown', () => {
    let book = applyWalletPush(emptyWalletBook, [snap(500n, 10n)]);
    book = applyWalletPush(book, [snap(300n, 9n)]); // late
    book = applyWalletPush(book, [snap(300n, 10n)]); // repeated
    expect(book.balances.get('BRL')?.availableMinor).toBe(500n);
    book = applyWalletPush(book, [snap(800n, 11n)]);
    expect(book.balances.get('BRL')).toMatchObject({ availableMinor: 800n, sequence: 11n });
  });

  it('lets a load replace balances, unless a push landed after the load started', () => {
    let book = applyLoadedWallet(emptyWalletBook, [loaded(100n), loaded(50n, 'PTS')], 0);
    const startedAt = book.pushes;
    book = applyWalletPush(book, [snap(900n, 20n)]);
    // The load started before the push answers the older balance: the push stays.
    book = applyLoadedWallet(book, [loaded(100n), loaded(60n, 'PTS')], startedAt);
    expect(book.balances.get('BRL')?.availableMinor).toBe(900n);
    expect(book.balances.get('PTS')?.availableMinor).toBe(60n);
    // A load started after it is newer still; the sequence shown stays the push's.
    book = applyLoadedWallet(book, [loaded(950n)], book.pushes);
    expect(book.balances.get('BRL')).toMatchObject({ availableMinor: 950n, sequence: 20n });
    expect(shownBalances(book).map((b) => b.currency)).toEqual(['PTS', 'BRL']);
  });
});

describe('wallet pushes', () => {
  const wallet = (owner: string, availableMinor: bigint) => ({
    accountId: `wallet:${owner}:BRL`,
    kind: AccountKind.USER_WALLET,
    currency: 'BRL',
    ownerId: owner,
    balance: { postedMinor: availableMinor + 100n, debitsPendingMinor: 100n, availableMinor },
  });
  const clearing = {
    accountId: 'psp_clearing:BRL',
    kind: AccountKind.PSP_CLEARING,
    currency: 'BRL',
    balance: { postedMinor: -5000n },
  };

  it("reads the user's own wallet with the transfer's sequence, nobody else's", () => {
    const credited = toJson(
      TransferCommittedSchema,
      create(TransferCommittedSchema, {
        transfer: { transferId: 'payment:P:credit', sequence: 42n },
        debitAccount: clearing,
        creditAccount: wallet('U1', 4000n),
      }),
    );
    expect(walletSnapshotsOf('streambet.events.v1.TransferCommitted', credited, 'U1')).toEqual([
      {
        currency: 'BRL',
        postedMinor: 4100n,
        pendingMinor: 100n,
        availableMinor: 4000n,
        sequence: 42n,
      },
    ]);
    expect(walletSnapshotsOf('TransferCommitted', JSON.stringify(credited), 'U1')).toHaveLength(1);
    expect(walletSnapshotsOf('streambet.events.v1.TransferCommitted', credited, 'U2')).toEqual([]);
    const held = toJson(
      HoldPlacedSchema,
      create(HoldPlacedSchema, {
        transfer: { sequence: 43n },
        debitAccount: wallet('U1', 3000n),
        creditAccount: clearing,
      }),
    );
    expect(walletSnapshotsOf('streambet.events.v1.HoldPlaced', held, 'U1')[0]?.sequence).toBe(43n);
    const page = toJson(
      MarketPayoutsCreditedSchema,
      create(MarketPayoutsCreditedSchema, { sequence: 50n, accounts: [wallet('U1', 10n)] }),
    );
    expect(walletSnapshotsOf('streambet.events.v1.MarketPayoutsCredited', page, 'U1')).toHaveLength(
      1,
    );
  });

  it('ignores other events and malformed payloads', () => {
    expect(walletSnapshotsOf('streambet.events.v1.BetPlaced', {}, 'U1')).toEqual([]);
    expect(walletSnapshotsOf('streambet.events.v1.TransferCommitted', 'not json', 'U1')).toEqual(
      [],
    );
    expect(
      walletSnapshotsOf('streambet.events.v1.TransferCommitted', { transfer: 5 }, 'U1'),
    ).toEqual([]);
  });
});

describe('payment words', () => {
  it('rewrites limits in minor units as money, and keeps eligibility reasons readable', () => {
    expect(
      paymentErrorSentence(
        3,
        'invalid deposit: amount.amount_minor: must be at most 1000000 (the largest deposit)',
        'BRL',
      ),
    ).toBe('The largest deposit is R$ 10.000,00.');
    expect(
      paymentErrorSentence(
        3,
        'invalid withdrawal: amount.amount_minor: must be at least 500 (the smallest withdrawal)',
        'BRL',
      ),
    ).toBe('The smallest withdrawal is R$ 5,00.');
    expect(
      paymentErrorSentence(
        9,
        'withdrawal refused: real money needs a confirmed email address; open the link we emailed you (or ask for a new one)',
        'BRL',
      ),
    ).toBe(
      'Real money needs a confirmed email address; open the link we emailed you (or ask for a new one)',
    );
    expect(paymentErrorSentence(14, 'stripe down', 'BRL')).toMatch(/nothing was charged/);
    expect(
      paymentErrorSentence(3, 'withdrawal refused: second_factor_code: is required', 'BRL'),
    ).toBe('Two-step code: is required (enter the current code from your authenticator app).');
  });

  it('counts down to a Pix expiry and names statuses per direction', () => {
    expect(expiryCountdownText(1_000_000 + 65_000, 1_000_000)).toBe('1:05');
    expect(expiryCountdownText(1_000_000 + 3_600_000, 1_000_000)).toBe('1:00:00');
    expect(expiryCountdownText(1_000, 5_000)).toBe('0:00');
    expect(paymentStatusLabel(3, false)).toBe('Credited');
    expect(paymentStatusLabel(3, true)).toBe('Paid');
    expect(paymentStatusLabel(2, true)).toBe('Processing');
  });
});
