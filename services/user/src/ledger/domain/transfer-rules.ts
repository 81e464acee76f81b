/**
 * The shape rules of a transfer command (ids, kinds, codes, amounts, memo), linked chains, and the
 * canonical content its idempotency fingerprint is taken of.
 */
import { CURRENCY, MAX_ACCOUNT_ID_LENGTH, ULID } from './account-rules.js';
import {
  MAX_TIMEOUT_SECONDS,
  TransferCode,
  TransferKind,
  TransferResultCode,
  type TransferCommand,
} from './types.js';

/** Caller-chosen transfer ids: 1–128 chars of [A-Za-z0-9:_.-] (derived from a stable business id). */
const TRANSFER_ID = /^[A-Za-z0-9:_.-]{1,128}$/;
/** Longest memo. */
const MAX_MEMO_LENGTH = 500;

/** A refusal of one command: the result code and a detail for logs. */
export interface Refusal {
  readonly code: TransferResultCode;
  readonly detail: string;
}

const refuse = (code: TransferResultCode, detail: string): Refusal => ({ code, detail });

const marketCodes = new Set<number>([
  TransferCode.BET_STAKE,
  TransferCode.PAYOUT,
  TransferCode.COMMISSION,
  TransferCode.STREAMER_SHARE,
  TransferCode.BREAKAGE,
  TransferCode.REFUND,
  TransferCode.PAYOUT_REVERSAL,
]);
const paymentCodes = new Set<number>([TransferCode.DEPOSIT, TransferCode.WITHDRAWAL]);

/** True when `value` is a defined transfer kind. */
function isTransferKind(value: number): value is TransferKind {
  return Number.isInteger(value) && value >= 1 && value <= 4;
}

/** True when `value` is a defined transfer code. */
export function isTransferCode(value: number): value is TransferCode {
  return Number.isInteger(value) && value >= 1 && value <= 12;
}

const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

function badAccountId(id: string): boolean {
  return id.length > MAX_ACCOUNT_ID_LENGTH || !PRINTABLE_ASCII.test(id);
}

/** A refusal when a set correlation id is not a ULID. */
function badCorrelationId(value: string, field: string): Refusal | undefined {
  return value !== '' && !ULID.test(value)
    ? refuse(TransferResultCode.INVALID_FIELD, `${field} must be a ULID`)
    : undefined;
}

/**
 * Checks one command without looking at stored state: id format, kind, amount and timeout rules
 * per kind, required and forbidden fields, correlation ids the code requires. Returns the first
 * refusal, or undefined when the command is well-formed.
 */
