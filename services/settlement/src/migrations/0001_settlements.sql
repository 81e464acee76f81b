
CREATE TABLE settlement_markets (
  market_id TEXT PRIMARY KEY,
  channel_id TEXT NOT NULL,
  kind SMALLINT NOT NULL,
  currency TEXT NOT NULL,
  outcome_ids TEXT[] NOT NULL,
  commission_bps INTEGER NOT NULL,
  streamer_share_bps INTEGER NOT NULL,
  streamer_user_id TEXT NOT NULL
);

CREATE TABLE settlements (
  market_id TEXT PRIMARY KEY,
  settlement_id TEXT NOT NULL UNIQUE,
  channel_id TEXT NOT NULL,
  kind SMALLINT NOT NULL,
  currency TEXT NOT NULL,
  canceled BOOLEAN NOT NULL,
  winning_outcome_id TEXT NOT NULL DEFAULT '',
  outcome_ids TEXT[],
  commission_bps INTEGER NOT NULL DEFAULT 0,
  streamer_share_bps INTEGER NOT NULL DEFAULT 0,
  streamer_user_id TEXT NOT NULL DEFAULT '',
  status SMALLINT NOT NULL,
  phase TEXT NOT NULL DEFAULT 'HOLDS',
  holds_cursor TEXT NOT NULL DEFAULT '',
  payouts_cursor TEXT NOT NULL DEFAULT '',
  refund_reason SMALLINT NOT NULL DEFAULT 0,
  total_staked_minor BIGINT NOT NULL DEFAULT 0,
  winning_staked_minor BIGINT NOT NULL DEFAULT 0,
  losing_staked_minor BIGINT NOT NULL DEFAULT 0,
  commission_minor BIGINT NOT NULL DEFAULT 0,
  streamer_share_minor BIGINT NOT NULL DEFAULT 0,
  rake_minor BIGINT NOT NULL DEFAULT 0,
  distributable_minor BIGINT NOT NULL DEFAULT 0,
  breakage_minor BIGINT NOT NULL DEFAULT 0,
  payout_total_minor BIGINT NOT NULL DEFAULT 0,
  payout_count BIGINT NOT NULL DEFAULT 0,
  winner_count BIGINT NOT NULL DEFAULT 0,
  bet_count BIGINT NOT NULL DEFAULT 0,
  market_event_at_ms BIGINT NOT NULL,
  due_at_ms BIGINT NOT NULL,
  leased_until_ms BIGINT NOT NULL DEFAULT 0,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  started_at_ms BIGINT NOT NULL DEFAULT 0,
  completed_at_ms BIGINT NOT NULL DEFAULT 0,
  reversed_at_ms BIGINT NOT NULL DEFAULT 0,
  reversal_reason TEXT NOT NULL DEFAULT '',
  reversed_by_user_id TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX settlements_due ON settlements (due_at_ms) WHERE status IN (1, 2, 5);
CREATE INDEX settlements_listing ON settlements (market_event_at_ms DESC, market_id);

CREATE TABLE settlement_payouts (
  market_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  kind SMALLINT NOT NULL,
  channel_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  stake_minor BIGINT NOT NULL,
  payout_minor BIGINT NOT NULL,
  net_minor BIGINT NOT NULL,
  transfer_id TEXT NOT NULL,
  paid_at_ms BIGINT NOT NULL DEFAULT 0,
  reversed_at_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (market_id, user_id, kind)
);
CREATE INDEX settlement_payouts_user ON settlement_payouts (user_id, paid_at_ms DESC, market_id);
CREATE INDEX settlement_payouts_paid ON settlement_payouts (paid_at_ms DESC, market_id, user_id);
