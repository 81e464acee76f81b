
      CREATE TABLE rt_channels (
        channel_id text PRIMARY KEY,
        owner_user_id text NOT NULL,
        linked boolean NOT NULL
      );
      CREATE TABLE rt_markets (
        market_id text PRIMARY KEY,
        channel_id text NOT NULL
      );
      CREATE TABLE rt_users (
        user_id text PRIMARY KEY,
        display_name text NOT NULL,
        is_admin boolean NOT NULL DEFAULT false
      );
      CREATE TABLE rt_chat_settings (
        channel_id text PRIMARY KEY,
        chat_enabled boolean NOT NULL,
        slow_mode_seconds integer NOT NULL,
        user_rate_limit_messages integer NOT NULL,
        user_rate_limit_window_seconds integer NOT NULL,
        updated_by_user_id text NOT NULL,
        updated_at_ms bigint NOT NULL
      );
      CREATE TABLE rt_chat_bans (
        channel_id text NOT NULL,
        user_id text NOT NULL,
        until_ms bigint NOT NULL,
        reason text NOT NULL,
        banned_by_user_id text NOT NULL,
        banned_at_ms bigint NOT NULL,
        PRIMARY KEY (channel_id, user_id)
      );
      CREATE TABLE rt_chat_messages (
        message_id text PRIMARY KEY,
        channel_id text NOT NULL,
        user_id text NOT NULL,
        client_message_id text NOT NULL,
        display_name text NOT NULL,
        role text NOT NULL,
        is_channel_owner boolean NOT NULL,
        text text NOT NULL,
        sent_at_ms bigint NOT NULL,
        UNIQUE (channel_id, user_id, client_message_id)
      );
      CREATE INDEX rt_chat_messages_by_channel ON rt_chat_messages (channel_id, message_id DESC);
    