/**
 * A refused placement as an error: the domain's {@link Rejection} decides the kind (and so the
 * status code); the contract's BetRejection detail (reason and figures) is attached here, the one
 * place it is built, and sent by the platform's error interceptor.
 */
import { create } from '@bufbuild/protobuf';
import { BetRejectionSchema } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Rejection, RejectionKind } from './domain/bet.js';
import { rejectionReasonToProto } from './proto-codec.js';

/** PlaceBet refused for `rejection.reason`; the message is the rejection's. */
export class BetRejectedError extends DomainError {
  readonly kind: RejectionKind;

  constructor(readonly rejection: Rejection) {
    super(rejection.message, {
      details: [
        {
          desc: BetRejectionSchema,
          value: create(BetRejectionSchema, {
            reason: rejectionReasonToProto(rejection.reason),
            limitMinor: rejection.limitMinor,
            availableMinor: rejection.availableMinor,
            untilMs: BigInt(rejection.untilMs),
            currency: rejection.currency,
          }),
        },
      ],
    });
    this.kind = rejection.kind;
  }
}
