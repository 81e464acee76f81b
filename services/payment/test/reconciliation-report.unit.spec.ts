/** The daily report's pure comparison: totals, differences and the payments named. */
import { describe, expect, it } from 'vitest';
import {
  compareDay,
  dayStartOf,
  reportedTransfer,
  type ReportItem,
} from '../src/domain/reconciliation-report.js';

const day = Date.UTC(2026, 11, 1);
const item = (paymentId: string, amountMinor: bigint, kind: ReportItem['kind'] = 'DEPOSIT') => ({
  paymentId,
  kind,
  currency: 'BRL',
  amountMinor,
});

describe('daily reconciliation report', () => {
  it('reports every kind of the deployment currency, clean when both sides agree', () => {
    const reports = compareDay({
      dayStartMs: day,
      currencies: ['BRL'],
      provider: [item('a', 100n), item('b', 50n, 'WITHDRAWAL')],
      ledger: [item('b', 50n, 'WITHDRAWAL'), item('a', 100n)],
      computedAtMs: day + 5,
    });
    expect(reports.map((r) => [r.kind, r.differenceMinor, r.flagged])).toEqual([
      ['DEPOSIT', 0n, false],
      ['WITHDRAWAL', 0n, false],
    ]);
    const empty = compareDay({
      dayStartMs: day,
      currencies: ['BRL'],
      provider: [],
      ledger: [],
      computedAtMs: 0,
    });
    expect(empty.every((r) => !r.flagged && r.providerTotalMinor === 0n)).toBe(true);
  });

  it('flags equal totals made of different payments, and names them', () => {
    const [deposits] = compareDay({
      dayStartMs: day,
      currencies: ['BRL'],
      provider: [item('a', 100n), item('b', 50n)],
      ledger: [item('a', 50n), item('b', 100n)],
      computedAtMs: 0,
    });
    expect(deposits).toMatchObject({
      differenceMinor: 0n,
      flagged: true,
      mismatchedPaymentIds: ['a', 'b'],
    });
  });

  it('reports a currency seen only in the items, and signs the difference provider − ledger', () => {
    const reports = compareDay({
      dayStartMs: day,
      currencies: ['BRL'],
      provider: [{ ...item('u', 10n), currency: 'USD' }],
      ledger: [],
      computedAtMs: 0,
    });
    expect(reports.find((r) => r.currency === 'USD' && r.kind === 'DEPOSIT')).toMatchObject({
      differenceMinor: 10n,
      mismatchedPaymentIds: ['u'],
    });
  });

  it('counts only credits and posts of payment transfers', () => {
    expect(reportedTransfer('payment:01ABC:credit')).toEqual({
      paymentId: '01ABC',
      kind: 'DEPOSIT',
    });
    expect(reportedTransfer('payment:01ABC:post')).toEqual({
      paymentId: '01ABC',
      kind: 'WITHDRAWAL',
    });
    expect(reportedTransfer('payment:01ABC:hold')).toBeUndefined();
    expect(reportedTransfer('payment:01ABC:void')).toBeUndefined();
    expect(reportedTransfer('bet:01ABC:stake')).toBeUndefined();
    expect(dayStartOf(day + 86_399_999)).toBe(day);
  });
});
