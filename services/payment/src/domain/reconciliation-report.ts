/**
 * The daily provider-vs-ledger report, as pure rules: for one UTC day, the money the providers
 * confirmed (deposits succeeded, withdrawals paid) against the money the ledger moved for payments
 * (`payment:<id>:credit`, `payment:<id>:post`), per currency and kind. A difference in totals, or
 * a payment present on one side only or with another amount, flags the day. Each side is attributed
 * to the day of its own timestamp (provider completion, ledger commit), so a payment completed a
 * few ms before midnight and credited after it shows on both days, with opposite differences; the
 * mismatched payment ids name it.
 */
import type { PaymentKind } from './payment.js';

/** One UTC day in ms. */
export const dayMs = 86_400_000;

/** Start of the UTC day containing `ms`. */
export function dayStartOf(ms: number): number {
  return Math.floor(ms / dayMs) * dayMs;
}

/** One payment's money on one side (provider-confirmed or ledger-moved). */
export interface ReportItem {
  readonly paymentId: string;
  readonly kind: PaymentKind;
  readonly currency: string;
  readonly amountMinor: bigint;
}

/** One day's comparison for one currency and kind (payment.proto's ReconciliationReport). */
export interface ReconciliationReportRow {
  readonly dayStartMs: number;
  readonly currency: string;
  readonly kind: PaymentKind;
  readonly providerTotalMinor: bigint;
  readonly ledgerTotalMinor: bigint;
  /** providerTotalMinor − ledgerTotalMinor. */
  readonly differenceMinor: bigint;
  readonly providerCount: number;
  readonly ledgerCount: number;
  /** Sorted; at most {@link maxMismatchedIds}. */
  readonly mismatchedPaymentIds: readonly string[];
  readonly flagged: boolean;
  readonly computedAtMs: number;
}

/** Most mismatched payment ids kept on one report. */
export const maxMismatchedIds = 100;

const kinds: readonly PaymentKind[] = ['DEPOSIT', 'WITHDRAWAL'];

/**
 * Compares one day's two sides. Every (currency, kind) in `currencies` gets a report, even with
 * nothing on either side (an all-zero report says the day was checked); pairs seen only in the
 * items are reported too.
 */
export function compareDay(input: {
  readonly dayStartMs: number;
  readonly currencies: readonly string[];
  readonly provider: readonly ReportItem[];
  readonly ledger: readonly ReportItem[];
  readonly computedAtMs: number;
}): ReconciliationReportRow[] {
  const keyOf = (currency: string, kind: PaymentKind): string => `${currency}\u0000${kind}`;
  const groups = new Map<
    string,
    {
      currency: string;
      kind: PaymentKind;
      provider: Map<string, bigint>;
      ledger: Map<string, bigint>;
    }
  >();
  const group = (currency: string, kind: PaymentKind) => {
    const key = keyOf(currency, kind);
    let found = groups.get(key);
    if (found === undefined) {
      found = { currency, kind, provider: new Map(), ledger: new Map() };
      groups.set(key, found);
    }
    return found;
  };
  for (const currency of input.currencies) for (const kind of kinds) group(currency, kind);
  const add = (side: Map<string, bigint>, item: ReportItem): void => {
    side.set(item.paymentId, (side.get(item.paymentId) ?? 0n) + item.amountMinor);
  };
  for (const item of input.provider) add(group(item.currency, item.kind).provider, item);
  for (const item of input.ledger) add(group(item.currency, item.kind).ledger, item);

  const sum = (side: Map<string, bigint>): bigint => {
    let total = 0n;
    for (const amount of side.values()) total += amount;
    return total;
  };
  return [...groups.values()]
    .sort((a, b) =>
      a.currency === b.currency
        ? a.kind.localeCompare(b.kind)
        : a.currency.localeCompare(b.currency),
    )
    .map((g) => {
      const mismatched = new Set<string>();
      for (const [id, amount] of g.provider) if (g.ledger.get(id) !== amount) mismatched.add(id);
      for (const [id, amount] of g.ledger) if (g.provider.get(id) !== amount) mismatched.add(id);
      const providerTotalMinor = sum(g.provider);
      const ledgerTotalMinor = sum(g.ledger);
      const differenceMinor = providerTotalMinor - ledgerTotalMinor;
      return {
        dayStartMs: input.dayStartMs,
        currency: g.currency,
        kind: g.kind,
        providerTotalMinor,
        ledgerTotalMinor,
        differenceMinor,
        providerCount: g.provider.size,
        ledgerCount: g.ledger.size,
        mismatchedPaymentIds: [...mismatched].sort().slice(0, maxMismatchedIds),
        flagged: differenceMinor !== 0n || mismatched.size > 0,
        computedAtMs: input.computedAtMs,
      };
    });
}

/**
 * The payment a ledger transfer id of the payment service belongs to, and the side of the report
 * it counts on: `payment:<id>:credit` (deposit credited) and `payment:<id>:post` (withdrawal paid).
 * Holds and voids move no money out of the platform and count on neither side.
 */
export function reportedTransfer(
  transferId: string,
): { readonly paymentId: string; readonly kind: PaymentKind } | undefined {
  const match = /^payment:([^:]+):(credit|post)$/.exec(transferId);
  if (match === null) return undefined;
  return { paymentId: match[1]!, kind: match[2] === 'credit' ? 'DEPOSIT' : 'WITHDRAWAL' };
}
