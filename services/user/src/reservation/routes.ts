/**
 * ReserveStakes (internal.proto, UserInternalService): request validation and proto translation
 * around the reserver (reserve-stakes.ts). Who may call it is the policy's (bet-engine only).
 */
import type { ServiceImpl } from '@connectrpc/connect';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { ReservationOutcome } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import { isUlid } from '@streambet/platform/ids/ulid';
import { playCurrency } from '../identity/domain/limits/eligibility.js';
import { eligibilityResultProto } from '../identity/eligibility.js';
import type { Reservation, ReservationVerdict, StakeReserver } from './reserve-stakes.js';

/** Most reservations in one call. */
export const maxReservations = 1000;
/** Longest hold timeout accepted (30 days, the ledger's own bound). */
const maxTimeoutSeconds = 2_592_000n;
const maxIdLength = 128;

/** Dependencies of the ReserveStakes handler. */
export interface ReservationRoutesDeps {
  readonly reserver: StakeReserver;
  /** The deployment's real currency (PTS is always allowed). */
  readonly realCurrency: string;
}

const outcomes: Readonly<Record<ReservationVerdict['outcome'], ReservationOutcome>> = {
  RESERVED: ReservationOutcome.RESERVED,
  INELIGIBLE: ReservationOutcome.INELIGIBLE,
  USER_NOT_FOUND: ReservationOutcome.USER_NOT_FOUND,
  INSUFFICIENT_FUNDS: ReservationOutcome.INSUFFICIENT_FUNDS,
  HOLD_REFUSED: ReservationOutcome.HOLD_REFUSED,
};

/** The ReserveStakes handler, to spread into UserInternalService's implementation. */
export function createReservationRoutes(
  deps: ReservationRoutesDeps,
): Pick<ServiceImpl<typeof UserInternalService>, 'reserveStakes'> {
  return {
    async reserveStakes(req) {
      const violations: FieldViolation[] = [];
      if (req.reservations.length === 0 || req.reservations.length > maxReservations) {
        violations.push({
          field: 'reservations',
          description: `must hold 1–${maxReservations} reservations, got ${req.reservations.length}`,
        });
      }
      const seen = new Set<string>();
      const reservations = req.reservations.map((r, index): Reservation => {
        const at = `reservations[${index}]`;
        if (!isUlid(r.userId))
          violations.push({ field: `${at}.user_id`, description: 'must be a ULID' });
        if (!isUlid(r.betId))
          violations.push({ field: `${at}.bet_id`, description: 'must be a ULID' });
        for (const [field, value] of [
          ['hold_transfer_id', r.holdTransferId],
          ['market_id', r.marketId],
        ] as const) {
          if (value === '' || value.length > maxIdLength)
            violations.push({
              field: `${at}.${field}`,
              description: `must be 1–${maxIdLength} characters`,
            });
        }
        if (seen.has(r.holdTransferId))
          violations.push({
            field: `${at}.hold_transfer_id`,
            description: 'is repeated in this call',
          });
        seen.add(r.holdTransferId);
        const stake = r.stake;
        if (stake === undefined || stake.amountMinor <= 0n) {
          violations.push({ field: `${at}.stake.amount_minor`, description: 'must be positive' });
        } else if (stake.currency !== deps.realCurrency && stake.currency !== playCurrency) {
          violations.push({
            field: `${at}.stake.currency`,
            description: `must be ${deps.realCurrency} or ${playCurrency}`,
          });
        }
        if (r.timeoutSeconds < 0n || r.timeoutSeconds > maxTimeoutSeconds)
          violations.push({
            field: `${at}.timeout_seconds`,
            description: `must be 0–${maxTimeoutSeconds}`,
          });
        return {
          userId: r.userId,
          holdTransferId: r.holdTransferId,
          marketId: r.marketId,
          betId: r.betId,
          currency: stake?.currency ?? '',
          stakeMinor: stake?.amountMinor ?? 0n,
          timeoutSeconds: r.timeoutSeconds,
        };
      });
      if (violations.length > 0)
        throw new ValidationError('bad stake reservation request', violations.slice(0, 20));
      const verdicts = await deps.reserver.reserve(reservations);
      return {
        results: verdicts.map((verdict, index) => {
          const reservation = reservations[index]!;
          return {
            holdTransferId: reservation.holdTransferId,
            outcome: outcomes[verdict.outcome],
            ...(verdict.outcome === 'INELIGIBLE'
              ? { eligibility: eligibilityResultProto(verdict.answer, reservation.currency) }
              : {}),
            ...('holdCode' in verdict ? { holdCode: verdict.holdCode } : {}),
            ...(verdict.outcome === 'INSUFFICIENT_FUNDS'
              ? {
                  availableMinor: verdict.availableMinor,
                  detail: `your available ${reservation.currency} balance (${verdict.availableMinor}) does not cover a stake of ${reservation.stakeMinor}`,
                }
              : {}),
            ...(verdict.outcome === 'HOLD_REFUSED' ? { detail: verdict.detail } : {}),
            ...(verdict.outcome === 'USER_NOT_FOUND' ? { detail: 'no such user' } : {}),
            ...(verdict.outcome === 'INELIGIBLE'
              ? { detail: 'the user may not bet this amount now' }
              : {}),
          };
        }),
      };
    },
  };
}
