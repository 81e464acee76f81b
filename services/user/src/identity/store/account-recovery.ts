/**
 * Emailed tokens (address verification, password reset) stored by SHA-256, fixed-window throttles
 * of the emailing RPCs, confirmed addresses, and the session listing and revocations of issue 17.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { type Row, ms, msOrNull } from './rows.js';

/** What an emailed token is for. */
export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

/** An emailed token as stored. */
export interface EmailTokenRecord {
  readonly tokenHash: string;
  readonly purpose: EmailTokenPurpose;
  readonly userId: string;
  /** The address the token was sent to. */
  readonly email: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly usedAtMs: number | null;
}

/** A live session as listed to its user. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly deviceId: string;
  readonly clientApp: string;
  /** The client network of the last sign-in or refresh ('' = unknown). */
  readonly place: string;
  readonly createdAtMs: number;
  readonly lastUsedAtMs: number;
}

/** The answer of a throttle: allowed, or refused with when the window ends. */
export type ThrottleDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** SQL of emailed tokens, throttles and session listing. */
export const accountRecoveryQueries = {
  async insertEmailToken(db: SqlExecutor, token: Omit<EmailTokenRecord, 'usedAtMs'>) {
    await db.query(
      `INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at_ms, expires_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        token.tokenHash,
        token.purpose,
        token.userId,
        token.email,
        BigInt(token.createdAtMs),
        BigInt(token.expiresAtMs),
      ],
    );
  },

  /** Reads a token; `forUpdate` locks it so two uses of one token serialise. */
  async findEmailToken(
    db: SqlExecutor,
    tokenHash: string,
    lock: { forUpdate?: boolean } = {},
  ): Promise<EmailTokenRecord | undefined> {
    const result = await db.query<Row>(
      `SELECT token_hash, purpose, user_id, email, created_at_ms, expires_at_ms, used_at_ms
       FROM email_tokens WHERE token_hash = $1${lock.forUpdate === true ? ' FOR UPDATE' : ''}`,
      [tokenHash],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      tokenHash: row.token_hash as string,
      purpose: row.purpose as EmailTokenPurpose,
      userId: row.user_id as string,
      email: row.email as string,
      createdAtMs: ms(row.created_at_ms),
      expiresAtMs: ms(row.expires_at_ms),
      usedAtMs: msOrNull(row.used_at_ms),
    };
  },

  /** Marks every unused token of the user for `purpose` used (the one just used among them). */
  async useEmailTokens(
    db: SqlExecutor,
    userId: string,
    purpose: EmailTokenPurpose,
    atMs: number,
  ): Promise<void> {
    await db.query(
      `UPDATE email_tokens SET used_at_ms = $3
       WHERE user_id = $1 AND purpose = $2 AND used_at_ms IS NULL`,
      [userId, purpose, BigInt(atMs)],
    );
  },

  /** Marks one token used. */
  async useEmailToken(db: SqlExecutor, tokenHash: string, atMs: number): Promise<void> {
    await db.query('UPDATE email_tokens SET used_at_ms = $2 WHERE token_hash = $1', [
      tokenHash,
      BigInt(atMs),
    ]);
  },

  /** Records that the user confirmed their address (the first confirmation's time is kept). */
  async setEmailVerified(db: SqlExecutor, userId: string, atMs: number): Promise<void> {
    await db.query(
      'UPDATE users SET email_verified_at_ms = COALESCE(email_verified_at_ms, $2) WHERE id = $1',
      [userId, BigInt(atMs)],
    );
  },

  /**
   * Counts one use of `key` in a fixed window of `windowMs`; refused once more than `max` uses fall
   * in the current window (the refused use is counted too unless the caller's transaction rolls
   * back).
   */
  async takeThrottle(
    db: SqlExecutor,
    key: string,
    nowMs: number,
    limit: { readonly max: number; readonly windowMs: number },
  ): Promise<ThrottleDecision> {
    const result = await db.query<Row>(
      `INSERT INTO identity_throttles AS t (key, window_started_at_ms, count) VALUES ($1, $2, 1)
       ON CONFLICT (key) DO UPDATE SET
         window_started_at_ms = CASE WHEN t.window_started_at_ms + $3 <= $2 THEN $2
                                     ELSE t.window_started_at_ms END,
         count = CASE WHEN t.window_started_at_ms + $3 <= $2 THEN 1 ELSE t.count + 1 END
       RETURNING window_started_at_ms, count`,
      [key, BigInt(nowMs), BigInt(limit.windowMs)],
    );
    const row = result.rows[0]!;
    if (Number(row.count) <= limit.max) return { allowed: true };
    return {
      allowed: false,
      retryAfterMs: Math.max(1, ms(row.window_started_at_ms) + limit.windowMs - nowMs),
    };
  },

  /** Live sessions (not revoked, with an unused unexpired refresh token), most recently used first. */
  async listLiveSessions(
    db: SqlExecutor,
    userId: string,
    nowMs: number,
    limit: number,
  ): Promise<SessionRecord[]> {
    const result = await db.query<Row>(
      `SELECT s.id, s.device_id, s.client_app, s.place, s.created_at_ms,
              COALESCE(s.last_used_at_ms, s.created_at_ms) AS last_used_at_ms
       FROM sessions s
       WHERE s.user_id = $1 AND s.revoked_at_ms IS NULL
         AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id
                     AND t.used_at_ms IS NULL AND t.expires_at_ms > $2)
       ORDER BY last_used_at_ms DESC, s.id DESC LIMIT $3`,
      [userId, BigInt(nowMs), limit],
    );
    return result.rows.map((row) => ({
      sessionId: row.id as string,
      deviceId: row.device_id as string,
      clientApp: row.client_app as string,
      place: row.place as string,
      createdAtMs: ms(row.created_at_ms),
      lastUsedAtMs: ms(row.last_used_at_ms),
    }));
  },

  /** The owner of a session, or undefined when there is no such session. */
  async sessionOwner(db: SqlExecutor, sessionId: string): Promise<string | undefined> {
    const result = await db.query<Row>('SELECT user_id FROM sessions WHERE id = $1', [sessionId]);
    return result.rows[0]?.user_id as string | undefined;
  },

  /**
   * Records a use of the session (a refresh) and where from; an unknown `place` ('') keeps the
   * last known one.
   */
  async touchSession(db: SqlExecutor, sessionId: string, atMs: number, place = ''): Promise<void> {
    await db.query(
      `UPDATE sessions SET last_used_at_ms = $2,
         place = CASE WHEN $3::text = '' THEN place ELSE $3::text END
       WHERE id = $1`,
      [sessionId, BigInt(atMs), place],
    );
  },

  /**
   * Deletes what no longer decides anything: throttle windows that ended a day ago, emailed tokens
   * that expired a week ago (kept a while to answer "already used or expired"), and mail delivered
   * more than `keepSentMailMs` ago, second steps of Login and unconfirmed two-step set-ups that
   * expired a day ago. Returns the rows deleted per table.
   */
  async pruneAccountRecovery(
    db: SqlExecutor,
    nowMs: number,
    keepSentMailMs: number,
  ): Promise<{ throttles: number; tokens: number; mails: number; secondSteps: number }> {
    const throttles = await db.query(
      'DELETE FROM identity_throttles WHERE window_started_at_ms < $1',
      [BigInt(nowMs - 2 * 86_400_000)],
    );
    const tokens = await db.query('DELETE FROM email_tokens WHERE expires_at_ms < $1', [
      BigInt(nowMs - 7 * 86_400_000),
    ]);
    const mails = await db.query(
      'DELETE FROM mail_outbox WHERE sent_at_ms IS NOT NULL AND sent_at_ms < $1',
      [BigInt(nowMs - keepSentMailMs)],
    );
    const dayAgo = BigInt(nowMs - 86_400_000);
    const secondSteps = await db.query('DELETE FROM login_second_steps WHERE expires_at_ms < $1', [
      dayAgo,
    ]);
    await db.query(
      'DELETE FROM two_step_secrets WHERE enabled_at_ms IS NULL AND enroll_expires_at_ms < $1',
      [dayAgo],
    );
    return {
      throttles: throttles.rowCount,
      tokens: tokens.rowCount,
      mails: mails.rowCount,
      secondSteps: secondSteps.rowCount,
    };
  },

  /** Revokes every live session of a user but `keepSessionId`; returns how many. */
  async revokeOtherSessions(
    db: SqlExecutor,
    userId: string,
    keepSessionId: string,
    atMs: number,
    reason: string,
  ): Promise<number> {
    const result = await db.query(
      `UPDATE sessions SET revoked_at_ms = $3, revoked_reason = $4
       WHERE user_id = $1 AND id <> $2 AND revoked_at_ms IS NULL`,
      [userId, keepSessionId, BigInt(atMs), reason],
    );
    return result.rowCount;
  },
};
