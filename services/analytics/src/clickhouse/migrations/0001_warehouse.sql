-- The analytics warehouse on ClickHouse. Written for both Debian's 18.16 and current ClickHouse:
-- no LowCardinality, DateTime64, Map, TTL or query parameters; old-style types only.
-- ReplacingMergeTree with the event id in the sorting key: a redelivered event (same id, same
-- rows) collapses into one row at merge time, and the metrics read with FINAL, so it counts once
-- before that too. An event's rows all land in one partition (its month), which FINAL needs.
CREATE TABLE IF NOT EXISTS events (
  event_id String,
  topic String,
  type String,
  aggregate_id String,
  occurred_at_ms Int64,
  producer String,
  actor_user_id String,
  payload_json String,
  ingested_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(occurred_at_ms, 1000)))
ORDER BY (topic, event_id);

CREATE TABLE IF NOT EXISTS facts (
  event_id String,
  seq UInt16,
  kind String,
  occurred_at_ms Int64,
  currency String,
  channel_id String,
  market_id String,
  user_id String,
  bet_id String,
  amount_minor Int64,
  commission_minor Int64,
  streamer_share_minor Int64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(occurred_at_ms, 1000)))
ORDER BY (kind, currency, event_id, seq);
