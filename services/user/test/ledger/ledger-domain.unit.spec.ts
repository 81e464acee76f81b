import { describe, expect, it } from 'vitest';
import {
  AccountKind,
  CreateAccountResultCode,
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  availableOf,
  chainsOf,
  checkCommandShape,
  checkNewAccount,
  compareLockOrder,
  finishOutcomes,
  isConstrainedKind,
  planBatch,
  zeroBalance,
  type Account,
  type BatchInput,
  type Transfer,
  type TransferCommand,
} from '../../src/ledger/domain/index.js';
import { command, house, ulid, wallet } from './ledger-fixtures.js';

const currencies = { real: 'BRL' };
const NOW = 1_800_000_000_000;

function account(id: string, kind: AccountKind, creditsPosted = 0n, currency = 'BRL'): Account {
  return {
    accountId: id,
    kind,
    currency,
    ownerId: '',
    constrained: isConstrainedKind(kind),
    createdAtMs: 0,
    balance: { ...zeroBalance, creditsPosted },
  };
}

const W1 = wallet(1).accountId;
const W2 = wallet(2).accountId;
const H = house().accountId;

function plan(commands: TransferCommand[], extra: Partial<BatchInput> = {}) {
  const accounts = new Map<string, Account>([
    [W1, account(W1, AccountKind.USER_WALLET, 100n)],
    [W2, account(W2, AccountKind.USER_WALLET, 0n)],
    [H, account(H, AccountKind.HOUSE)],
    ['wallet:X:PTS', account('wallet:X:PTS', AccountKind.USER_WALLET, 0n, 'PTS')],
  ]);
  const input: BatchInput = {
    commands,
    fingerprints: commands.map((c) =>
      JSON.stringify([c.transferId, String(c.amountMinor), c.linked, c.kind, c.pendingId]),
    ),
    nowMs: NOW,
    accounts,
    existing: new Map(),
    holds: new Map(),
    ...extra,
  };
  const result = planBatch(input);
  return {
    ...result,
    codes: result.outcomes.map((o) => o.code),
    finished: finishOutcomes(
      result,
      result.steps.map((_, i) => BigInt(i + 1)),
    ),
  };
}

describe('checkNewAccount', () => {
  it('accepts canonical ids for every kind', () => {
    expect(checkNewAccount(currencies, wallet(1))).toBeUndefined();
    expect(checkNewAccount(currencies, house('PTS'))).toBeUndefined();
    const marketId = ulid(7);
    expect(
      checkNewAccount(currencies, {
        accountId: `market:${marketId}:escrow`,
        kind: AccountKind.MARKET_ESCROW,
        currency: 'BRL',
        ownerId: marketId,
      }),
    ).toBeUndefined();
    expect(
      checkNewAccount(currencies, {
        accountId: `streamer:${marketId}:revenue:PTS`,
        kind: AccountKind.STREAMER_REVENUE,
        currency: 'PTS',
        ownerId: marketId,
      }),
    ).toBeUndefined();
  });

  it('refuses unset kind, foreign currency, PTS clearing, bad owner and non-canonical ids', () => {
    expect(checkNewAccount(currencies, { ...wallet(1), kind: 0 })?.code).toBe(
      CreateAccountResultCode.INVALID_KIND,
    );
    expect(checkNewAccount(currencies, wallet(1, 'USD'))?.code).toBe(
      CreateAccountResultCode.UNSUPPORTED_CURRENCY,
    );
    expect(
      checkNewAccount(currencies, {
        accountId: 'psp_clearing:PTS',
        kind: AccountKind.PSP_CLEARING,
        currency: 'PTS',
        ownerId: '',
      })?.code,
    ).toBe(CreateAccountResultCode.UNSUPPORTED_CURRENCY);
    expect(checkNewAccount(currencies, { ...wallet(1), ownerId: 'not-a-ulid' })?.code).toBe(
      CreateAccountResultCode.INVALID_ID,
    );
    expect(checkNewAccount(currencies, { ...wallet(1), accountId: 'wallet:someone' })?.code).toBe(
      CreateAccountResultCode.INVALID_ID,
    );
    expect(checkNewAccount(currencies, { ...house(), ownerId: ulid(1) })?.code).toBe(
      CreateAccountResultCode.INVALID_ID,
    );
  });
});

