/**
 * Users: the account row (profile, roles, status) and the admin's listing. Written under the
 * user's row lock (`getUser(tx, id, { forUpdate: true })`), which every handler takes first.
 */
import type { SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import { formatCalendarDate, type CalendarDate } from '../domain/accounts/age.js';
import type { RoleName } from '../domain/accounts/roles.js';
import type { KycStatusName } from '../domain/kyc/kyc.js';
import type { SelfExclusionState } from '../domain/limits/restrictions.js';
import { type Row, escapeLike, toUser, userColumns } from './rows.js';

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
  /** When the address was confirmed (VerifyEmail, ResetPassword); null or absent while unverified. */
  readonly emailVerifiedAtMs?: number | null;
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

/** SQL of the users table; each method runs on the executor it is given. */
export const userQueries = {
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
};
