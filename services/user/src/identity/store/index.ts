/**
 * SQL of identity, sessions, KYC and limits, through the platform's Sql port (PostgreSQL or PGlite),
 * one file per purpose: users.ts, sessions.ts, kyc.ts, limits.ts, eligibility.ts, events.ts.
 * Every method takes the executor to run on: the service opens the transaction, locks the user row
 * first (`getUser(tx, id, { forUpdate: true })`), decides with the pure domain, writes here and
 * appends the events to the outbox in the same transaction ({@link IdentityStore.appendEvents}).
 */
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import { accountRecoveryQueries } from './account-recovery.js';
import { eligibilityQueries } from './eligibility.js';
import { createUserEventAppender } from './events.js';
import { kycQueries } from './kyc.js';
import { limitQueries } from './limits.js';
import { sessionQueries } from './sessions.js';
import { twoStepQueries } from './two-step.js';
import { userQueries } from './users.js';

export { userEvent, userEventTopic, type EventActor, type PendingUserEvent } from './events.js';
export type {
  EmailTokenPurpose,
  EmailTokenRecord,
  SessionRecord,
  ThrottleDecision,
} from './account-recovery.js';
export type { KycCaseFilter } from './kyc.js';
export type { DueLimit } from './limits.js';
export type { RefreshTokenRecord } from './sessions.js';
export type { EmailChangeTokenRecord, LoginSecondStepRecord, TwoStepRecord } from './two-step.js';
export type { UserFilter, UserRecord } from './users.js';

/** Creates the store; `clock` stamps event metadata. */
export function createIdentityStore(sql: Sql, options: { readonly clock: Clock }) {
  return {
    sql,
    ...userQueries,
    ...sessionQueries,
    ...kycQueries,
    ...limitQueries,
    ...eligibilityQueries,
    ...accountRecoveryQueries,
    ...twoStepQueries,
    ...createUserEventAppender(options.clock),
  };
}

/** The identity store: every method of the parts above, plus the Sql port it was made with. */
export type IdentityStore = ReturnType<typeof createIdentityStore>;
