/**
 * The audit log's SQL: appending an entry to its partition's chain (in the caller's transaction,
 * the inbox transaction for entries derived from events), searching, and reading a consecutive
 * range for export.
 */
import { randomBytes } from 'node:crypto';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { AuditDraft } from '../domain/audit.js';
import { chainHash, GENESIS_HASH, type ChainedEntry } from './chain.js';

interface Row {
  partition_key: string;
  seq: unknown;
  entry_id: string;
  occurred_at_ms: unknown;
  actor_type: number;
  actor_user_id: string;
  actor_role: number;
  actor_service: string;
  action: string;
  subject_type: string;
  subject_id: string;
  reason: string;
  details_json: string;
  source_event_id: string | null;
  trace_id: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = `partition_key, seq, entry_id, occurred_at_ms, actor_type, actor_user_id, actor_role,
  actor_service, action, subject_type, subject_id, reason, details_json, source_event_id, trace_id,
  prev_hash, hash`;

function fromRow(row: Row): ChainedEntry {
  return {
    partition: row.partition_key,
    seq: Number(row.seq),
    entryId: row.entry_id,
    occurredAtMs: Number(row.occurred_at_ms),
    actorType: Number(row.actor_type),
    actorUserId: row.actor_user_id,
    actorRole: Number(row.actor_role),
    actorService: row.actor_service,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    reason: row.reason,
    detailsJson: row.details_json,
    sourceEventId: row.source_event_id ?? '',
    traceId: row.trace_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Appends `draft` to the chain of its subject type, in `tx`. An entry derived from an event that
 * is already in the log (same source event id) is not appended again. Returns the entry.
 */
export async function appendAuditEntry(
  tx: SqlExecutor,
  draft: AuditDraft,
  nowMs: number,
): Promise<ChainedEntry | undefined> {
  const partition = draft.subjectType;
  if (draft.sourceEventId !== '') {
    const seen = await tx.query('SELECT 1 FROM audit_log WHERE source_event_id = $1', [
      draft.sourceEventId,
    ]);
    if (seen.rows.length > 0) return undefined;
  }
  await tx.query(
    'INSERT INTO audit_chain_heads (partition_key, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (partition_key) DO NOTHING',
    [partition, GENESIS_HASH],
  );
  const head = (
    await tx.query<{ seq: unknown; hash: string }>(
      'SELECT seq, hash FROM audit_chain_heads WHERE partition_key = $1 FOR UPDATE',
      [partition],
    )
  ).rows[0]!;
  const content = {
    partition,
    seq: Number(head.seq) + 1,
    entryId: encodeUlid(nowMs, new Uint8Array(randomBytes(10))),
    occurredAtMs: draft.occurredAtMs,
    actorType: draft.actorType === 'user' ? 1 : 2,
    actorUserId: draft.actorUserId,
    actorRole: draft.actorRole,
    actorService: draft.actorService,
    action: draft.action,
    subjectType: draft.subjectType,
    subjectId: draft.subjectId,
    reason: draft.reason,
    detailsJson: draft.detailsJson,
    sourceEventId: draft.sourceEventId,
    traceId: draft.traceId,
    prevHash: head.hash,
  };
  const entry: ChainedEntry = { ...content, hash: chainHash(content) };
  await tx.query(
    `INSERT INTO audit_log (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      entry.partition,
      entry.seq,
      entry.entryId,
      entry.occurredAtMs,
      entry.actorType,
      entry.actorUserId,
      entry.actorRole,
      entry.actorService,
      entry.action,
      entry.subjectType,
      entry.subjectId,
      entry.reason,
      entry.detailsJson,
      entry.sourceEventId === '' ? null : entry.sourceEventId,
      entry.traceId,
      entry.prevHash,
      entry.hash,
    ],
  );
  await tx.query('UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE partition_key = $1', [
    partition,
    entry.seq,
    entry.hash,
  ]);
  return entry;
}

/** Filters of {@link searchAuditLog} (validated by the caller). */
export interface AuditSearch {
  readonly actorUserId: string;
  readonly subjectType: string;
  readonly subjectId: string;
  readonly actions: readonly string[];
  /** 0: no bound. */
  readonly fromMs: number;
  /** 0: no bound. */
  readonly toMs: number;
  readonly oldestFirst: boolean;
  /** Resume after this (occurred_at_ms, entry_id). */
  readonly after?: readonly [number, string];
  readonly limit: number;
}

/** Entries matching `search`, in its order, at most `limit`. */
export async function searchAuditLog(
  sql: SqlExecutor,
  search: AuditSearch,
): Promise<ChainedEntry[]> {
  const where: string[] = [];
  const params: Array<string | number | string[]> = [];
  const param = (value: string | number | string[]): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (search.actorUserId !== '') where.push(`actor_user_id = ${param(search.actorUserId)}`);
  if (search.subjectType !== '') where.push(`subject_type = ${param(search.subjectType)}`);
  if (search.subjectId !== '') where.push(`subject_id = ${param(search.subjectId)}`);
  if (search.actions.length > 0) where.push(`action = ANY(${param([...search.actions])}::text[])`);
  if (search.fromMs > 0) where.push(`occurred_at_ms >= ${param(search.fromMs)}`);
  if (search.toMs > 0) where.push(`occurred_at_ms < ${param(search.toMs)}`);
  const direction = search.oldestFirst ? 'ASC' : 'DESC';
  if (search.after !== undefined) {
    const op = search.oldestFirst ? '>' : '<';
    where.push(
      `(occurred_at_ms, entry_id) ${op} (${param(search.after[0])}::bigint, ${param(search.after[1])})`,
    );
  }
  const rows = await sql.query<Row>(
    `SELECT ${COLUMNS} FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY occurred_at_ms ${direction}, entry_id ${direction} LIMIT ${param(search.limit)}`,
    params,
  );
  return rows.rows.map(fromRow);
}

/** Entries fromSeq..toSeq of one partition, oldest first (for an export). */
export async function readAuditRange(
  sql: SqlExecutor,
  partition: string,
  fromSeq: number,
  toSeq: number,
): Promise<ChainedEntry[]> {
  const rows = await sql.query<Row>(
    `SELECT ${COLUMNS} FROM audit_log WHERE partition_key = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`,
    [partition, fromSeq, toSeq],
  );
  return rows.rows.map(fromRow);
}

/** The partition's head: its last seq and hash (seq 0 and the genesis hash when empty). */
export async function auditHead(
  sql: SqlExecutor,
  partition: string,
): Promise<{ seq: number; hash: string }> {
  const row = (
    await sql.query<{ seq: unknown; hash: string }>(
      'SELECT seq, hash FROM audit_chain_heads WHERE partition_key = $1',
      [partition],
    )
  ).rows[0];
  return row === undefined
    ? { seq: 0, hash: GENESIS_HASH }
    : { seq: Number(row.seq), hash: row.hash };
}
