/**
 * SQL of identity, sessions, KYC and limits, through the platform's Sql port (PostgreSQL or PGlite).
 * Every method takes the executor to run on: the service opens the transaction, locks the user row
 * first (`getUser(tx, id, { forUpdate: true })`), decides with the pure domain, writes here and
 * appends the events to the outbox in the same transaction ({@link IdentityStore.appendEvents}).
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { EventMetadataSchema } from '@streambet/contracts/gen/streambet/events/v1/envelope_pb';
import { injectTraceHeaders } from '@streambet/platform/obs/tracing';
import { appendToOutbox, newEventId } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import {
  formatCalendarDate,
  parseCalendarDate,
  type CalendarDate,
} from '../domain/accounts/age.js';
import { normalizeRoles, type RoleName } from '../domain/accounts/roles.js';
import type { KycCaseState, KycDocumentTypeName, KycStatusName } from '../domain/kyc/kyc.js';
import {
  noLimit,
  type DatedAmount,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from '../domain/limits/limits.js';
import type {
  SelfExclusionDurationName,
  SelfExclusionState,
} from '../domain/limits/restrictions.js';

/** Topic of every user event (events/v1/user.proto: topic family `user`). */
export const userEventTopic = 'user';

/** A user as stored. */
export interface UserRecord {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly dateOfBirth: CalendarDate;
  readonly roles: readonly RoleName[];
  readonly status: 'active' | 'frozen';
  readonly frozenReason: string;
  readonly kycStatus: KycStatusName;
  readonly createdAtMs: number;
  readonly coolOffUntilMs: number;
  readonly selfExclusion: SelfExclusionState | null;
  readonly lifetimeDepositsMinor: bigint;
}

/** A refresh token with its session, as read for Refresh and Logout. */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly usedAtMs: number | null;
  readonly sessionRevokedAtMs: number | null;
}

/** Who caused an event (EventMetadata.actor_*). */
export interface EventActor {
  readonly userId: string;
  readonly role: Role;
}

/** A user event ready to be written to the outbox, metadata still to be filled in. */
export interface PendingUserEvent {
  readonly userId: string;
  readonly typeName: string;
  readonly actor: EventActor | undefined;
  encode(metadata: MessageInitShape<typeof EventMetadataSchema>): Uint8Array;
}

/**
 * Builds a user event of `schema` about `userId` (its aggregate and bus key). The metadata
 * (event id = outbox row id, time, producer, actor) is added by {@link IdentityStore.appendEvents}.
 */
export function userEvent<Desc extends DescMessage>(
  schema: Desc,
  userId: string,
  fields: Omit<MessageInitShape<Desc>, 'metadata' | '$typeName'>,
  actor?: EventActor,
): PendingUserEvent {
  return {
    userId,
    typeName: schema.typeName,
    actor,
    encode: (metadata) =>
      toBinary(
        schema,
        create(schema, {
          ...fields,
          userId,
          metadata: create(EventMetadataSchema, metadata),
        } as unknown as MessageInitShape<Desc>),
      ),
  };
}

/** Filters of ListUsers. */
export interface UserFilter {
  /** Lower-cased prefix of email or display name, or a full user id. */
  readonly query: string;
  readonly status: 'active' | 'frozen' | undefined;
  readonly kycStatus: KycStatusName | undefined;
  readonly role: RoleName | undefined;
  /** Return users with id below this one (newest first); undefined = from the newest. */
  readonly beforeUserId: string | undefined;
  readonly limit: number;
}

/** Filters of ListKycCases. */
export interface KycCaseFilter {
  readonly status: Exclude<KycStatusName, 'NOT_STARTED'> | undefined;
  readonly userId: string | undefined;
  /** Return cases with id above this one (oldest first). */
  readonly afterCaseId: string | undefined;
  readonly limit: number;
}

/** A limit row due for application by the sweeper. */
export interface DueLimit {
  readonly userId: string;
  readonly kind: LimitKindName;
  readonly period: LimitPeriodName;
}

