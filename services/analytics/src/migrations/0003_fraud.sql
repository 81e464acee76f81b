-- What the fraud rules remember from the event stream, and the flags they raise.
CREATE TABLE fraud_links (
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  link_id TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  PRIMARY KEY (user_id, kind, link_id)
);
CREATE INDEX fraud_links_by_link ON fraud_links (kind, link_id);

CREATE TABLE fraud_channels (
  channel_id TEXT PRIMARY KEY,
  owner_user_id TEXT NOT NULL
);

CREATE TABLE fraud_bets (
  bet_id TEXT PRIMARY KEY,
  market_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  placed_at_ms BIGINT NOT NULL,
  stake_minor BIGINT NOT NULL,
  device_id TEXT NOT NULL,
  network_id TEXT NOT NULL
);
CREATE INDEX fraud_bets_market ON fraud_bets (market_id, placed_at_ms);
CREATE INDEX fraud_bets_user ON fraud_bets (user_id, placed_at_ms);

CREATE TABLE fraud_money (
  event_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  ref_id TEXT NOT NULL,
  market_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX fraud_money_user ON fraud_money (user_id, kind, at_ms);

CREATE TABLE fraud_flags (
  flag_id TEXT PRIMARY KEY,
  dedupe_key TEXT NOT NULL UNIQUE,
  rule SMALLINT NOT NULL,
  status SMALLINT NOT NULL,
  user_ids TEXT[] NOT NULL,
  channel_id TEXT NOT NULL,
  market_id TEXT NOT NULL,
  summary TEXT NOT NULL,
  evidence_json TEXT NOT NULL,
  raised_at_ms BIGINT NOT NULL,
  resolved_at_ms BIGINT NOT NULL DEFAULT 0,
  resolved_by_user_id TEXT NOT NULL DEFAULT '',
  resolution_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fraud_flags_raised ON fraud_flags (raised_at_ms, flag_id);
