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
  return (await appendAuditEntries(tx, [draft], nowMs))[0];
}

/** Columns of one audit_log row, in {@link COLUMNS} order, with their array types for unnest. */
const COLUMN_TYPES = [
  'text',
  'bigint',
  'text',
  'bigint',
  'smallint',
  'text',
  'smallint',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
] as const;

const INSERT_ENTRIES = `INSERT INTO audit_log (${COLUMNS})
  SELECT * FROM unnest(${COLUMN_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`;

/**
 * Appends `drafts` to their partitions' chains in `tx`, in the order given, with a fixed number of
 * statements whatever their count (the audit consumer appends a whole delivered batch this way):
 * the heads of the partitions involved are locked (in partition order, so concurrent appenders
 * never deadlock), the source event ids already in the log are read under those locks (exact:
 * an event is logged once even when two transactions carry it), then every entry and the new heads
 * are written. A draft whose source event is already logged, or repeats an earlier draft's, is
 * skipped. Returns one entry per draft (undefined for a skipped one).
 */
export async function appendAuditEntries(
  tx: SqlExecutor,
  drafts: readonly AuditDraft[],
  nowMs: number,
): Promise<Array<ChainedEntry | undefined>> {
  if (drafts.length === 0) return [];
  const partitions = [...new Set(drafts.map((draft) => draft.subjectType))].sort();
  await tx.query(
    `INSERT INTO audit_chain_heads (partition_key, seq, hash)
     SELECT p, 0, $2 FROM unnest($1::text[]) AS p ORDER BY p
     ON CONFLICT (partition_key) DO NOTHING`,
    [partitions, GENESIS_HASH],
  );
  const heads = new Map(
    (
      await tx.query<{ partition_key: string; seq: unknown; hash: string }>(
        `SELECT partition_key, seq, hash FROM audit_chain_heads
         WHERE partition_key = ANY($1::text[]) ORDER BY partition_key FOR UPDATE`,
        [partitions],
      )
    ).rows.map((row) => [row.partition_key, { seq: Number(row.seq), hash: row.hash }]),
  );
  const sourceIds = drafts.flatMap((draft) =>
    draft.sourceEventId === '' ? [] : [draft.sourceEventId],
  );
  const logged = new Set(
    sourceIds.length === 0
      ? []
      : (
          await tx.query<{ source_event_id: string }>(
            'SELECT source_event_id FROM audit_log WHERE source_event_id = ANY($1::text[])',
            [sourceIds],
          )
        ).rows.map((row) => row.source_event_id),
  );
  const entries = drafts.map((draft): ChainedEntry | undefined => {
    if (draft.sourceEventId !== '') {
      if (logged.has(draft.sourceEventId)) return undefined;
      logged.add(draft.sourceEventId);
    }
    const head = heads.get(draft.subjectType)!;
    const content = {
      partition: draft.subjectType,
      seq: head.seq + 1,
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
    heads.set(draft.subjectType, { seq: entry.seq, hash: entry.hash });
    return entry;
  });
  const written = entries.filter((entry) => entry !== undefined);
  if (written.length === 0) return entries;
  await tx.query(INSERT_ENTRIES, [
    written.map((e) => e.partition),
    written.map((e) => e.seq),
    written.map((e) => e.entryId),
    written.map((e) => e.occurredAtMs),
    written.map((e) => e.actorType),
    written.map((e) => e.actorUserId),
    written.map((e) => e.actorRole),
    written.map((e) => e.actorService),
    written.map((e) => e.action),
    written.map((e) => e.subjectType),
    written.map((e) => e.subjectId),
    written.map((e) => e.reason),
    written.map((e) => e.detailsJson),
    written.map((e) => (e.sourceEventId === '' ? null : e.sourceEventId)),
    written.map((e) => e.traceId),
    written.map((e) => e.prevHash),
    written.map((e) => e.hash),
  ]);
  const moved = partitions.filter((partition) => written.some((e) => e.partition === partition));
  await tx.query(
    `UPDATE audit_chain_heads h SET seq = n.seq, hash = n.hash
     FROM unnest($1::text[], $2::bigint[], $3::text[]) AS n(partition_key, seq, hash)
     WHERE h.partition_key = n.partition_key`,
    [
      moved,
      moved.map((partition) => heads.get(partition)!.seq),
      moved.map((partition) => heads.get(partition)!.hash),
    ],
  );
  return entries;
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