type Row = Record<string, unknown>;

const userColumns = `id, email, display_name, password_hash, date_of_birth, roles, status, frozen_reason,
  kyc_status, created_at_ms, cool_off_until_ms, self_exclusion_duration, self_exclusion_started_at_ms,
  self_exclusion_until_ms, lifetime_deposits_minor`;

const caseColumns = `id, user_id, status, legal_name, document_type, document_number, document_country,
  submitted_at_ms, reviewed_at_ms, reviewer_user_id, review_reason`;

function ms(value: unknown): number {
  return Number(value);
}

function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : ms(value);
}

function toUser(row: Row): UserRecord {
  const duration = row.self_exclusion_duration as SelfExclusionDurationName | null;
  return {
    userId: row.id as string,
    email: row.email as string,
    displayName: row.display_name as string,
    passwordHash: row.password_hash as string,
    dateOfBirth: parseCalendarDate(row.date_of_birth as string),
    roles: normalizeRoles(row.roles as string[]),
    status: row.status as 'active' | 'frozen',
    frozenReason: row.frozen_reason as string,
    kycStatus: row.kyc_status as KycStatusName,
    createdAtMs: ms(row.created_at_ms),
    coolOffUntilMs: ms(row.cool_off_until_ms),
    selfExclusion:
      duration === null
        ? null
        : {
            duration,
            startedAtMs: ms(row.self_exclusion_started_at_ms),
            untilMs: msOrNull(row.self_exclusion_until_ms),
          },
    lifetimeDepositsMinor: BigInt(row.lifetime_deposits_minor as bigint),
  };
}

function toCase(row: Row): KycCaseState {
  return {
    caseId: row.id as string,
    userId: row.user_id as string,
    status: row.status as KycCaseState['status'],
    legalName: row.legal_name as string,
    documentType: row.document_type as KycDocumentTypeName,
    documentNumber: row.document_number as string,
    documentCountry: row.document_country as string,
    submittedAtMs: ms(row.submitted_at_ms),
    reviewedAtMs: ms(row.reviewed_at_ms),
    reviewerUserId: row.reviewer_user_id as string,
    reviewReason: row.review_reason as string,
  };
}