describe('checkCommandShape', () => {
  const ok = command({
    transferId: 't1',
    debitAccountId: W1,
    creditAccountId: W2,
    amountMinor: 5n,
  });
  it.each<[string, Partial<TransferCommand>, number]>([
    ['empty id', { transferId: '' }, TransferResultCode.INVALID_TRANSFER_ID],
    ['id with spaces', { transferId: 'a b' }, TransferResultCode.INVALID_TRANSFER_ID],
    ['id too long', { transferId: 'x'.repeat(129) }, TransferResultCode.INVALID_TRANSFER_ID],
    ['zero amount', { amountMinor: 0n }, TransferResultCode.INVALID_AMOUNT],
    ['negative amount', { amountMinor: -1n }, TransferResultCode.INVALID_AMOUNT],
    ['same accounts', { creditAccountId: W1 }, TransferResultCode.ACCOUNTS_MUST_DIFFER],
    ['missing debit', { debitAccountId: '' }, TransferResultCode.INVALID_FIELD],
    ['unset kind', { kind: 0 }, TransferResultCode.INVALID_FIELD],
    ['unset code', { code: 0 }, TransferResultCode.INVALID_FIELD],
    ['bad currency', { currency: 'brl' }, TransferResultCode.INVALID_FIELD],
    ['timeout on single phase', { timeoutSeconds: 5n }, TransferResultCode.INVALID_TIMEOUT],
    [
      'timeout too long',
      { kind: TransferKind.PENDING, timeoutSeconds: 2_592_001n },
      TransferResultCode.INVALID_TIMEOUT,
    ],
    ['pending_id on single phase', { pendingId: 'p' }, TransferResultCode.INVALID_FIELD],
    [
      'bet stake without market',
      { code: TransferCode.BET_STAKE },
      TransferResultCode.INVALID_FIELD,
    ],
    ['deposit without payment', { code: TransferCode.DEPOSIT }, TransferResultCode.INVALID_FIELD],
    ['adjustment without memo', { memo: '' }, TransferResultCode.INVALID_FIELD],
    ['memo too long', { memo: 'm'.repeat(501) }, TransferResultCode.INVALID_FIELD],
    ['malformed market id', { marketId: 'm-1' }, TransferResultCode.INVALID_FIELD],
    [
      'void with amount',
      { kind: TransferKind.VOID_PENDING, pendingId: 'p', amountMinor: 3n },
      TransferResultCode.INVALID_AMOUNT,
    ],
    [
      'post without pending id',
      { kind: TransferKind.POST_PENDING },
      TransferResultCode.INVALID_FIELD,
    ],
  ])('refuses %s', (_name, change, code) => {
    expect(checkCommandShape({ ...ok, ...change })?.code).toBe(code);
  });

  it('accepts a well-formed command', () => {
    expect(checkCommandShape(ok)).toBeUndefined();
  });
});

describe('chainsOf', () => {
  it('ends each chain at the first unlinked command and flags an open tail', () => {
    const flags = [true, false, false, true, true].map((linked) => ({ linked }));
    expect(chainsOf(flags)).toEqual([
      { start: 0, end: 1, open: false },
      { start: 2, end: 2, open: false },
      { start: 3, end: 4, open: true },
    ]);
  });
});

describe('compareLockOrder', () => {
  it('puts per-user accounts before system accounts, then orders by id', () => {
    const ids = [
      'market:B:escrow',
      'wallet:B:BRL',
      'house:BRL',
      'streamer:A:revenue:BRL',
      'wallet:A:BRL',
    ];
    expect(ids.sort(compareLockOrder)).toEqual([
      'streamer:A:revenue:BRL',
      'wallet:A:BRL',
      'wallet:B:BRL',
      'house:BRL',
      'market:B:escrow',
    ]);
  });
});

