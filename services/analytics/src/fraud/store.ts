/**
 * The fraud rules' SQL: the facts they keep (links between accounts and devices or networks,
 * channel owners, bets with their client context, deposits, withdrawals, retroactive voids), the
 * flags (raised once per dedupe key, FraudFlagRaised in the outbox in the same transaction), and
 * their listing and resolution.
 */
import { randomBytes } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { FraudFlagRaisedSchema } from '@streambet/contracts/gen/streambet/events/v1/analytics_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { FlagDraft, FraudRuleName, Link } from '../domain/fraud.js';

/** FraudRule enum numbers of the contract. */
export const RULE_NUMBER: Readonly<Record<FraudRuleName, number>> = {
  STREAMER_ALT_BETTING: 1,
  LATE_BET_CLUSTER: 2,
  DEPOSIT_WITHDRAW_CYCLING: 3,
  VELOCITY_SPIKE: 4,
  REPEATED_RETROACTIVE_VOIDS: 5,
};

/** FraudFlagStatus enum numbers of the contract. */
export const STATUS = { open: 1, confirmed: 2, dismissed: 3 } as const;

/** A stored flag. */
export interface StoredFlag {
  readonly flagId: string;
  readonly rule: number;
  readonly status: number;
  readonly userIds: readonly string[];
  readonly channelId: string;
  readonly marketId: string;
  readonly summary: string;
  readonly evidenceJson: string;
  readonly raisedAtMs: number;
  readonly resolvedAtMs: number;
  readonly resolvedByUserId: string;
  readonly resolutionNote: string;
}

const FLAG_COLUMNS = `flag_id, rule, status, user_ids, channel_id, market_id, summary, evidence_json,
  raised_at_ms, resolved_at_ms, resolved_by_user_id, resolution_note`;

function flagFromRow(row: Record<string, unknown>): StoredFlag {
  return {
    flagId: String(row.flag_id),
    rule: Number(row.rule),
    status: Number(row.status),
    userIds: row.user_ids as string[],
    channelId: String(row.channel_id),
    marketId: String(row.market_id),
    summary: String(row.summary),
    evidenceJson: String(row.evidence_json),
    raisedAtMs: Number(row.raised_at_ms),
    resolvedAtMs: Number(row.resolved_at_ms),
    resolvedByUserId: String(row.resolved_by_user_id),
    resolutionNote: String(row.resolution_note),
  };
}

