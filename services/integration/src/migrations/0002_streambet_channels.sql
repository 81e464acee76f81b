-- One StreamBet channel across platforms: a streamer's Twitch, Kick and YouTube links share one
-- StreamBet channel (one market list, one pool). A streamer has at most one StreamBet channel; its
-- id is the id of their first link ever (so a channel linked before this change keeps its id).
-- Links of one owner made before this change are merged into the channel of the earliest one.
CREATE TABLE integration_streambet_channels (
  streambet_channel_id TEXT PRIMARY KEY,
  channel_owner_user_id TEXT NOT NULL UNIQUE,
  -- When offline auto-lock fires on a channel live on several platforms: when the last live link
  -- goes offline ('last', default) or the first ('first').
  offline_lock_policy TEXT NOT NULL DEFAULT 'last' CHECK (offline_lock_policy IN ('first', 'last')),
  -- Push markets opened on StreamBet to the channel's Twitch link as Channel Points predictions.
  push_markets_to_twitch BOOLEAN NOT NULL DEFAULT false,
  -- Why the last market was not pushed (or its push failed); '' when the last push went through.
  push_note TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL
);

INSERT INTO integration_streambet_channels (streambet_channel_id, channel_owner_user_id, created_at_ms)
SELECT DISTINCT ON (owner_user_id) channel_id, owner_user_id, linked_at_ms
FROM integration_channels
ORDER BY owner_user_id, linked_at_ms, channel_id;

ALTER TABLE integration_channels ADD COLUMN streambet_channel_id TEXT;

UPDATE integration_channels c SET streambet_channel_id = s.streambet_channel_id
FROM integration_streambet_channels s WHERE s.channel_owner_user_id = c.owner_user_id;

ALTER TABLE integration_channels ALTER COLUMN streambet_channel_id SET NOT NULL;

CREATE INDEX integration_channels_streambet ON integration_channels (streambet_channel_id);

-- Markets pushed to Twitch as Channel Points predictions (push_markets_to_twitch), by market id:
-- the Helix prediction id and the last state we put it in, so a redelivered market event is
-- applied once.
CREATE TABLE integration_pushed_predictions (
  market_id TEXT PRIMARY KEY,
  streambet_channel_id TEXT NOT NULL,
  link_id TEXT NOT NULL,
  prediction_id TEXT NOT NULL DEFAULT '',
  -- outcome id on StreamBet → Twitch outcome id, as JSON object
  outcome_map TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'LOCKED', 'RESOLVED', 'CANCELED', 'SKIPPED')),
  note TEXT NOT NULL DEFAULT '',
  updated_at_ms BIGINT NOT NULL
);

CREATE INDEX integration_pushed_predictions_channel
  ON integration_pushed_predictions (streambet_channel_id, status);
