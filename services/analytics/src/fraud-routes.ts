/**
 * ListFraudFlags and ResolveFraudFlag: validation, cursor pages, the flag ↔ proto translation, and
 * the resolution with its direct audit entry (one transaction).
 */
import { create } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import {
  FraudFlagSchema,
  FraudFlagStatus,
  FraudRule,
  type FraudFlag,
  type ListFraudFlagsRequest,
  type ListFraudFlagsResponse,
  type ResolveFraudFlagRequest,
  type ResolveFraudFlagResponse,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import { decodeCursor, encodeCursor, pageSizeOf } from './audit-routes.js';
import { appendAuditEntry } from './audit/store.js';
import { closeFlag, flagForUpdate, listFlags, type StoredFlag } from './fraud/store.js';

/** The proto form of a stored flag. */
export function flagToProto(flag: StoredFlag): FraudFlag {
  return create(FraudFlagSchema, {
    flagId: flag.flagId,
    rule: flag.rule,
    status: flag.status,
    userIds: [...flag.userIds],
    channelId: flag.channelId,
    marketId: flag.marketId,
    summary: flag.summary,
    evidenceJson: flag.evidenceJson,
    raisedAtMs: BigInt(flag.raisedAtMs),
    resolvedAtMs: BigInt(flag.resolvedAtMs),
    resolvedByUserId: flag.resolvedByUserId,
    resolutionNote: flag.resolutionNote,
  });
}

const KNOWN_RULES = new Set<number>([
  FraudRule.STREAMER_ALT_BETTING,
  FraudRule.LATE_BET_CLUSTER,
  FraudRule.DEPOSIT_WITHDRAW_CYCLING,
  FraudRule.VELOCITY_SPIKE,
  FraudRule.REPEATED_RETROACTIVE_VOIDS,
]);
const KNOWN_STATUSES = new Set<number>([
  FraudFlagStatus.OPEN,
  FraudFlagStatus.CONFIRMED,
  FraudFlagStatus.DISMISSED,
]);

/** Runs ListFraudFlags. */
export async function listFraudFlags(
  sql: Sql,
  request: ListFraudFlagsRequest,
): Promise<Omit<ListFraudFlagsResponse, '$typeName'>> {
  const violations: FieldViolation[] = [];
  const fromMs = Number(request.fromMs);
  const toMs = Number(request.toMs);
  if (fromMs < 0 || toMs < 0 || (fromMs > 0 && toMs > 0 && fromMs >= toMs)) {
    violations.push({ field: 'to_ms', description: 'must be greater than from_ms (both ≥ 0)' });
  }
  if (request.rules.some((rule) => !KNOWN_RULES.has(rule))) {
    violations.push({ field: 'rules', description: 'must name known rules (not UNSPECIFIED)' });
  }
  if (request.statuses.some((status) => !KNOWN_STATUSES.has(status))) {
    violations.push({ field: 'statuses', description: 'must be OPEN, CONFIRMED or DISMISSED' });
  }
  const limit = pageSizeOf(request.page?.pageSize ?? 0, violations);
  const token = request.page?.pageToken ?? '';
  const before = token === '' ? undefined : decodeCursor(token);
  if (token !== '' && before === undefined) {
    violations.push({
      field: 'page.page_token',
      description: 'is not a token from a previous response; start again without it',
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid fraud flag query', violations);
  const flags = await listFlags(sql, {
    rules: request.rules,
    statuses: request.statuses,
    userId: request.userId,
    channelId: request.channelId,
    fromMs,
    toMs,
    ...(before === undefined ? {} : { before }),
    limit: limit + 1,
  });
  const page = flags.slice(0, limit);
  const last = page.at(-1);
  return {
    flags: page.map(flagToProto),
    page: {
      $typeName: 'streambet.common.v1.PageResponse',
      nextPageToken:
        flags.length > limit && last !== undefined
          ? encodeCursor([last.raisedAtMs, last.flagId])
          : '',
    },
  };
}

/** Runs ResolveFraudFlag: idempotent for the same resolution, audited in the same transaction. */
export async function resolveFraudFlag(
  sql: Sql,
  clock: Clock,
  request: ResolveFraudFlagRequest,
  context: HandlerContext,
): Promise<Omit<ResolveFraudFlagResponse, '$typeName'>> {
  const violations: FieldViolation[] = [];
  if (request.flagId === '') violations.push({ field: 'flag_id', description: 'is required' });
  if (
    request.resolution !== FraudFlagStatus.CONFIRMED &&
    request.resolution !== FraudFlagStatus.DISMISSED
  ) {
    violations.push({ field: 'resolution', description: 'must be CONFIRMED or DISMISSED' });
  }
  const note = request.note.trim();
  if (note.length < 1 || request.note.length > 1000) {
    violations.push({ field: 'note', description: 'is required, 1–1000 characters' });
  }
  if (violations.length > 0) throw new ValidationError('invalid resolution', violations);
  const caller = context.values.get(callerKey);
  const adminId = caller.kind === 'user' ? caller.userId : '';
  const flag = await sql.transaction(async (tx) => {
    const current = await flagForUpdate(tx, request.flagId);
    if (current === undefined) throw new NotFoundError(`no fraud flag ${request.flagId}`);
    const resolution: number = request.resolution;
    const open: number = FraudFlagStatus.OPEN;
    if (current.status === resolution && current.resolutionNote === request.note) {
      return current;
    }
    if (current.status !== open) {
      throw new IllegalStateError(
        `fraud flag ${request.flagId} is already ${FraudFlagStatus[current.status]} by ${current.resolvedByUserId}; it cannot be resolved again differently`,
      );
    }
    const nowMs = clock.now();
    await closeFlag(tx, current.flagId, request.resolution, adminId, request.note, nowMs);
    await appendAuditEntry(
      tx,
      {
        occurredAtMs: nowMs,
        actorType: 'user',
        actorUserId: adminId,
        actorRole: Role.ADMIN,
        actorService: 'analytics',
        action: 'streambet.analytics.v1.AnalyticsService/ResolveFraudFlag',
        subjectType: 'fraud_flag',
        subjectId: current.flagId,
        reason: request.note,
        detailsJson: JSON.stringify({
          flagId: current.flagId,
          resolution: FraudFlagStatus[request.resolution],
          note: request.note,
        }),
        sourceEventId: '',
        traceId: '',
      },
      nowMs,
    );
    return {
      ...current,
      status: request.resolution,
      resolvedAtMs: nowMs,
      resolvedByUserId: adminId,
      resolutionNote: request.note,
    };
  });
  return { flag: flagToProto(flag) };
}