function toLimit(row: Row): LimitState {
  const amount = row.amount_minor === null ? null : BigInt(row.amount_minor as bigint);
  if (row.pending_set !== true) return { amountMinor: amount, pending: null };
  return {
    amountMinor: amount,
    pending: {
      amountMinor:
        row.pending_amount_minor === null ? null : BigInt(row.pending_amount_minor as bigint),
      requestedAtMs: ms(row.pending_requested_at_ms),
      effectiveAtMs: ms(row.pending_effective_at_ms),
    },
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Creates the store; `clock` stamps event metadata. */
export function createIdentityStore(sql: Sql, options: { readonly clock: Clock }) {
  const { clock } = options;
  return {
    sql,

    /** Reads a user; `forUpdate` locks the row until the transaction ends (serialises per user). */
    async getUser(
      db: SqlExecutor,
      userId: string,
      lock: { forUpdate?: boolean } = {},
    ): Promise<UserRecord | undefined> {
      const result = await db.query<Row>(
        `SELECT ${userColumns} FROM users WHERE id = $1${lock.forUpdate === true ? ' FOR UPDATE' : ''}`,
        [userId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toUser(row);
    },

    /** Reads a user by normalized email. */
    async getUserByEmail(db: SqlExecutor, email: string): Promise<UserRecord | undefined> {
      const result = await db.query<Row>(`SELECT ${userColumns} FROM users WHERE email = $1`, [
        email,
      ]);
      const row = result.rows[0];
      return row === undefined ? undefined : toUser(row);
    },

    /** Reads users by id; unknown ids are absent from the map. */
    async getUsers(db: SqlExecutor, userIds: readonly string[]): Promise<Map<string, UserRecord>> {
      if (userIds.length === 0) return new Map();
      const result = await db.query<Row>(
        `SELECT ${userColumns} FROM users WHERE id = ANY($1::text[])`,
        [[...new Set(userIds)]],
      );
      return new Map(result.rows.map((row) => [row.id as string, toUser(row)]));
    },

    /** Inserts a new user, or says which unique field is taken (nothing written then). */
    async insertUser(
      db: SqlExecutor,
      user: UserRecord,
    ): Promise<'inserted' | 'email-taken' | 'display-name-taken'> {
      const result = await db.query(
        `INSERT INTO users (id, email, display_name, display_name_key, password_hash, date_of_birth, roles,
           status, kyc_status, created_at_ms)
         VALUES ($1, $2, $3, lower($3), $4, $5, $6::text[], $7, $8, $9)
         ON CONFLICT DO NOTHING`,
        [
          user.userId,
          user.email,
          user.displayName,
          user.passwordHash,
          formatCalendarDate(user.dateOfBirth),
          [...user.roles],
          user.status,
          user.kycStatus,
          BigInt(user.createdAtMs),
        ],
      );
      if (result.rowCount === 1) return 'inserted';
      const taken = await db.query('SELECT 1 FROM users WHERE email = $1', [user.email]);
      return taken.rowCount > 0 ? 'email-taken' : 'display-name-taken';
    },

    /**
     * Changes the display name; `taken` when another user has it (case-insensitively), also when a
     * concurrent rename wins the unique index (the transaction is then unusable: throw to roll back).
     */
    async updateDisplayName(
      db: SqlExecutor,
      userId: string,
      displayName: string,
    ): Promise<'updated' | 'taken'> {
      try {
        const result = await db.query(
          `UPDATE users SET display_name = $2, display_name_key = lower($2)
           WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE display_name_key = lower($2) AND id <> $1)`,
          [userId, displayName],
        );
        return result.rowCount === 1 ? 'updated' : 'taken';
      } catch (error) {
        if ((error as { code?: unknown }).code === '23505') return 'taken';
        throw error;
      }
    },

    /** Replaces the password hash (rehash on login after a cost change). */
    async updatePasswordHash(db: SqlExecutor, userId: string, hash: string): Promise<void> {
      await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, hash]);
    },

    /** Sets the account status and the freeze reason. */
    async setStatus(
      db: SqlExecutor,
      userId: string,
      status: 'active' | 'frozen',
      frozenReason: string,
    ): Promise<void> {
      await db.query('UPDATE users SET status = $2, frozen_reason = $3 WHERE id = $1', [
        userId,
        status,
        frozenReason,
      ]);
    },

    /** Replaces the role set. */
    async setRoles(db: SqlExecutor, userId: string, roles: readonly RoleName[]): Promise<void> {
      await db.query('UPDATE users SET roles = $2::text[] WHERE id = $1', [userId, [...roles]]);
    },

    /** Sets the user's KYC status (mirrors the latest case). */
    async setKycStatus(db: SqlExecutor, userId: string, status: KycStatusName): Promise<void> {
      await db.query('UPDATE users SET kyc_status = $2 WHERE id = $1', [userId, status]);
    },

    /** Sets the end of the cool-off. */
    async setCoolOff(db: SqlExecutor, userId: string, untilMs: number): Promise<void> {
      await db.query('UPDATE users SET cool_off_until_ms = $2 WHERE id = $1', [
        userId,
        BigInt(untilMs),
      ]);
    },

    /** Stores the self-exclusion in force. */
    async setSelfExclusion(
      db: SqlExecutor,
      userId: string,
      state: SelfExclusionState,
    ): Promise<void> {
      await db.query(
        `UPDATE users SET self_exclusion_duration = $2, self_exclusion_started_at_ms = $3,
           self_exclusion_until_ms = $4 WHERE id = $1`,
        [
          userId,
          state.duration,
          BigInt(state.startedAtMs),
          state.untilMs === null ? null : BigInt(state.untilMs),
        ],
      );
    },

    /** Users matching `filter`, newest first (ids are ULIDs, so id order is creation order). */
    async listUsers(db: SqlExecutor, filter: UserFilter): Promise<UserRecord[]> {
      const where: string[] = [];
      const params: SqlValue[] = [];
      const param = (value: SqlValue): string => {
        params.push(value);
        return `$${params.length}`;
      };
      if (filter.query !== '') {
        const prefix = `${escapeLike(filter.query.toLowerCase())}%`;
        where.push(
          `(email LIKE ${param(prefix)} OR display_name_key LIKE $${params.length} OR id = ${param(filter.query.toUpperCase())})`,
        );
      }
      if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
      if (filter.kycStatus !== undefined) where.push(`kyc_status = ${param(filter.kycStatus)}`);
      if (filter.role !== undefined) where.push(`${param(filter.role)} = ANY(roles)`);
      if (filter.beforeUserId !== undefined) where.push(`id < ${param(filter.beforeUserId)}`);
      const result = await db.query<Row>(
        `SELECT ${userColumns} FROM users ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT ${param(filter.limit)}`,
        params,
      );
      return result.rows.map(toUser);
    },

    /** Failed logins recorded for an email, if any. */
    async getLoginFailures(
      db: SqlExecutor,
      email: string,
    ): Promise<{ windowStartedAtMs: number; failures: number } | undefined> {
      const result = await db.query<Row>(
        'SELECT window_started_at_ms, failures FROM login_failures WHERE email = $1',
        [email],
      );
      const row = result.rows[0];
      return row === undefined
        ? undefined
        : { windowStartedAtMs: ms(row.window_started_at_ms), failures: Number(row.failures) };
    },

    /** Counts one failed login atomically, opening a new window when the last one has ended. */
    async recordLoginFailure(
      db: SqlExecutor,
      email: string,
      nowMs: number,
      windowMs: number,
    ): Promise<void> {
      await db.query(
        `INSERT INTO login_failures (email, window_started_at_ms, failures) VALUES ($1, $2, 1)
         ON CONFLICT (email) DO UPDATE SET
           failures = CASE WHEN login_failures.window_started_at_ms + $3 <= $2 THEN 1
                           ELSE login_failures.failures + 1 END,
           window_started_at_ms = CASE WHEN login_failures.window_started_at_ms + $3 <= $2 THEN $2
                                       ELSE login_failures.window_started_at_ms END`,
        [email, BigInt(nowMs), BigInt(windowMs)],
      );
    },

    /** Forgets failed logins of an email (after a successful one). */
    async clearLoginFailures(db: SqlExecutor, email: string): Promise<void> {
      await db.query('DELETE FROM login_failures WHERE email = $1', [email]);
    },

    /** Starts a session (a refresh-token family). */
    async insertSession(
      db: SqlExecutor,
      session: { sessionId: string; userId: string; createdAtMs: number; deviceId: string },
    ): Promise<void> {
      await db.query(
        'INSERT INTO sessions (id, user_id, created_at_ms, device_id) VALUES ($1, $2, $3, $4)',
        [session.sessionId, session.userId, BigInt(session.createdAtMs), session.deviceId],
      );
    },

    /** Stores a refresh token by its hash. */
    async insertRefreshToken(
      db: SqlExecutor,
      token: { tokenHash: string; sessionId: string; issuedAtMs: number; expiresAtMs: number },
    ): Promise<void> {
      await db.query(
        'INSERT INTO refresh_tokens (token_hash, session_id, issued_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)',
        [token.tokenHash, token.sessionId, BigInt(token.issuedAtMs), BigInt(token.expiresAtMs)],
      );
    },

    /** Finds a refresh token and its session; `forUpdate` locks the session so rotations of one family serialise. */
    async findRefreshToken(
      db: SqlExecutor,
      tokenHash: string,
      lock: { forUpdate?: boolean } = {},
    ): Promise<RefreshTokenRecord | undefined> {
      const result = await db.query<Row>(
        `SELECT t.token_hash, t.session_id, s.user_id, t.issued_at_ms, t.expires_at_ms, t.used_at_ms,
                s.revoked_at_ms
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
         WHERE t.token_hash = $1${lock.forUpdate === true ? ' FOR UPDATE OF s, t' : ''}`,
        [tokenHash],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        tokenHash: row.token_hash as string,
        sessionId: row.session_id as string,
        userId: row.user_id as string,
        issuedAtMs: ms(row.issued_at_ms),
        expiresAtMs: ms(row.expires_at_ms),
        usedAtMs: msOrNull(row.used_at_ms),
        sessionRevokedAtMs: msOrNull(row.revoked_at_ms),
      };
    },

    /** Marks a refresh token rotated. */
    async markRefreshTokenUsed(db: SqlExecutor, tokenHash: string, atMs: number): Promise<void> {
      await db.query('UPDATE refresh_tokens SET used_at_ms = $2 WHERE token_hash = $1', [
        tokenHash,
        BigInt(atMs),
      ]);
    },

    /** Revokes one session if live; returns how many were revoked (0 or 1). */
    async revokeSession(
      db: SqlExecutor,
      sessionId: string,
      atMs: number,
      reason: string,
    ): Promise<number> {
      const result = await db.query(
        'UPDATE sessions SET revoked_at_ms = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at_ms IS NULL',
        [sessionId, BigInt(atMs), reason],
      );
      return result.rowCount;
    },

    /** Revokes every live session of a user; returns how many. */
    async revokeAllSessions(
      db: SqlExecutor,
      userId: string,
      atMs: number,
      reason: string,
    ): Promise<number> {
      const result = await db.query(
        'UPDATE sessions SET revoked_at_ms = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at_ms IS NULL',
        [userId, BigInt(atMs), reason],
      );
      return result.rowCount;
    },

    /** Stores a new KYC case (PENDING_REVIEW); false when the user already has a pending one. */
    async insertKycCase(
      db: SqlExecutor,
      kase: KycCaseState,
      providerReference: string,
    ): Promise<boolean> {
      const result = await db.query(
        `INSERT INTO kyc_cases (id, user_id, status, legal_name, document_type, document_number,
           document_country, submitted_at_ms, provider_reference)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
        [
          kase.caseId,
          kase.userId,
          kase.status,
          kase.legalName,
          kase.documentType,
          kase.documentNumber,
          kase.documentCountry,
          BigInt(kase.submittedAtMs),
          providerReference,
        ],
      );
      return result.rowCount === 1;
    },

    /** Reads a KYC case; `forUpdate` locks it. */
    async getKycCase(
      db: SqlExecutor,
      caseId: string,
      lock: { forUpdate?: boolean } = {},
    ): Promise<KycCaseState | undefined> {
      const result = await db.query<Row>(
        `SELECT ${caseColumns} FROM kyc_cases WHERE id = $1${lock.forUpdate === true ? ' FOR UPDATE' : ''}`,
        [caseId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toCase(row);
    },

    /** The user's most recent case, if any. */
    async latestKycCase(db: SqlExecutor, userId: string): Promise<KycCaseState | undefined> {
      const result = await db.query<Row>(
        `SELECT ${caseColumns} FROM kyc_cases WHERE user_id = $1 ORDER BY id DESC LIMIT 1`,
        [userId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toCase(row);
    },

    /** Cases matching `filter`, oldest submission first (case ids are ULIDs). */
    async listKycCases(db: SqlExecutor, filter: KycCaseFilter): Promise<KycCaseState[]> {
      const where: string[] = [];
      const params: SqlValue[] = [];
      const param = (value: SqlValue): string => {
        params.push(value);
        return `$${params.length}`;
      };
      if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
      if (filter.userId !== undefined) where.push(`user_id = ${param(filter.userId)}`);
      if (filter.afterCaseId !== undefined) where.push(`id > ${param(filter.afterCaseId)}`);
      const result = await db.query<Row>(
        `SELECT ${caseColumns} FROM kyc_cases ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id LIMIT ${param(filter.limit)}`,
        params,
      );
      return result.rows.map(toCase);
    },

    /** Writes a decided case. */
    async updateKycCase(db: SqlExecutor, kase: KycCaseState): Promise<void> {
      await db.query(
        `UPDATE kyc_cases SET status = $2, reviewed_at_ms = $3, reviewer_user_id = $4, review_reason = $5
         WHERE id = $1`,
        [
          kase.caseId,
          kase.status,
          BigInt(kase.reviewedAtMs),
          kase.reviewerUserId,
          kase.reviewReason,
        ],
      );
    },

    /** Records a provider webhook event id; false when it was seen before (a replay). */
    async recordKycWebhookEvent(
      db: SqlExecutor,
      eventId: string,
      caseId: string,
      atMs: number,
    ): Promise<boolean> {
      const result = await db.query(
        'INSERT INTO kyc_webhook_events (event_id, case_id, received_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [eventId, caseId, BigInt(atMs)],
      );
      return result.rowCount === 1;
    },

    /** A user's limits of one kind, every period present (no row = no limit). */
    async getLimits(
      db: SqlExecutor,
      userId: string,
      kind: LimitKindName,
    ): Promise<Record<LimitPeriodName, LimitState>> {
      const result = await db.query<Row>(
        'SELECT * FROM rg_limits WHERE user_id = $1 AND kind = $2',
        [userId, kind],
      );
      const limits: Record<LimitPeriodName, LimitState> = {
        daily: noLimit,
        weekly: noLimit,
        monthly: noLimit,
      };
      for (const row of result.rows) limits[row.period as LimitPeriodName] = toLimit(row);
      return limits;
    },

    /** Limits of several users and both kinds (for batched eligibility checks). */
    async getLimitsOf(
      db: SqlExecutor,
      userIds: readonly string[],
    ): Promise<Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>> {
      const byUser = new Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>();
      for (const userId of userIds) {
        byUser.set(userId, {
          deposit: { daily: noLimit, weekly: noLimit, monthly: noLimit },
          loss: { daily: noLimit, weekly: noLimit, monthly: noLimit },
        });
      }
      if (userIds.length === 0) return byUser;
      const result = await db.query<Row>(
        'SELECT * FROM rg_limits WHERE user_id = ANY($1::text[])',
        [[...new Set(userIds)]],
      );
      for (const row of result.rows) {
        const entry = byUser.get(row.user_id as string);
        if (entry !== undefined)
          entry[row.kind as LimitKindName][row.period as LimitPeriodName] = toLimit(row);
      }
      return byUser;
    },

    /**
     * What an eligibility check needs of these users, in ONE statement: their rows, limits, and
     * deposits and losses after `sinceMs` (one snapshot, one round trip, and outside a transaction
     * one commit — the bet engine asks once per group commit). Rows come back as JSON with
     * BIGINTs as text, so the usual mappers read them exactly.
     */
    async eligibilityFacts(
      db: SqlExecutor,
      userIds: readonly string[],
      sinceMs: number,
    ): Promise<{
      users: Map<string, UserRecord>;
      limits: Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>;
      deposits: Map<string, DatedAmount[]>;
      losses: Map<string, DatedAmount[]>;
    }> {
      const ids = [...new Set(userIds)];
      const users = new Map<string, UserRecord>();
      const limits = new Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>();
      const deposits = new Map<string, DatedAmount[]>();
      const losses = new Map<string, DatedAmount[]>();
      for (const userId of ids) {
        limits.set(userId, {
          deposit: { daily: noLimit, weekly: noLimit, monthly: noLimit },
          loss: { daily: noLimit, weekly: noLimit, monthly: noLimit },
        });
        deposits.set(userId, []);
        losses.set(userId, []);
      }
      if (ids.length === 0) return { users, limits, deposits, losses };
      const result = await db.query<{ k: string; j: Row | string }>(
        `SELECT 'u' AS k, json_build_object('id', id, 'email', email, 'display_name', display_name,
             'password_hash', password_hash, 'date_of_birth', date_of_birth, 'roles', roles,
             'status', status, 'frozen_reason', frozen_reason, 'kyc_status', kyc_status,
             'created_at_ms', created_at_ms::text, 'cool_off_until_ms', cool_off_until_ms::text,
             'self_exclusion_duration', self_exclusion_duration,
             'self_exclusion_started_at_ms', self_exclusion_started_at_ms::text,
             'self_exclusion_until_ms', self_exclusion_until_ms::text,
             'lifetime_deposits_minor', lifetime_deposits_minor::text) AS j
           FROM users WHERE id = ANY($1::text[])
         UNION ALL
         SELECT 'l', json_build_object('user_id', user_id, 'kind', kind, 'period', period,
             'amount_minor', amount_minor::text, 'pending_set', pending_set,
             'pending_amount_minor', pending_amount_minor::text,
             'pending_requested_at_ms', pending_requested_at_ms::text,
             'pending_effective_at_ms', pending_effective_at_ms::text)
           FROM rg_limits WHERE user_id = ANY($1::text[])
         UNION ALL
         SELECT 'd', json_build_object('user_id', user_id, 'amount_minor', amount_minor::text,
             'occurred_at_ms', occurred_at_ms::text)
           FROM rg_deposits WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2
         UNION ALL
         SELECT 'x', json_build_object('user_id', user_id, 'amount_minor', amount_minor::text,
             'occurred_at_ms', occurred_at_ms::text)
           FROM rg_losses WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2`,
        [ids, BigInt(sinceMs)],
      );
      for (const { k, j } of result.rows) {
        const row = (typeof j === 'string' ? JSON.parse(j) : j) as Row;
        const userId = (k === 'u' ? row.id : row.user_id) as string;
        if (k === 'u') users.set(userId, toUser(row));
        else if (k === 'l') {
          const entry = limits.get(userId);
          if (entry !== undefined)
            entry[row.kind as LimitKindName][row.period as LimitPeriodName] = toLimit(row);
        } else {
          (k === 'd' ? deposits : losses).get(userId)?.push({
            atMs: ms(row.occurred_at_ms),
            amountMinor: BigInt(row.amount_minor as string),
          });
        }
      }
      return { users, limits, deposits, losses };
    },

    /** Stores one limit (insert or replace). */
    async saveLimit(
      db: SqlExecutor,
      userId: string,
      kind: LimitKindName,
      period: LimitPeriodName,
      state: LimitState,
    ): Promise<void> {
      const pending = state.pending;
      await db.query(
        `INSERT INTO rg_limits (user_id, kind, period, amount_minor, pending_set, pending_amount_minor,
           pending_requested_at_ms, pending_effective_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_id, kind, period) DO UPDATE SET amount_minor = EXCLUDED.amount_minor,
           pending_set = EXCLUDED.pending_set, pending_amount_minor = EXCLUDED.pending_amount_minor,
           pending_requested_at_ms = EXCLUDED.pending_requested_at_ms,
           pending_effective_at_ms = EXCLUDED.pending_effective_at_ms`,
        [
          userId,
          kind,
          period,
          state.amountMinor,
          pending !== null,
          pending?.amountMinor ?? null,
          pending === null ? null : BigInt(pending.requestedAtMs),
          pending === null ? null : BigInt(pending.effectiveAtMs),
        ],
      );
    },

    /** Limits whose scheduled loosening is due at `nowMs` (for the sweeper). */
    async dueLimits(db: SqlExecutor, nowMs: number, limit: number): Promise<DueLimit[]> {
      const result = await db.query<Row>(
        `SELECT user_id, kind, period FROM rg_limits WHERE pending_set AND pending_effective_at_ms <= $1
         ORDER BY pending_effective_at_ms LIMIT $2`,
        [BigInt(nowMs), limit],
      );
      return result.rows.map((row) => ({
        userId: row.user_id as string,
        kind: row.kind as LimitKindName,
        period: row.period as LimitPeriodName,
      }));
    },

    /** Records a succeeded deposit once per payment id; false when already recorded. */
    async insertDeposit(
      db: SqlExecutor,
      deposit: {
        paymentId: string;
        userId: string;
        amountMinor: bigint;
        currency: string;
        atMs: number;
      },
    ): Promise<boolean> {
      const result = await db.query(
        `INSERT INTO rg_deposits (payment_id, user_id, amount_minor, currency, occurred_at_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [
          deposit.paymentId,
          deposit.userId,
          deposit.amountMinor,
          deposit.currency,
          BigInt(deposit.atMs),
        ],
      );
      return result.rowCount === 1;
    },

    /** Adds to the user's lifetime deposits. */
    async addLifetimeDeposits(db: SqlExecutor, userId: string, amountMinor: bigint): Promise<void> {
      await db.query(
        'UPDATE users SET lifetime_deposits_minor = lifetime_deposits_minor + $2 WHERE id = $1',
        [userId, amountMinor],
      );
    },

    /** Records a realised net loss (+) or win (−) once per entry id; false when already recorded. */
    async insertLoss(
      db: SqlExecutor,
      entry: { entryId: string; userId: string; amountMinor: bigint; atMs: number },
    ): Promise<boolean> {
      const result = await db.query(
        `INSERT INTO rg_losses (entry_id, user_id, amount_minor, occurred_at_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [entry.entryId, entry.userId, entry.amountMinor, BigInt(entry.atMs)],
      );
      return result.rowCount === 1;
    },

    /** Deposits (or losses) of users after `sinceMs`, grouped by user. */
    async amountsSince(
      db: SqlExecutor,
      table: 'deposits' | 'losses',
      userIds: readonly string[],
      sinceMs: number,
    ): Promise<Map<string, DatedAmount[]>> {
      const byUser = new Map<string, DatedAmount[]>(userIds.map((id) => [id, []]));
      if (userIds.length === 0) return byUser;
      const result = await db.query<Row>(
        `SELECT user_id, amount_minor, occurred_at_ms FROM ${table === 'deposits' ? 'rg_deposits' : 'rg_losses'}
         WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2`,
        [[...new Set(userIds)], BigInt(sinceMs)],
      );
      for (const row of result.rows) {
        byUser.get(row.user_id as string)?.push({
          atMs: ms(row.occurred_at_ms),
          amountMinor: BigInt(row.amount_minor as bigint),
        });
      }
      return byUser;
    },

    /**
     * Appends user events to the outbox in the caller's transaction: topic `user`, key = user id,
     * type = the message name, payload = protobuf binary with EventMetadata.event_id equal to the
     * outbox row id (so consumers' dedupe id and the envelope id agree).
     */
    async appendEvents(db: SqlExecutor, events: readonly PendingUserEvent[]): Promise<void> {
      if (events.length === 0) return;
      const nowMs = clock.now();
      const ids = events.map(() => newEventId());
      const headers = injectTraceHeaders({ producer: 'user' });
      const traceParent = headers.traceparent ?? '';
      let next = 0;
      await appendToOutbox(
        db,
        events.map((event, index) => ({
          topic: userEventTopic,
          key: event.userId,
          type: event.typeName,
          headers,
          payload: event.encode({
            eventId: ids[index]!,
            occurredAtMs: BigInt(nowMs),
            producer: 'user',
            traceParent,
            aggregateId: event.userId,
            actorUserId: event.actor?.userId ?? '',
            actorRole: event.actor?.role ?? Role.UNSPECIFIED,
          }),
        })),
        { clock: () => nowMs, newId: () => ids[next++]! },
      );
    },
  };
}

/** The store's type (see {@link createIdentityStore}). */
export type IdentityStore = ReturnType<typeof createIdentityStore>;
