
      CREATE TABLE be_markets (
        market_id text PRIMARY KEY,
        channel_id text NOT NULL,
        channel_owner_user_id text NOT NULL,
        title text NOT NULL DEFAULT '',
        kind text NOT NULL CHECK (kind IN ('POOL', 'EXCHANGE')),
        currency text NOT NULL,
        min_stake_minor bigint NOT NULL,
        max_stake_per_bet_minor bigint NOT NULL,
        max_stake_per_user_minor bigint NOT NULL,
        commission_bps integer NOT NULL,
        state text NOT NULL CHECK (state IN ('DRAFT', 'OPEN', 'LOCKED', 'RESOLVED', 'CANCELED')),
        betting_closes_at_ms bigint NOT NULL DEFAULT 0,
        lock_effective_at_ms bigint,
        late_void_pending boolean NOT NULL DEFAULT false,
        voided_bet_count bigint NOT NULL DEFAULT 0,
        voided_stake_minor bigint NOT NULL DEFAULT 0,
        market_version bigint NOT NULL,
        escrow_created boolean NOT NULL DEFAULT false,
        total_staked_minor bigint NOT NULL DEFAULT 0,
        bettor_count bigint NOT NULL DEFAULT 0,
        odds_version bigint NOT NULL DEFAULT 0,
        updated_at_ms bigint NOT NULL
      );
      CREATE INDEX be_markets_late_void ON be_markets (market_id) WHERE late_void_pending;

      CREATE TABLE be_outcome_totals (
        market_id text NOT NULL,
        outcome_id text NOT NULL,
        position integer NOT NULL,
        title text NOT NULL DEFAULT '',
        staked_minor bigint NOT NULL DEFAULT 0,
        bet_count bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (market_id, outcome_id)
      );

      CREATE TABLE be_user_market (
        market_id text NOT NULL,
        user_id text NOT NULL,
        live_stake_minor bigint NOT NULL DEFAULT 0,
        live_bet_count bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (market_id, user_id)
      );

      CREATE TABLE be_bets (
        bet_id text PRIMARY KEY,
        user_id text NOT NULL,
        idempotency_key text NOT NULL,
        market_id text NOT NULL,
        outcome_id text NOT NULL,
        currency text NOT NULL,
        stake_minor bigint NOT NULL CHECK (stake_minor > 0),
        status text NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'VOIDED', 'WON', 'LOST', 'REFUNDED')),
        void_reason text,
        hold_transfer_id text NOT NULL,
        hold_timeout_seconds bigint NOT NULL,
        held_minor bigint NOT NULL DEFAULT 0,
        voided_stake_minor bigint NOT NULL DEFAULT 0,
        payout_minor bigint NOT NULL DEFAULT 0,
        net_profit_minor bigint NOT NULL DEFAULT 0,
        placed_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        settled_at_ms bigint NOT NULL DEFAULT 0,
        client jsonb NOT NULL DEFAULT '{}'::jsonb,
        UNIQUE (user_id, idempotency_key)
      );
      CREATE INDEX be_bets_by_user ON be_bets (user_id, placed_at_ms DESC, bet_id DESC);
      CREATE INDEX be_bets_by_market ON be_bets (market_id, bet_id);
      CREATE INDEX be_bets_by_market_user ON be_bets (market_id, user_id);
      CREATE INDEX be_bets_pending ON be_bets (placed_at_ms) WHERE status = 'PENDING';
    