
      CREATE TABLE pool_channels (
        channel_id text PRIMARY KEY,
        owner_user_id text NOT NULL,
        platform text NOT NULL,
        linked boolean NOT NULL,
        settings jsonb,
        settings_version bigint NOT NULL DEFAULT 0,
        settings_updated_at_ms bigint NOT NULL DEFAULT 0,
        updated_at_ms bigint NOT NULL
      );

      CREATE TABLE pool_markets (
        market_id text PRIMARY KEY,
        channel_id text NOT NULL,
        state text NOT NULL CHECK (state IN ('DRAFT', 'OPEN', 'LOCKED', 'RESOLVED', 'CANCELED')),
        created_at_ms bigint NOT NULL,
        betting_closes_at_ms bigint NOT NULL DEFAULT 0,
        auto_lock_on_offline boolean NOT NULL,
        twitch_prediction_id text NOT NULL DEFAULT '',
        version bigint NOT NULL,
        doc jsonb NOT NULL
      );
      CREATE INDEX pool_markets_by_channel ON pool_markets (channel_id, created_at_ms DESC, market_id DESC);
      CREATE INDEX pool_markets_by_created ON pool_markets (created_at_ms DESC, market_id DESC);
      CREATE INDEX pool_markets_open_by_close ON pool_markets (betting_closes_at_ms) WHERE state = 'OPEN';
      CREATE UNIQUE INDEX pool_markets_twitch_prediction ON pool_markets (twitch_prediction_id)
        WHERE twitch_prediction_id <> '';
      CREATE UNIQUE INDEX pool_markets_one_active_mirror ON pool_markets (channel_id)
        WHERE twitch_prediction_id <> '' AND state IN ('DRAFT', 'OPEN', 'LOCKED');

      CREATE TABLE pool_create_requests (
        caller_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        market_id text NOT NULL,
        PRIMARY KEY (caller_id, idempotency_key)
      );

      CREATE TABLE pool_leaderboard_scores (
        board_key text NOT NULL,
        user_id text NOT NULL,
        net_minor bigint NOT NULL,
        market_count bigint NOT NULL,
        expires_at_ms bigint,
        PRIMARY KEY (board_key, user_id)
      );
    