/**
 * QueryAuditLog: request validation, cursor tokens and the entry ↔ proto translation.
 */
import { create } from '@bufbuild/protobuf';
import {
  AuditEntrySchema,
  type AuditEntry,
  type QueryAuditLogRequest,
  type QueryAuditLogResponse,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import type { Sql } from '@streambet/platform/sql/types';
import type { ChainedEntry } from './audit/chain.js';
import { searchAuditLog } from './audit/store.js';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** The proto form of a stored entry. */
export function auditEntryToProto(entry: ChainedEntry): AuditEntry {
  return create(AuditEntrySchema, {
    entryId: entry.entryId,
    occurredAtMs: BigInt(entry.occurredAtMs),
    actorType: entry.actorType,
    actorUserId: entry.actorUserId,
    actorRole: entry.actorRole,
    actorService: entry.actorService,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId,
    reason: entry.reason,
    detailsJson: entry.detailsJson,
    sourceEventId: entry.sourceEventId,
    traceId: entry.traceId,
  });
}

/** Encodes a cursor (occurred_at_ms, entry_id) as an opaque page token. */
export function encodeCursor(cursor: readonly [number, string]): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/** Decodes a page token; undefined when it is not one of ours. */
export function decodeCursor(token: string): [number, string] | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return [value[0] as number, value[1]];
    }
  } catch {
    // falls through
  }
  return undefined;
}

/** Page size from a PageRequest's page_size (0 → default); throws on out of range. */
export function pageSizeOf(size: number, violations: FieldViolation[]): number {
  if (size === 0) return DEFAULT_PAGE_SIZE;
  if (size < 1 || size > MAX_PAGE_SIZE) {
    violations.push({
      field: 'page.page_size',
      description: `must be between 1 and ${MAX_PAGE_SIZE} (0 = ${DEFAULT_PAGE_SIZE})`,
    });
  }
  return size;
}

/** Runs QueryAuditLog on `sql`. */
export async function queryAuditLog(
  sql: Sql,
  request: QueryAuditLogRequest,
): Promise<Omit<QueryAuditLogResponse, '$typeName'>> {
  const violations: FieldViolation[] = [];
  const fromMs = Number(request.fromMs);
  const toMs = Number(request.toMs);
  if (fromMs < 0) violations.push({ field: 'from_ms', description: 'must be ≥ 0' });
  if (toMs < 0) violations.push({ field: 'to_ms', description: 'must be ≥ 0' });
  if (fromMs > 0 && toMs > 0 && fromMs >= toMs) {
    violations.push({ field: 'to_ms', description: 'must be greater than from_ms' });
  }
  if (request.subjectId !== '' && request.subjectType === '') {
    violations.push({ field: 'subject_type', description: 'is required with subject_id' });
  }
  const limit = pageSizeOf(request.page?.pageSize ?? 0, violations);
  const token = request.page?.pageToken ?? '';
  const after = token === '' ? undefined : decodeCursor(token);
  if (token !== '' && after === undefined) {
    violations.push({
      field: 'page.page_token',
      description: 'is not a token from a previous response; start again without it',
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid audit log query', violations);
  const entries = await searchAuditLog(sql, {
    actorUserId: request.actorUserId,
    subjectType: request.subjectType,
    subjectId: request.subjectId,
    actions: request.actions,
    fromMs,
    toMs,
    oldestFirst: request.oldestFirst,
    ...(after === undefined ? {} : { after }),
    limit: limit + 1,
  });
  const page = entries.slice(0, limit);
  const last = page.at(-1);
  return {
    entries: page.map(auditEntryToProto),
    page: {
      $typeName: 'streambet.common.v1.PageResponse',
      nextPageToken:
        entries.length > limit && last !== undefined
          ? encodeCursor([last.occurredAtMs, last.entryId])
          : '',
    },
  };
}
