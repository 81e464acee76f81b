/**
 * Two-step verification (TOTP secrets, recovery codes by SHA-256, the second step of Login) and
 * the email-change tokens of issue 17. The time step of an accepted code only moves forward
 * ({@link twoStepQueries.advanceTotpStep}), which is what refuses a code used twice.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { type Row, ms, msOrNull } from './rows.js';

/** A user's TOTP secret as stored. */
export interface TwoStepRecord {
  readonly userId: string;
  /**
   * The secret as stored: sealed (totp-secret-cipher.ts, `v1.…`), or the bare base32 secret of a
   * row written before sealing until the start-up sweep seals it.
   */
  readonly storedSecret: string;
  readonly createdAtMs: number;
  /** null while enrolling. */
  readonly enabledAtMs: number | null;
  readonly enrollExpiresAtMs: number;
  readonly lastUsedStep: number;
}

/** A pending second step of Login. */
export interface LoginSecondStepRecord {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly expiresAtMs: number;
  readonly usedAtMs: number | null;
}

/** An email-change token as stored. */
export interface EmailChangeTokenRecord {
  readonly tokenHash: string;
  readonly userId: string;
  readonly newEmail: string;
  readonly previousEmail: string;
  readonly expiresAtMs: number;
  readonly usedAtMs: number | null;
}

/** The count of a throttle key in its current window (0 when none or ended). */
export interface ThrottleCount {
  readonly count: number;
  /** When the current window ends (0 when none). */
  readonly windowEndsAtMs: number;
}

