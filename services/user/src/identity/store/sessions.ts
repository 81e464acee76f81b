/**
 * Sessions: failed-login counting (per email and address, and per email), sessions (refresh-token families) and their refresh tokens,
 * stored by hash, rotated and revoked.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { LoginAttemptHistory, LoginThrottlePolicy } from '../domain/accounts/throttle.js';
import { type Row, ms, msOrNull } from './rows.js';

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

/** SQL of login failures, sessions and refresh tokens. */
export const sessionQueries = {
  /**
   * What the throttle needs about a login attempt (domain/accounts/throttle.ts): failures of the
   * email from this address, failures of the email from every address, and when this address last
   * logged in to it.
   */
  async getLoginHistory(
    db: SqlExecutor,
    email: string,
    address: string,
  ): Promise<LoginAttemptHistory> {
    const result = await db.query<Row>(
      `SELECT 'address' AS scope, window_started_at_ms, failures, last_success_at_ms
         FROM login_address_failures WHERE email = $1 AND address = $2
       UNION ALL
       SELECT 'email', window_started_at_ms, failures, NULL FROM login_failures WHERE email = $1`,
      [email, address],
    );
    const find = (scope: string) => result.rows.find((row) => row.scope === scope);
    const failuresOf = (row: Row | undefined) =>
      row === undefined || Number(row.failures) === 0
        ? undefined
        : { windowStartedAtMs: ms(row.window_started_at_ms), failures: Number(row.failures) };
    const lastSuccess = msOrNull(find('address')?.last_success_at_ms);
    return {
      fromAddress: failuresOf(find('address')),
      forEmail: failuresOf(find('email')),
      lastSuccessFromAddressAtMs: lastSuccess ?? undefined,
    };
  },

  /**
   * Counts one failed login against the email from `address` and against the email overall,
   * atomically per row, opening a new window where the last one has ended.
   */
  async recordLoginFailure(
    db: SqlExecutor,
    failure: { email: string; address: string; nowMs: number; policy: LoginThrottlePolicy },
  ): Promise<void> {
    const { email, address, nowMs, policy } = failure;
    await db.query(
      `INSERT INTO login_address_failures (email, address, window_started_at_ms, failures)
       VALUES ($1, $2, $3, 1)
       ON CONFLICT (email, address) DO UPDATE SET
         failures = CASE WHEN login_address_failures.window_started_at_ms + $4 <= $3 THEN 1
                         ELSE login_address_failures.failures + 1 END,
         window_started_at_ms = CASE WHEN login_address_failures.window_started_at_ms + $4 <= $3
                                     THEN $3 ELSE login_address_failures.window_started_at_ms END`,
      [email, address, BigInt(nowMs), BigInt(policy.perAddress.windowMs)],
    );
    await db.query(
      `INSERT INTO login_failures (email, window_started_at_ms, failures) VALUES ($1, $2, 1)
       ON CONFLICT (email) DO UPDATE SET
         failures = CASE WHEN login_failures.window_started_at_ms + $3 <= $2 THEN 1
                         ELSE login_failures.failures + 1 END,
         window_started_at_ms = CASE WHEN login_failures.window_started_at_ms + $3 <= $2 THEN $2
                                     ELSE login_failures.window_started_at_ms END`,
      [email, BigInt(nowMs), BigInt(policy.perEmail.windowMs)],
    );
  },

  /**
   * After a successful login from `address`: forgets that address's failures and marks it known.
   * The per-email count stays (failures from elsewhere are not forgiven by the owner's success).
   */
  async recordLoginSuccess(
    db: SqlExecutor,
    email: string,
    address: string,
    nowMs: number,
  ): Promise<void> {
    await db.query(
      `INSERT INTO login_address_failures
         (email, address, window_started_at_ms, failures, last_success_at_ms)
       VALUES ($1, $2, $3, 0, $3)
       ON CONFLICT (email, address) DO UPDATE SET
         failures = 0, window_started_at_ms = $3, last_success_at_ms = $3`,
      [email, address, BigInt(nowMs)],
    );
  },

  /**
   * Deletes up to `batchSize` login-failure rows per table that can change no decision any more:
   * an (email, address) row whose failure window has ended and whose address is not a known one
   * (no successful login within `policy.knownAddressMs`), and a per-email row whose window has
   * ended (the next failure would open a new window anyway). Returns the rows deleted per table.
   */
  async deleteExpiredLoginFailures(
    db: SqlExecutor,
    expiry: { nowMs: number; policy: LoginThrottlePolicy; batchSize: number },
  ): Promise<{ byAddress: number; byEmail: number }> {
    const { nowMs, policy, batchSize } = expiry;
    const byAddress = await db.query(
      `DELETE FROM login_address_failures WHERE (email, address) IN (
         SELECT email, address FROM login_address_failures
         WHERE window_started_at_ms + $2 <= $1
           AND (last_success_at_ms IS NULL OR last_success_at_ms + $3 <= $1)
         LIMIT $4)`,
      [BigInt(nowMs), BigInt(policy.perAddress.windowMs), BigInt(policy.knownAddressMs), batchSize],
    );
    const byEmail = await db.query(
      `DELETE FROM login_failures WHERE email IN (
         SELECT email FROM login_failures WHERE window_started_at_ms + $2 <= $1 LIMIT $3)`,
      [BigInt(nowMs), BigInt(policy.perEmail.windowMs), batchSize],
    );
    return { byAddress: byAddress.rowCount, byEmail: byEmail.rowCount };
  },

  /** Starts a session (a refresh-token family). */
  async insertSession(
    db: SqlExecutor,
    session: {
      sessionId: string;
      userId: string;
      createdAtMs: number;
      deviceId: string;
      clientApp?: string;
      /** The client's network (domain/accounts/session-place.ts); '' when unknown. */
      place?: string;
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO sessions (id, user_id, created_at_ms, device_id, client_app, last_used_at_ms, place)
       VALUES ($1, $2, $3, $4, $5, $3, $6)`,
      [
        session.sessionId,
        session.userId,
        BigInt(session.createdAtMs),
        session.deviceId,
        session.clientApp ?? '',
        session.place ?? '',
      ],
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
};
