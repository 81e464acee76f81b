/** Pure builders for ledger tests (no I/O), shared by unit and integration tests. */
import {
  AccountKind,
  TransferCode,
  TransferKind,
  type NewAccount,
  type TransferCommand,
} from '../../src/ledger/domain/index.js';

/** The deployment currency used in tests. */
export const REAL = 'BRL';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A deterministic ULID-shaped id from a number (26 Crockford chars). */
export function ulid(n: number): string {
  let out = '';
  let value = BigInt(n);
  for (let i = 0; i < 26; i += 1) {
    out = CROCKFORD[Number(value % 32n)]! + out;
    value /= 32n;
  }
  return out;
}

/** A user wallet to create. */
export function wallet(n: number, currency = REAL): NewAccount {
  const ownerId = ulid(n);
  return {
    accountId: `wallet:${ownerId}:${currency}`,
    kind: AccountKind.USER_WALLET,
    currency,
    ownerId,
  };
}

/** A market escrow to create. */
export function escrow(n: number, currency = REAL): NewAccount {
  const ownerId = ulid(1_000_000 + n);
  return {
    accountId: `market:${ownerId}:escrow`,
    kind: AccountKind.MARKET_ESCROW,
    currency,
    ownerId,
  };
}

/** The house account of a currency. */
export function house(currency = REAL): NewAccount {
  return { accountId: `house:${currency}`, kind: AccountKind.HOUSE, currency, ownerId: '' };
}

/** A transfer command with defaults filled in (single-phase ADJUSTMENT). */
export function command(
  partial: Partial<TransferCommand> & Pick<TransferCommand, 'transferId'>,
): TransferCommand {
  return {
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: '',
    creditAccountId: '',
    amountMinor: 0n,
    currency: REAL,
    pendingId: '',
    timeoutSeconds: 0n,
    linked: false,
    code: TransferCode.ADJUSTMENT,
    marketId: '',
    betId: '',
    paymentId: '',
    settlementId: '',
    memo: 'test',
    ...partial,
  };
}

/** A manual clock tests move by hand. */
export function manualClock(startMs = 1_800_000_000_000): {
  now(): number;
  advance(ms: number): void;
} {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}
