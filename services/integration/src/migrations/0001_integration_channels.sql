-- Linked channels, one row per platform link, with their live state, platform-side settings and
-- the platform's OAuth tokens sealed with INTEGRATION_TOKEN_KEY (AES-256-GCM, never in clear).
-- An unlinked row is kept for history; a platform channel is linked to at most one live row.
CREATE TABLE integration_channels (
  channel_id TEXT PRIMARY KEY,
  owner_user_id TEXT NOT NULL,
  platform TEXT NOT NULL CHECK (platform IN ('TWITCH', 'KICK', 'YOUTUBE')),
  platform_channel_id TEXT NOT NULL,
  handle TEXT NOT NULL,
  display_name TEXT NOT NULL,
  profile_image_url TEXT NOT NULL DEFAULT '',
  channel_url TEXT NOT NULL DEFAULT '',
  link_status TEXT NOT NULL CHECK (link_status IN ('ACTIVE', 'REAUTH_REQUIRED', 'UNLINKED')),
  reauth_reason TEXT NOT NULL DEFAULT '',
  live_state TEXT NOT NULL DEFAULT 'UNKNOWN' CHECK (live_state IN ('UNKNOWN', 'OFFLINE', 'LIVE')),
  live_since_ms BIGINT NOT NULL DEFAULT 0,
  stream_title TEXT NOT NULL DEFAULT '',
  platform_stream_id TEXT NOT NULL DEFAULT '',
  live_state_changed_at_ms BIGINT NOT NULL DEFAULT 0,
  mirror_twitch_predictions BOOLEAN NOT NULL DEFAULT false,
  scopes TEXT NOT NULL DEFAULT '',
  access_token_sealed TEXT NOT NULL DEFAULT '',
  refresh_token_sealed TEXT NOT NULL DEFAULT '',
  token_expires_at_ms BIGINT NOT NULL DEFAULT 0,
  linked_at_ms BIGINT NOT NULL,
  unlinked_at_ms BIGINT
);

CREATE UNIQUE INDEX integration_channels_platform_link
  ON integration_channels (platform, platform_channel_id)
  WHERE link_status <> 'UNLINKED';

CREATE INDEX integration_channels_owner ON integration_channels (owner_user_id);

-- OAuth states between BeginChannelLink and LinkChannel, keyed by SHA-256 of the state (a leaked
-- table does not yield usable states). The PKCE verifier (Kick) is sealed like tokens.
CREATE TABLE integration_oauth_states (
  state_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  platform TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_verifier_sealed TEXT NOT NULL DEFAULT '',
  expires_at_ms BIGINT NOT NULL,
  used_for_channel_id TEXT
);

-- Platform event subscriptions we created (Twitch EventSub, Kick events), for unlink and reconcile.
CREATE TABLE integration_subscriptions (
  platform TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  channel_id TEXT NOT NULL REFERENCES integration_channels (channel_id),
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (platform, subscription_id)
);

CREATE INDEX integration_subscriptions_channel ON integration_subscriptions (channel_id);

-- Message ids of processed webhook deliveries (dedupe), kept at least as long as the freshness
-- window; written in the same transaction as the delivery's effect.
CREATE TABLE integration_webhook_messages (
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  PRIMARY KEY (provider, message_id)
);

CREATE INDEX integration_webhook_messages_received ON integration_webhook_messages (received_at_ms);

-- The raw webhook log: every delivery, accepted or refused, with its verdict.
CREATE TABLE integration_webhook_log (
  id BIGSERIAL PRIMARY KEY,
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL DEFAULT '',
  message_type TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  channel_id TEXT NOT NULL DEFAULT '',
  received_at_ms BIGINT NOT NULL,
  body TEXT NOT NULL DEFAULT ''
);

CREATE INDEX integration_webhook_log_received ON integration_webhook_log (received_at_ms);