export const twoStepQueries = {
  async getTwoStep(
    db: SqlExecutor,
    userId: string,
    lock: { forUpdate?: boolean } = {},
  ): Promise<TwoStepRecord | undefined> {
    const result = await db.query<Row>(
      `SELECT user_id, secret_base32, created_at_ms, enabled_at_ms, enroll_expires_at_ms, last_used_step
       FROM two_step_secrets WHERE user_id = $1${lock.forUpdate === true ? ' FOR UPDATE' : ''}`,
      [userId],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      userId: row.user_id as string,
      storedSecret: row.secret_base32 as string,
      createdAtMs: ms(row.created_at_ms),
      enabledAtMs: msOrNull(row.enabled_at_ms),
      enrollExpiresAtMs: ms(row.enroll_expires_at_ms),
      lastUsedStep: Number(row.last_used_step),
    };
  },

  /** Writes (or replaces) an unconfirmed secret (`storedSecret`: sealed by the caller). */
  async putPendingTwoStep(
    db: SqlExecutor,
    userId: string,
    storedSecret: string,
    nowMs: number,
    expiresAtMs: number,
  ): Promise<void> {
    await db.query(
      `INSERT INTO two_step_secrets (user_id, secret_base32, created_at_ms, enroll_expires_at_ms)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET secret_base32 = $2, created_at_ms = $3,
         enroll_expires_at_ms = $4, enabled_at_ms = NULL, last_used_step = 0`,
      [userId, storedSecret, BigInt(nowMs), BigInt(expiresAtMs)],
    );
  },

  /** Up to `limit` secrets still stored bare (written before sealing), for the sealing sweep. */
  async listUnsealedTwoStep(
    db: SqlExecutor,
    limit: number,
  ): Promise<Array<{ userId: string; storedSecret: string }>> {
    const result = await db.query<Row>(
      `SELECT user_id, secret_base32 FROM two_step_secrets
       WHERE secret_base32 NOT LIKE 'v1.%' ORDER BY user_id LIMIT $1`,
      [limit],
    );
    return result.rows.map((row) => ({
      userId: row.user_id as string,
      storedSecret: row.secret_base32 as string,
    }));
  },

  /**
   * Replaces a bare secret by its sealed form; false when the row changed meanwhile (a new
   * enrolment wrote a sealed one).
   */
  async sealTwoStepSecret(
    db: SqlExecutor,
    userId: string,
    bare: string,
    sealed: string,
  ): Promise<boolean> {
    const result = await db.query(
      'UPDATE two_step_secrets SET secret_base32 = $3 WHERE user_id = $1 AND secret_base32 = $2',
      [userId, bare, sealed],
    );
    return result.rowCount === 1;
  },

  /**
   * Records `step` as used when it is later than every step used before; false when it is not
   * (the code, or a later one, was already used). One statement: two concurrent uses of one code
   * cannot both pass.
   */
  async advanceTotpStep(db: SqlExecutor, userId: string, step: number): Promise<boolean> {
    const result = await db.query(
      'UPDATE two_step_secrets SET last_used_step = $2 WHERE user_id = $1 AND last_used_step < $2',
      [userId, BigInt(step)],
    );
    return result.rowCount === 1;
  },

  /** Turns two-step verification on and stores the recovery codes' hashes. */
  async enableTwoStep(
    db: SqlExecutor,
    userId: string,
    nowMs: number,
    recoveryCodeHashes: readonly string[],
  ): Promise<void> {
    await db.query('UPDATE two_step_secrets SET enabled_at_ms = $2 WHERE user_id = $1', [
      userId,
      BigInt(nowMs),
    ]);
    await db.query('DELETE FROM two_step_recovery_codes WHERE user_id = $1', [userId]);
    for (const hash of recoveryCodeHashes) {
      await db.query('INSERT INTO two_step_recovery_codes (user_id, code_hash) VALUES ($1, $2)', [
        userId,
        hash,
      ]);
    }
  },

  /** Deletes the secret and the recovery codes. */
  async deleteTwoStep(db: SqlExecutor, userId: string): Promise<void> {
    await db.query('DELETE FROM two_step_recovery_codes WHERE user_id = $1', [userId]);
    await db.query('DELETE FROM two_step_secrets WHERE user_id = $1', [userId]);
  },

  /** Spends an unused recovery code; false when there is none with this hash. */
  async useRecoveryCode(
    db: SqlExecutor,
    userId: string,
    codeHash: string,
    nowMs: number,
  ): Promise<boolean> {
    const result = await db.query(
      `UPDATE two_step_recovery_codes SET used_at_ms = $3
       WHERE user_id = $1 AND code_hash = $2 AND used_at_ms IS NULL`,
      [userId, codeHash, BigInt(nowMs)],
    );
    return result.rowCount === 1;
  },

  async countRecoveryCodesLeft(db: SqlExecutor, userId: string): Promise<number> {
    const result = await db.query<Row>(
      `SELECT count(*) AS n FROM two_step_recovery_codes WHERE user_id = $1 AND used_at_ms IS NULL`,
      [userId],
    );
    return Number(result.rows[0]?.n ?? 0);
  },

  async insertLoginSecondStep(
    db: SqlExecutor,
    step: Omit<LoginSecondStepRecord, 'usedAtMs'> & { readonly createdAtMs: number },
  ): Promise<void> {
    await db.query(
      `INSERT INTO login_second_steps (token_hash, user_id, device_id, created_at_ms, expires_at_ms)
       VALUES ($1, $2, $3, $4, $5)`,
      [
        step.tokenHash,
        step.userId,
        step.deviceId,
        BigInt(step.createdAtMs),
        BigInt(step.expiresAtMs),
      ],
    );
  },

  async findLoginSecondStep(
    db: SqlExecutor,
    tokenHash: string,
  ): Promise<LoginSecondStepRecord | undefined> {
    const result = await db.query<Row>(
      `SELECT token_hash, user_id, device_id, expires_at_ms, used_at_ms
       FROM login_second_steps WHERE token_hash = $1`,
      [tokenHash],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      tokenHash: row.token_hash as string,
      userId: row.user_id as string,
      deviceId: row.device_id as string,
      expiresAtMs: ms(row.expires_at_ms),
      usedAtMs: msOrNull(row.used_at_ms),
    };
  },

  /** Spends a second-step token; false when it was already spent. */
  async useLoginSecondStep(db: SqlExecutor, tokenHash: string, nowMs: number): Promise<boolean> {
    const result = await db.query(
      'UPDATE login_second_steps SET used_at_ms = $2 WHERE token_hash = $1 AND used_at_ms IS NULL',
      [tokenHash, BigInt(nowMs)],
    );
    return result.rowCount === 1;
  },

  /** Reads a throttle key's count in its window of `windowMs` without counting a use. */
  async peekThrottle(
    db: SqlExecutor,
    key: string,
    nowMs: number,
    windowMs: number,
  ): Promise<ThrottleCount> {
    const result = await db.query<Row>(
      'SELECT window_started_at_ms, count FROM identity_throttles WHERE key = $1',
      [key],
    );
    const row = result.rows[0];
    if (row === undefined) return { count: 0, windowEndsAtMs: 0 };
    const endsAtMs = ms(row.window_started_at_ms) + windowMs;
    return endsAtMs <= nowMs
      ? { count: 0, windowEndsAtMs: 0 }
      : { count: Number(row.count), windowEndsAtMs: endsAtMs };
  },

  async insertEmailChangeToken(
    db: SqlExecutor,
    token: Omit<EmailChangeTokenRecord, 'usedAtMs'> & { readonly createdAtMs: number },
  ): Promise<void> {
    await db.query(
      `INSERT INTO email_tokens (token_hash, purpose, user_id, email, previous_email, created_at_ms,
         expires_at_ms)
       VALUES ($1, 'change_email', $2, $3, $4, $5, $6)`,
      [
        token.tokenHash,
        token.userId,
        token.newEmail,
        token.previousEmail,
        BigInt(token.createdAtMs),
        BigInt(token.expiresAtMs),
      ],
    );
  },

  async findEmailChangeToken(
    db: SqlExecutor,
    tokenHash: string,
  ): Promise<EmailChangeTokenRecord | undefined> {
    const result = await db.query<Row>(
      `SELECT token_hash, user_id, email, previous_email, expires_at_ms, used_at_ms
       FROM email_tokens WHERE token_hash = $1 AND purpose = 'change_email' FOR UPDATE`,
      [tokenHash],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      tokenHash: row.token_hash as string,
      userId: row.user_id as string,
      newEmail: row.email as string,
      previousEmail: (row.previous_email as string | null) ?? '',
      expiresAtMs: ms(row.expires_at_ms),
      usedAtMs: msOrNull(row.used_at_ms),
    };
  },

  /**
   * Moves the account to `newEmail` (confirmed now); 'taken' when another account has it (the
   * unique index decides, so of two accounts claiming one address only one can win).
   */
  async changeEmail(
    db: SqlExecutor,
    userId: string,
    newEmail: string,
    nowMs: number,
  ): Promise<'changed' | 'taken'> {
    const taken = await db.query<Row>('SELECT 1 FROM users WHERE email = $1 AND id <> $2', [
      newEmail,
      userId,
    ]);
    if (taken.rows.length > 0) return 'taken';
    try {
      await db.query('UPDATE users SET email = $2, email_verified_at_ms = $3 WHERE id = $1', [
        userId,
        newEmail,
        BigInt(nowMs),
      ]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return 'taken';
      throw error;
    }
    return 'changed';
  },
};
