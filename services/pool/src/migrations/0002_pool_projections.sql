
      CREATE TABLE pool_market_odds (
        market_id text PRIMARY KEY,
        version bigint NOT NULL,
        snapshot jsonb NOT NULL
      );
      CREATE TABLE pool_user_names (
        user_id text PRIMARY KEY,
        display_name text NOT NULL
      );
    