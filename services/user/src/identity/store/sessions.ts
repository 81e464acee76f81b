/**
 * Sessions: failed-login counting, sessions (refresh-token families) and their refresh tokens,
 * stored by hash, rotated and revoked.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
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
};
