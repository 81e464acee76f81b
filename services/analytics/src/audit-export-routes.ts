/**
 * ExportAuditLog: the admin console's "export a range with its chain proof". A time range of one
 * partition becomes the consecutive seq range that covers it (every entry between the first and
 * the last one in the range, so the chain is unbroken), formatted exactly as `npm run audit --
 * export` writes it — the file an auditor checks with `npm run audit -- verify`.
 */
import type {
  ExportAuditLogRequest,
  ExportAuditLogResponse,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import {
  NotFoundError,
  ResourceExhaustedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Sql } from '@streambet/platform/sql/types';
import { formatExport } from './audit/chain.js';
import { auditHead, readAuditRange } from './audit/store.js';

/** Largest export one call returns (a few MB of JSON); wider ranges are exported in parts. */
export const maxExportEntries = 10_000;

/** Runs ExportAuditLog on `sql`. */
export async function exportAuditLog(
  sql: Sql,
  request: ExportAuditLogRequest,
): Promise<Omit<ExportAuditLogResponse, '$typeName'>> {
  const violations: FieldViolation[] = [];
  const fromMs = Number(request.fromMs);
  const toMs = Number(request.toMs);
  if (!/^[a-z_]{1,40}$/.test(request.partition)) {
    violations.push({
      field: 'partition',
      description: 'must be a subject type such as bet, user, market, transfer or fraud_flag',
    });
  }
  if (fromMs < 0 || toMs <= fromMs) {
    violations.push({ field: 'to_ms', description: 'must be greater than from_ms (≥ 0)' });
  }
  if (violations.length > 0) throw new ValidationError('bad export range', violations);
  const bounds = (
    await sql.query<{ first: unknown; last: unknown }>(
      `SELECT min(seq) AS first, max(seq) AS last FROM audit_log
        WHERE partition_key = $1 AND occurred_at_ms >= $2 AND occurred_at_ms < $3`,
      [request.partition, fromMs, toMs],
    )
  ).rows[0];
  if (bounds?.first === null || bounds?.first === undefined) {
    throw new NotFoundError(
      `no "${request.partition}" audit entries between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`,
    );
  }
  const fromSeq = Number(bounds.first);
  const toSeq = Number(bounds.last);
  if (toSeq - fromSeq + 1 > maxExportEntries) {
    throw new ResourceExhaustedError(
      `the range holds ${toSeq - fromSeq + 1} entries; export at most ${maxExportEntries} at a time (narrow the time range)`,
    );
  }
  const [entries, head] = await Promise.all([
    readAuditRange(sql, request.partition, fromSeq, toSeq),
    auditHead(sql, request.partition),
  ]);
  return {
    exportJsonl: formatExport(entries),
    fromSeq: BigInt(fromSeq),
    toSeq: BigInt(toSeq),
    headHash: entries.at(-1)!.hash,
    liveHeadSeq: BigInt(head.seq),
    liveHeadHash: head.hash,
  };
}
