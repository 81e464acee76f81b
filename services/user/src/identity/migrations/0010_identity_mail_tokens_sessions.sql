-- Accounts people can keep (issue 17): confirmed addresses, emailed single-use tokens, throttles
-- of the emailing RPCs, the last use of a session, and the mail outbox.
ALTER TABLE users ADD COLUMN email_verified_at_ms bigint;
ALTER TABLE sessions ADD COLUMN client_app text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_used_at_ms bigint;
-- Tokens of verification and password-reset emails, by SHA-256 (the token has 256 random bits).
CREATE TABLE email_tokens (
  token_hash text PRIMARY KEY,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  user_id text NOT NULL REFERENCES users (id),
  email text NOT NULL,
  created_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  used_at_ms bigint
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose) WHERE used_at_ms IS NULL;
-- Fixed-window counters (ResendVerification per user, RequestPasswordReset per email and per
-- client address, ChangePassword per user).
CREATE TABLE identity_throttles (
  key text PRIMARY KEY,
  window_started_at_ms bigint NOT NULL,
  count integer NOT NULL
);
-- Mail written in the transaction of the change that causes it; the mail sender delivers each
-- row with its message_id as the Message-ID header and marks it sent (at least once; a crash
-- between delivery and the mark repeats the same Message-ID). In embedded mode without SMTP the
-- rows are the local mailbox.
CREATE TABLE mail_outbox (
  message_id text PRIMARY KEY,
  user_id text NOT NULL DEFAULT '',
  kind text NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  created_at_ms bigint NOT NULL,
  next_attempt_at_ms bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  sent_at_ms bigint
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at_ms) WHERE sent_at_ms IS NULL;
CREATE INDEX mail_outbox_to ON mail_outbox (to_address, created_at_ms);
