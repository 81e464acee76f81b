/**
 * Eligibility of EXCHANGE orders (freeze, self-exclusion, cool-off, age, KYC, loss limits): ONE
 * CheckEligibility call per batch, before anything is written, with the most each order can lose
 * (a back's stake, a lay's ceil(liability)) as the amount at risk.
 */
import type { Client } from '@connectrpc/connect';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import {
  EligibilityAction,
  IneligibilityReason,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { layReserveMinor } from '@streambet/exchange/exposure';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import type { Ineligibility } from '../domain/bet.js';
import type { XOrder } from './market-book.js';

/** Answers, per order in request order: undefined when allowed, else the reasons. */
export type EligibilityPort = (
  orders: readonly XOrder[],
) => Promise<Array<readonly Ineligibility[] | undefined>>;

const reasons: Readonly<Partial<Record<IneligibilityReason, Ineligibility['reason']>>> = {
  [IneligibilityReason.ACCOUNT_FROZEN]: 'ACCOUNT_FROZEN',
  [IneligibilityReason.SELF_EXCLUDED]: 'SELF_EXCLUDED',
  [IneligibilityReason.COOLING_OFF]: 'COOLING_OFF',
  [IneligibilityReason.UNDER_AGE]: 'UNDER_AGE',
  [IneligibilityReason.KYC_REQUIRED]: 'KYC_REQUIRED',
  [IneligibilityReason.LOSS_LIMIT_EXCEEDED]: 'LOSS_LIMIT_EXCEEDED',
};

/** The most an order can lose: what CheckEligibility weighs against loss limits. */
export function orderRiskMinor(order: XOrder): bigint {
  return order.side === 'back'
    ? order.stakeMinor
    : layReserveMinor(order.stakeMinor, order.oddsHundredths);
}

/** The port over UserInternalService.CheckEligibility. */
export function eligibilityPort(client: Client<typeof UserInternalService>): EligibilityPort {
  return async (orders) => {
    if (orders.length === 0) return [];
    let response;
    try {
      response = await client.checkEligibility({
        checks: orders.map((order) => ({
          userId: order.userId,
          action: EligibilityAction.BET,
          amount: { amountMinor: orderRiskMinor(order), currency: order.currency },
        })),
      });
    } catch (error) {
      throw new UnavailableError('the user service is unavailable; retry shortly', {
        cause: error,
      });
    }
    return orders.map((_, index) => {
      const result = response.results[index];
      if (result === undefined || !result.userFound) {
        return [{ reason: 'ACCOUNT_FROZEN', untilMs: 0, remainingMinor: undefined }];
      }
      if (result.result?.allowed === true) return undefined;
      return (result.result?.reasons ?? []).map((r) => ({
        reason: reasons[r.reason] ?? 'OTHER',
        untilMs: Number(r.untilMs),
        remainingMinor: r.remaining?.amountMinor,
      }));
    });
  };
}
