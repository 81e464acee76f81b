-- The embedded warehouse: every event as stored (protobuf JSON) and the flat facts the metrics are
-- computed from, both keyed by event id so a redelivered event is kept once.
CREATE TABLE analytics_events (
  event_id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  occurred_at_ms BIGINT NOT NULL,
  producer TEXT NOT NULL,
  actor_user_id TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE analytics_facts (
  event_id TEXT NOT NULL,
  seq SMALLINT NOT NULL,
  kind TEXT NOT NULL,
  occurred_at_ms BIGINT NOT NULL,
  currency TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  market_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  bet_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL,
  commission_minor BIGINT NOT NULL,
  streamer_share_minor BIGINT NOT NULL,
  PRIMARY KEY (event_id, seq)
);

CREATE INDEX analytics_facts_kind_time ON analytics_facts (kind, currency, occurred_at_ms);
CREATE INDEX analytics_facts_bet ON analytics_facts (bet_id);
CREATE INDEX analytics_facts_market ON analytics_facts (market_id);
