-- YouTube has no push: each linked YouTube channel is polled. One row per YouTube link: its
-- uploads playlist (where a live broadcast appears), the live video being watched, the next poll
-- time and the streaks that lengthen the interval (offline) or back off (errors).
CREATE TABLE integration_youtube_polls (
  link_id TEXT PRIMARY KEY REFERENCES integration_channels (channel_id),
  uploads_playlist_id TEXT NOT NULL,
  live_video_id TEXT NOT NULL DEFAULT '',
  next_poll_at_ms BIGINT NOT NULL,
  offline_streak INTEGER NOT NULL DEFAULT 0,
  error_streak INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_polled_at_ms BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX integration_youtube_polls_due ON integration_youtube_polls (next_poll_at_ms);

-- The YouTube Data API quota bucket shared by all replicas (domain/youtube-quota.ts): at most
-- one row; units available and when they were counted.
CREATE TABLE integration_youtube_quota (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tokens DOUBLE PRECISION NOT NULL,
  counted_at_ms BIGINT NOT NULL,
  -- Units spent in total (for /metrics and support).
  spent_units BIGINT NOT NULL DEFAULT 0
);