describe('planBatch', () => {
  it('moves money single-phase and refuses to overdraw a wallet, while the house may go negative', () => {
    const result = plan([
      command({ transferId: 'a', debitAccountId: W1, creditAccountId: W2, amountMinor: 60n }),
      command({ transferId: 'b', debitAccountId: W1, creditAccountId: W2, amountMinor: 41n }),
      command({ transferId: 'c', debitAccountId: H, creditAccountId: W2, amountMinor: 1_000n }),
    ]);
    expect(result.codes).toEqual([
      TransferResultCode.OK,
      TransferResultCode.EXCEEDS_AVAILABLE,
      TransferResultCode.OK,
    ]);
    expect(result.deltas.get(W1)).toEqual({ ...zeroBalance, debitsPosted: 60n });
    expect(result.deltas.get(W2)).toEqual({ ...zeroBalance, creditsPosted: 1_060n });
    expect(result.deltas.get(H)).toEqual({ ...zeroBalance, debitsPosted: 1_000n });
  });

  it('reports unknown accounts and currency mismatch', () => {
    const result = plan([
      command({
        transferId: 'a',
        debitAccountId: 'wallet:nobody:BRL',
        creditAccountId: W2,
        amountMinor: 1n,
      }),
      command({
        transferId: 'b',
        debitAccountId: W1,
        creditAccountId: 'wallet:X:PTS',
        amountMinor: 1n,
      }),
    ]);
    expect(result.codes).toEqual([
      TransferResultCode.ACCOUNT_NOT_FOUND,
      TransferResultCode.CURRENCY_MISMATCH,
    ]);
    expect(result.steps).toHaveLength(0);
  });

  it('holds, posts part of a hold (releasing the rest), and refuses a second resolution', () => {
    const result = plan([
      command({
        transferId: 'h',
        kind: TransferKind.PENDING,
        debitAccountId: W1,
        creditAccountId: W2,
        amountMinor: 80n,
      }),
      command({ transferId: 'x', debitAccountId: W1, creditAccountId: W2, amountMinor: 30n }),
      command({
        transferId: 'p',
        kind: TransferKind.POST_PENDING,
        pendingId: 'h',
        amountMinor: 50n,
      }),
      command({ transferId: 'v', kind: TransferKind.VOID_PENDING, pendingId: 'h' }),
      command({ transferId: 'y', debitAccountId: W1, creditAccountId: W2, amountMinor: 50n }),
    ]);
    expect(result.codes).toEqual([
      TransferResultCode.OK,
      TransferResultCode.EXCEEDS_AVAILABLE, // 100 − 80 held = 20 available
      TransferResultCode.OK,
      TransferResultCode.PENDING_ALREADY_RESOLVED,
      TransferResultCode.OK, // 30 released by the partial post
    ]);
    expect(result.deltas.get(W1)).toEqual({ ...zeroBalance, debitsPosted: 100n });
    expect(availableOf({ ...zeroBalance, creditsPosted: 100n, debitsPosted: 100n })).toBe(0n);
    const hold = result.finished[0]!.transfer!;
    expect(hold.pendingStatus).toBe(PendingStatus.POSTED);
  });

  it('applies a linked chain all-or-nothing and names the failing command', () => {
    const result = plan([
      command({
        transferId: 'a',
        debitAccountId: W1,
        creditAccountId: W2,
        amountMinor: 10n,
        linked: true,
      }),
      command({
        transferId: 'b',
        debitAccountId: W1,
        creditAccountId: W2,
        amountMinor: 500n,
        linked: true,
      }),
      command({ transferId: 'c', debitAccountId: W1, creditAccountId: W2, amountMinor: 1n }),
      command({ transferId: 'd', debitAccountId: W1, creditAccountId: W2, amountMinor: 100n }),
    ]);
    expect(result.codes).toEqual([
      TransferResultCode.LINKED_EVENT_FAILED,
      TransferResultCode.EXCEEDS_AVAILABLE,
      TransferResultCode.LINKED_EVENT_FAILED,
      TransferResultCode.OK,
    ]);
    expect(result.steps).toHaveLength(1);
  });

  it('fails an unterminated chain as a whole', () => {
    const result = plan([
      command({
        transferId: 'a',
        debitAccountId: W1,
        creditAccountId: W2,
        amountMinor: 10n,
        linked: true,
      }),
      command({
        transferId: 'b',
        debitAccountId: W1,
        creditAccountId: W2,
        amountMinor: 10n,
        linked: true,
      }),
    ]);
    expect(result.codes).toEqual([
      TransferResultCode.LINKED_EVENT_FAILED,
      TransferResultCode.LINKED_EVENT_CHAIN_OPEN,
    ]);
    expect(result.steps).toHaveLength(0);
  });

  it('answers a repeat of a committed id from the stored transfer, and refuses different content', () => {
    const stored: Transfer = {
      ...finishOutcomesTransfer('a'),
    };
    const existing = new Map([
      ['a', { transfer: stored, fingerprint: JSON.stringify(['a', '10', false, 1, '']) }],
    ]);
    const result = plan(
      [
        command({ transferId: 'a', debitAccountId: W1, creditAccountId: W2, amountMinor: 10n }),
        command({ transferId: 'a', debitAccountId: W1, creditAccountId: W2, amountMinor: 11n }),
      ],
      { existing },
    );
    expect(result.codes).toEqual([
      TransferResultCode.ALREADY_EXISTS_SAME,
      TransferResultCode.INVALID_TRANSFER_ID,
    ]);
    expect(result.finished[0]!.transfer).toBe(stored);
    expect(result.steps).toHaveLength(0);

    const different = plan(
      [command({ transferId: 'a', debitAccountId: W1, creditAccountId: W2, amountMinor: 12n })],
      { existing },
    );
    expect(different.codes).toEqual([TransferResultCode.ID_REUSED_DIFFERENT_CONTENT]);
  });

  it('treats a repeat within the request as the same transfer', () => {
    const same = command({
      transferId: 'a',
      debitAccountId: W1,
      creditAccountId: W2,
      amountMinor: 10n,
    });
    const result = plan([same, same]);
    expect(result.codes).toEqual([TransferResultCode.OK, TransferResultCode.ALREADY_EXISTS_SAME]);
    expect(result.steps).toHaveLength(1);
  });

  it('expires a hold past its timeout when a post meets it, even if the post’s chain fails', () => {
    const hold: Transfer = {
      ...finishOutcomesTransfer('h'),
      kind: TransferKind.PENDING,
      amountMinor: 40n,
      expiresAtMs: NOW - 1,
      pendingStatus: PendingStatus.PENDING,
    };
    const accounts = new Map<string, Account>([
      [
        W1,
        {
          ...account(W1, AccountKind.USER_WALLET),
          balance: { ...zeroBalance, creditsPosted: 100n, debitsPending: 40n },
        },
      ],
      [
        W2,
        {
          ...account(W2, AccountKind.USER_WALLET),
          balance: { ...zeroBalance, creditsPending: 40n },
        },
      ],
    ]);
    const result = plan(
      [
        command({
          transferId: 'ok',
          debitAccountId: W1,
          creditAccountId: W2,
          amountMinor: 1n,
          linked: true,
        }),
        command({
          transferId: 'p',
          kind: TransferKind.POST_PENDING,
          pendingId: 'h',
          amountMinor: 40n,
        }),
      ],
      { accounts, holds: new Map([['h', hold]]) },
    );
    expect(result.codes).toEqual([
      TransferResultCode.LINKED_EVENT_FAILED,
      TransferResultCode.PENDING_EXPIRED,
    ]);
    expect(result.steps.map((s) => s.type)).toEqual(['expiry']);
    expect(result.holdResolutions).toEqual([
      { holdId: 'h', status: PendingStatus.EXPIRED, resolvedAtMs: NOW, resolvedBy: '', step: 0 },
    ]);
    expect(result.deltas.get(W1)).toEqual({ ...zeroBalance, debitsPending: -40n });
  });

  it('refuses posts that do not match the hold', () => {
    const hold: Transfer = {
      ...finishOutcomesTransfer('h'),
      kind: TransferKind.PENDING,
      amountMinor: 40n,
      pendingStatus: PendingStatus.PENDING,
    };
    const holds = new Map([['h', hold]]);
    const result = plan(
      [
        command({
          transferId: 'p1',
          kind: TransferKind.POST_PENDING,
          pendingId: 'h',
          amountMinor: 41n,
        }),
        command({
          transferId: 'p2',
          kind: TransferKind.POST_PENDING,
          pendingId: 'h',
          amountMinor: 1n,
          debitAccountId: W2,
        }),
        command({
          transferId: 'p3',
          kind: TransferKind.POST_PENDING,
          pendingId: 'h',
          amountMinor: 1n,
          currency: 'PTS',
        }),
        command({
          transferId: 'p4',
          kind: TransferKind.POST_PENDING,
          pendingId: 'nope',
          amountMinor: 1n,
        }),
        command({
          transferId: 'p5',
          kind: TransferKind.POST_PENDING,
          pendingId: 'x',
          amountMinor: 1n,
        }),
      ],
      { holds, existing: new Map() },
    );
    expect(result.codes).toEqual([
      TransferResultCode.POST_EXCEEDS_PENDING,
      TransferResultCode.PENDING_MISMATCH,
      TransferResultCode.PENDING_MISMATCH,
      TransferResultCode.PENDING_NOT_FOUND,
      TransferResultCode.PENDING_NOT_FOUND,
    ]);
  });
});

function finishOutcomesTransfer(id: string): Transfer {
  return {
    transferId: id,
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: W1,
    creditAccountId: W2,
    amountMinor: 10n,
    currency: 'BRL',
    pendingId: '',
    timeoutSeconds: 0n,
    expiresAtMs: 0,
    code: TransferCode.ADJUSTMENT,
    marketId: '',
    betId: '',
    paymentId: '',
    settlementId: '',
    memo: 'test',
    committedAtMs: NOW - 10,
    sequence: 1n,
    pendingStatus: PendingStatus.NONE,
    resolvedAtMs: 0,
  };
}
