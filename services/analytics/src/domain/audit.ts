/**
 * Which events are audited and how (pure): every state change a regulator could ask about — bets,
 * ledger transfers and holds, registrations, role grants, freezes, KYC decisions, limits, market
 * transitions and voids, settlements and payouts, payment steps, channel links, fraud flags —
 * becomes one audit entry naming its actor, its subject and the reason given. Derived data (odds)
 * and stream telemetry (online/offline, Twitch predictions, which act only through market events)
 * are not audited.
 */

/** What an event contributes to the audit log (the chain fields are added when appended). */
export interface AuditDraft {
  readonly occurredAtMs: number;
  readonly actorType: 'user' | 'service';
  readonly actorUserId: string;
  /** Role enum number (streambet.common.v1.Role); 0 for services. */
  readonly actorRole: number;
  readonly actorService: string;
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId: string;
  readonly reason: string;
  readonly detailsJson: string;
  /** Empty for direct entries (this service's own admin actions). */
  readonly sourceEventId: string;
  readonly traceId: string;
}

type Json = Record<string, unknown>;
type Rule = readonly [subjectType: string, subjectId: (event: Json) => unknown];

const field =
  (...path: string[]) =>
  (event: Json): unknown =>
    path.reduce<unknown>(
      (value, key) =>
        value !== null && typeof value === 'object' ? (value as Json)[key] : undefined,
      event,
    );

const P = 'streambet.events.v1.';
const transfer: Rule = ['transfer', field('transfer', 'transferId')];
const user: Rule = ['user', field('userId')];
const limit: Rule = ['limit', field('userId')];
const market: Rule = ['market', field('marketId')];
const bet: Rule = ['bet', field('betId')];
const payment: Rule = ['payment', field('paymentId')];
const channel: Rule = ['channel', field('channelId')];
const payout: Rule = [
  'transfer',
  (e) => {
    const transferId = field('payout', 'transferId')(e);
    return typeof transferId === 'string' && transferId !== ''
      ? transferId
      : field('payout', 'payoutId')(e);
  },
];

/** Audited event types and their subject. */
const RULES: Readonly<Record<string, Rule>> = {
  [`${P}BetPlaced`]: bet,
  [`${P}BetMatched`]: ['bet', field('backBetId')],
  [`${P}BetVoided`]: bet,
  [`${P}OrderCanceled`]: bet,
  [`${P}OrderLapsed`]: bet,
  [`${P}TransferCommitted`]: transfer,
  [`${P}HoldPlaced`]: transfer,
  [`${P}HoldPosted`]: transfer,
  [`${P}HoldVoided`]: transfer,
  [`${P}HoldExpired`]: ['transfer', field('pendingTransfer', 'transferId')],
  [`${P}MarketHoldsResolved`]: market,
  // One entry per payout page (one transfer `payout:<settlement>:<account>` per listed wallet;
  // details keep every credited account's balance after it and the page's totals).
  [`${P}MarketPayoutsCredited`]: market,
  [`${P}UserRegistered`]: user,
  [`${P}UserLoggedIn`]: user,
  [`${P}UserSessionRevokedForReuse`]: user,
  [`${P}UserProfileUpdated`]: user,
  [`${P}UserRoleGranted`]: user,
  [`${P}UserRoleRevoked`]: user,
  [`${P}UserFrozen`]: user,
  [`${P}UserUnfrozen`]: user,
  [`${P}KycStatusChanged`]: ['kyc_case', field('kycCaseId')],
  [`${P}LimitChanged`]: limit,
  [`${P}CoolOffStarted`]: limit,
  [`${P}SelfExclusionStarted`]: limit,
  [`${P}MarketCreated`]: market,
  [`${P}MarketOpened`]: market,
  [`${P}MarketLocked`]: market,
  [`${P}MarketResolved`]: market,
  [`${P}MarketCanceled`]: market,
  [`${P}MarketVoided`]: market,
  [`${P}ChannelSettingsChanged`]: channel,
  [`${P}SettlementStarted`]: market,
  [`${P}SettlementCompleted`]: ['market', field('settlement', 'marketId')],
  [`${P}MarketRefunded`]: market,
  [`${P}SettlementReversed`]: ['market', field('settlement', 'marketId')],
  [`${P}PayoutMade`]: payout,
  // One entry per page of payout rows (issue 12); details keep every row.
  [`${P}PayoutsMade`]: market,
  [`${P}PayoutReversed`]: payout,
  [`${P}DepositSucceeded`]: payment,
  [`${P}DepositFailed`]: payment,
  [`${P}WithdrawalRequested`]: payment,
  [`${P}WithdrawalPaid`]: payment,
  [`${P}WithdrawalFailed`]: payment,
  [`${P}ChannelLinked`]: channel,
  [`${P}ChannelUnlinked`]: channel,
  [`${P}ChannelIntegrationSettingsChanged`]: channel,
  [`${P}FraudFlagRaised`]: ['fraud_flag', field('flagId')],
};

/** Whether events of `type` are audited. */
export function isAudited(type: string): boolean {
  return type in RULES;
}

/** Fields never copied into the audit log (personal data kept by its owner only). */
const REDACTED = new Set(['email']);

/** `json` with personal data fields replaced by "[redacted]", at any depth. */
export function redact(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(redact);
  if (json !== null && typeof json === 'object') {
    return Object.fromEntries(
      Object.entries(json as Json).map(([key, value]) => [
        key,
        REDACTED.has(key) ? '[redacted]' : redact(value),
      ]),
    );
  }
  return json;
}

/** The event as a bus delivers it, with its payload in the protobuf JSON mapping. */
export interface AuditableEvent {
  readonly id: string;
  readonly type: string;
  readonly occurredAtMs: number;
  /** Protobuf JSON of the event (camelCase field names). */
  readonly json: Json;
}

/** The audit entry of `event`, or undefined when its type is not audited. */
export function auditDraftOf(event: AuditableEvent): AuditDraft | undefined {
  const rule = RULES[event.type];
  if (rule === undefined) return undefined;
  const metadata = (event.json.metadata ?? {}) as Json;
  const actorUserId = typeof metadata.actorUserId === 'string' ? metadata.actorUserId : '';
  const producer = typeof metadata.producer === 'string' ? metadata.producer : '';
  const reason = [event.json.reason, event.json.reasonText, event.json.failureMessage].find(
    (value): value is string => typeof value === 'string' && value !== '',
  );
  const traceParent = typeof metadata.traceParent === 'string' ? metadata.traceParent : '';
  const traceId = /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(traceParent)?.[1] ?? '';
  const subjectId = rule[1](event.json);
  return {
    occurredAtMs: event.occurredAtMs,
    actorType: actorUserId === '' ? 'service' : 'user',
    actorUserId,
    actorRole: actorUserId === '' ? 0 : roleNumber(metadata.actorRole),
    actorService: producer,
    action: event.type,
    subjectType: rule[0],
    subjectId: typeof subjectId === 'string' ? subjectId : '',
    reason: reason ?? '',
    detailsJson: JSON.stringify(redact(event.json)),
    sourceEventId: event.id,
    traceId,
  };
}

const ROLE_NUMBERS: Readonly<Record<string, number>> = {
  ROLE_VIEWER: 1,
  ROLE_STREAMER: 2,
  ROLE_ADMIN: 3,
  ROLE_SERVICE: 4,
};

function roleNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? (ROLE_NUMBERS[value] ?? 0) : 0;
}