/** Records that `userId` was seen on these devices / networks (empty ids skipped). */
export async function recordLinks(
  tx: SqlExecutor,
  userId: string,
  links: readonly Link[],
  atMs: number,
): Promise<void> {
  for (const link of links) {
    if (link.id === '' || userId === '') continue;
    await tx.query(
      `INSERT INTO fraud_links (user_id, kind, link_id, first_seen_ms) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [userId, link.kind, link.id, atMs],
    );
  }
}

/** The devices and networks `userId` was seen on. */
export async function linksOf(tx: SqlExecutor, userId: string): Promise<Link[]> {
  const rows = await tx.query<{ kind: 'device' | 'network'; link_id: string }>(
    'SELECT kind, link_id FROM fraud_links WHERE user_id = $1',
    [userId],
  );
  return rows.rows.map((row) => ({ kind: row.kind, id: row.link_id }));
}

/** Records a channel's owner. */
export async function recordChannelOwner(
  tx: SqlExecutor,
  channelId: string,
  ownerUserId: string,
): Promise<void> {
  if (channelId === '' || ownerUserId === '') return;
  await tx.query(
    `INSERT INTO fraud_channels (channel_id, owner_user_id) VALUES ($1, $2)
     ON CONFLICT (channel_id) DO UPDATE SET owner_user_id = EXCLUDED.owner_user_id`,
    [channelId, ownerUserId],
  );
}

/** The channel's owner, or '' when unknown. */
export async function channelOwner(tx: SqlExecutor, channelId: string): Promise<string> {
  const row = (
    await tx.query<{ owner_user_id: string }>(
      'SELECT owner_user_id FROM fraud_channels WHERE channel_id = $1',
      [channelId],
    )
  ).rows[0];
  return row?.owner_user_id ?? '';
}

/** A bet with its client context. */
export interface FraudBet {
  readonly betId: string;
  readonly marketId: string;
  readonly channelId: string;
  readonly userId: string;
  readonly placedAtMs: number;
  readonly stakeMinor: bigint;
  readonly deviceId: string;
  readonly networkId: string;
}

/** Records a bet (once). */
export async function recordBet(tx: SqlExecutor, bet: FraudBet): Promise<void> {
  await tx.query(
    `INSERT INTO fraud_bets (bet_id, market_id, channel_id, user_id, placed_at_ms, stake_minor, device_id, network_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bet_id) DO NOTHING`,
    [
      bet.betId,
      bet.marketId,
      bet.channelId,
      bet.userId,
      bet.placedAtMs,
      bet.stakeMinor,
      bet.deviceId,
      bet.networkId,
    ],
  );
}

/** The market's bets placed in [fromMs, toMs]. */
export async function marketBets(
  tx: SqlExecutor,
  marketId: string,
  fromMs: number,
  toMs: number,
): Promise<FraudBet[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `SELECT bet_id, market_id, channel_id, user_id, placed_at_ms, stake_minor, device_id, network_id
     FROM fraud_bets WHERE market_id = $1 AND placed_at_ms BETWEEN $2 AND $3 ORDER BY placed_at_ms`,
    [marketId, fromMs, toMs],
  );
  return rows.rows.map((row) => ({
    betId: String(row.bet_id),
    marketId: String(row.market_id),
    channelId: String(row.channel_id),
    userId: String(row.user_id),
    placedAtMs: Number(row.placed_at_ms),
    stakeMinor: BigInt(String(row.stake_minor)),
    deviceId: String(row.device_id),
    networkId: String(row.network_id),
  }));
}

/** Times of the user's bets in [fromMs, toMs]. */
export async function betTimes(
  tx: SqlExecutor,
  userId: string,
  fromMs: number,
  toMs: number,
): Promise<number[]> {
  const rows = await tx.query<{ placed_at_ms: unknown }>(
    'SELECT placed_at_ms FROM fraud_bets WHERE user_id = $1 AND placed_at_ms BETWEEN $2 AND $3',
    [userId, fromMs, toMs],
  );
  return rows.rows.map((row) => Number(row.placed_at_ms));
}

/** Stakes of the user's bets in [fromMs, toMs]. */
export async function stakedBetween(
  tx: SqlExecutor,
  userId: string,
  fromMs: number,
  toMs: number,
): Promise<bigint> {
  const row = (
    await tx.query<{ staked: string | null }>(
      `SELECT coalesce(sum(stake_minor), 0)::text AS staked FROM fraud_bets
       WHERE user_id = $1 AND placed_at_ms BETWEEN $2 AND $3`,
      [userId, fromMs, toMs],
    )
  ).rows[0];
  return BigInt(row?.staked ?? '0');
}

/** A money movement or void the rules count: `deposit`, `withdrawal` or `retro_void`. */
export interface MoneyFact {
  readonly eventId: string;
  readonly userId: string;
  readonly kind: 'deposit' | 'withdrawal' | 'retro_void';
  readonly refId: string;
  readonly marketId: string;
  readonly amountMinor: bigint;
  readonly atMs: number;
}

/** Records a fact (once per event). */
export async function recordMoney(tx: SqlExecutor, fact: MoneyFact): Promise<void> {
  await tx.query(
    `INSERT INTO fraud_money (event_id, user_id, kind, ref_id, market_id, amount_minor, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING`,
    [fact.eventId, fact.userId, fact.kind, fact.refId, fact.marketId, fact.amountMinor, fact.atMs],
  );
}

/** The user's facts of `kind` in [fromMs, toMs]. */
export async function moneyOf(
  tx: SqlExecutor,
  userId: string,
  kind: MoneyFact['kind'],
  fromMs: number,
  toMs: number,
): Promise<Array<{ refId: string; marketId: string; amountMinor: bigint; atMs: number }>> {
  const rows = await tx.query<Record<string, unknown>>(
    `SELECT ref_id, market_id, amount_minor, at_ms FROM fraud_money
     WHERE user_id = $1 AND kind = $2 AND at_ms BETWEEN $3 AND $4 ORDER BY at_ms`,
    [userId, kind, fromMs, toMs],
  );
  return rows.rows.map((row) => ({
    refId: String(row.ref_id),
    marketId: String(row.market_id),
    amountMinor: BigInt(String(row.amount_minor)),
    atMs: Number(row.at_ms),
  }));
}

/**
 * Raises `draft` unless a flag with its dedupe key exists; the new flag's FraudFlagRaised goes to
 * the outbox in `tx`. Returns the new flag id, or undefined.
 */
export async function raiseFlag(
  tx: SqlExecutor,
  draft: FlagDraft,
  nowMs: number,
): Promise<string | undefined> {
  const flagId = encodeUlid(nowMs, new Uint8Array(randomBytes(10)));
  const inserted = await tx.query(
    `INSERT INTO fraud_flags (flag_id, dedupe_key, rule, status, user_ids, channel_id, market_id,
       summary, evidence_json, raised_at_ms)
     VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      flagId,
      draft.dedupeKey,
      RULE_NUMBER[draft.rule],
      STATUS.open,
      [...draft.userIds],
      draft.channelId,
      draft.marketId,
      draft.summary,
      JSON.stringify(draft.evidence),
      nowMs,
    ],
  );
  if (inserted.rowCount === 0) return undefined;
  const event = create(FraudFlagRaisedSchema, {
    metadata: {
      occurredAtMs: BigInt(nowMs),
      producer: 'analytics',
      aggregateId: flagId,
      actorRole: Role.SERVICE,
    },
    flagId,
    rule: RULE_NUMBER[draft.rule],
    userIds: [...draft.userIds],
    channelId: draft.channelId,
    marketId: draft.marketId,
    summary: draft.summary,
  });
  await appendToOutbox(
    tx,
    [
      {
        topic: 'analytics',
        key: flagId,
        type: FraudFlagRaisedSchema.typeName,
        payload: toBinary(FraudFlagRaisedSchema, event),
        headers: { producer: 'analytics' },
      },
    ],
    { clock: () => nowMs },
  );
  return flagId;
}

/** Filters of {@link listFlags}. */
export interface FlagSearch {
  readonly rules: readonly number[];
  readonly statuses: readonly number[];
  readonly userId: string;
  readonly channelId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly before?: readonly [number, string];
  readonly limit: number;
}

/** Flags matching `search`, newest first. */
export async function listFlags(tx: SqlExecutor, search: FlagSearch): Promise<StoredFlag[]> {
  const where: string[] = [];
  const params: Array<string | number | number[]> = [];
  const param = (value: string | number | number[]): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (search.rules.length > 0) where.push(`rule = ANY(${param([...search.rules])}::smallint[])`);
  if (search.statuses.length > 0)
    where.push(`status = ANY(${param([...search.statuses])}::smallint[])`);
  if (search.userId !== '') where.push(`${param(search.userId)} = ANY(user_ids)`);
  if (search.channelId !== '') where.push(`channel_id = ${param(search.channelId)}`);
  if (search.fromMs > 0) where.push(`raised_at_ms >= ${param(search.fromMs)}`);
  if (search.toMs > 0) where.push(`raised_at_ms < ${param(search.toMs)}`);
  if (search.before !== undefined) {
    where.push(
      `(raised_at_ms, flag_id) < (${param(search.before[0])}::bigint, ${param(search.before[1])})`,
    );
  }
  const rows = await tx.query<Record<string, unknown>>(
    `SELECT ${FLAG_COLUMNS} FROM fraud_flags ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY raised_at_ms DESC, flag_id DESC LIMIT ${param(search.limit)}`,
    params,
  );
  return rows.rows.map(flagFromRow);
}

/** The flag, locked for update, or undefined. */
export async function flagForUpdate(
  tx: SqlExecutor,
  flagId: string,
): Promise<StoredFlag | undefined> {
  const row = (
    await tx.query<Record<string, unknown>>(
      `SELECT ${FLAG_COLUMNS} FROM fraud_flags WHERE flag_id = $1 FOR UPDATE`,
      [flagId],
    )
  ).rows[0];
  return row === undefined ? undefined : flagFromRow(row);
}

/** Closes an open flag. */
export async function closeFlag(
  tx: SqlExecutor,
  flagId: string,
  status: number,
  byUserId: string,
  note: string,
  atMs: number,
): Promise<void> {
  await tx.query(
    `UPDATE fraud_flags SET status = $2, resolved_by_user_id = $3, resolution_note = $4, resolved_at_ms = $5
     WHERE flag_id = $1`,
    [flagId, status, byUserId, note, atMs],
  );
}