export function checkCommandShape(command: TransferCommand): Refusal | undefined {
  if (!TRANSFER_ID.test(command.transferId)) {
    return refuse(
      TransferResultCode.INVALID_TRANSFER_ID,
      'transfer_id must be 1–128 characters of A-Z a-z 0-9 : _ . -',
    );
  }
  if (!isTransferKind(command.kind)) {
    return refuse(TransferResultCode.INVALID_FIELD, 'kind must be set');
  }
  if (!isTransferCode(command.code)) {
    return refuse(TransferResultCode.INVALID_FIELD, 'code must be set');
  }
  if (!CURRENCY.test(command.currency)) {
    return refuse(
      TransferResultCode.INVALID_FIELD,
      'currency must be an ISO 4217 code or PTS (three upper-case letters)',
    );
  }
  if (badAccountId(command.debitAccountId) || badAccountId(command.creditAccountId)) {
    return refuse(
      TransferResultCode.INVALID_FIELD,
      'account ids must be at most 128 printable ASCII characters',
    );
  }
  const twoPhaseResolution =
    command.kind === TransferKind.POST_PENDING || command.kind === TransferKind.VOID_PENDING;
  if (twoPhaseResolution) {
    if (command.pendingId === '') {
      return refuse(TransferResultCode.INVALID_FIELD, 'pending_id is required to post or void');
    }
    if (!TRANSFER_ID.test(command.pendingId)) {
      return refuse(
        TransferResultCode.INVALID_FIELD,
        'pending_id must be 1–128 characters of A-Z a-z 0-9 : _ . -',
      );
    }
    if (command.pendingId === command.transferId) {
      return refuse(TransferResultCode.INVALID_FIELD, 'pending_id must differ from transfer_id');
    }
  } else {
    if (command.pendingId !== '') {
      return refuse(TransferResultCode.INVALID_FIELD, 'pending_id must be empty for this kind');
    }
    if (command.debitAccountId === '') {
      return refuse(TransferResultCode.INVALID_FIELD, 'debit_account_id is required');
    }
    if (command.creditAccountId === '') {
      return refuse(TransferResultCode.INVALID_FIELD, 'credit_account_id is required');
    }
  }
  if (command.debitAccountId !== '' && command.debitAccountId === command.creditAccountId) {
    return refuse(
      TransferResultCode.ACCOUNTS_MUST_DIFFER,
      'debit_account_id and credit_account_id must differ',
    );
  }
  if (command.kind === TransferKind.VOID_PENDING) {
    if (command.amountMinor !== 0n) {
      return refuse(
        TransferResultCode.INVALID_AMOUNT,
        'amount_minor must be 0 to void (the whole hold is released)',
      );
    }
  } else if (command.amountMinor <= 0n) {
    return refuse(TransferResultCode.INVALID_AMOUNT, 'amount_minor must be greater than 0');
  }
  if (command.kind === TransferKind.PENDING) {
    if (command.timeoutSeconds < 0n || command.timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      return refuse(
        TransferResultCode.INVALID_TIMEOUT,
        `timeout_seconds must be 0 (never) or 1–${MAX_TIMEOUT_SECONDS}`,
      );
    }
  } else if (command.timeoutSeconds !== 0n) {
    return refuse(TransferResultCode.INVALID_TIMEOUT, 'timeout_seconds must be 0 for this kind');
  }
  if (marketCodes.has(command.code) && command.marketId === '') {
    return refuse(TransferResultCode.INVALID_FIELD, 'market_id is required for this code');
  }
  if (command.code === TransferCode.BET_STAKE && command.betId === '') {
    return refuse(TransferResultCode.INVALID_FIELD, 'bet_id is required for BET_STAKE');
  }
  if (paymentCodes.has(command.code) && command.paymentId === '') {
    return refuse(TransferResultCode.INVALID_FIELD, 'payment_id is required for this code');
  }
  const notUlid =
    badCorrelationId(command.marketId, 'market_id') ??
    badCorrelationId(command.betId, 'bet_id') ??
    badCorrelationId(command.paymentId, 'payment_id') ??
    badCorrelationId(command.settlementId, 'settlement_id');
  if (notUlid !== undefined) return notUlid;
  if (command.memo.length > MAX_MEMO_LENGTH) {
    return refuse(
      TransferResultCode.INVALID_FIELD,
      `memo must be at most ${MAX_MEMO_LENGTH} characters`,
    );
  }
  if (command.code === TransferCode.ADJUSTMENT && command.memo === '') {
    return refuse(TransferResultCode.INVALID_FIELD, 'memo is required for ADJUSTMENT (the reason)');
  }
  return undefined;
}

/** A run of commands that commit together: [start, end] inclusive; `open` when the request ends inside it. */
export interface Chain {
  readonly start: number;
  readonly end: number;
  /** The last command of the request has linked = true (an unterminated chain). */
  readonly open: boolean;
}

/**
 * Splits a request into chains: each chain ends with the first command whose `linked` is false.
 * A command that is not linked to its neighbours is a chain of one.
 */
export function chainsOf(commands: readonly Pick<TransferCommand, 'linked'>[]): Chain[] {
  const chains: Chain[] = [];
  let start = 0;
  commands.forEach((command, index) => {
    if (!command.linked) {
      chains.push({ start, end: index, open: false });
      start = index + 1;
    }
  });
  if (start < commands.length) chains.push({ start, end: commands.length - 1, open: true });
  return chains;
}

/**
 * The content that idempotency compares: every field of the command, in a fixed order. The store
 * hashes it (together with the chain's other members for linked commands) into a fingerprint.
 */
export function canonicalContent(command: TransferCommand): string {
  return JSON.stringify([
    command.transferId,
    command.kind,
    command.debitAccountId,
    command.creditAccountId,
    command.amountMinor.toString(),
    command.currency,
    command.pendingId,
    command.timeoutSeconds.toString(),
    command.linked,
    command.code,
    command.marketId,
    command.betId,
    command.paymentId,
    command.settlementId,
    command.memo,
  ]);
}
