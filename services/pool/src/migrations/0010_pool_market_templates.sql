      CREATE TABLE pool_market_templates (
        template_id text PRIMARY KEY,
        channel_id text NOT NULL,
        name text NOT NULL,
        name_folded text NOT NULL,
        open_on_stream_online boolean NOT NULL DEFAULT false,
        created_by_user_id text NOT NULL,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        version bigint NOT NULL,
        definition jsonb NOT NULL
      );
      CREATE UNIQUE INDEX pool_market_templates_name ON pool_market_templates (channel_id, name_folded);
      CREATE INDEX pool_market_templates_on_online ON pool_market_templates (channel_id)
        WHERE open_on_stream_online;

      CREATE TABLE pool_template_launches (
        market_id text PRIMARY KEY,
        template_id text NOT NULL,
        trigger text NOT NULL CHECK (trigger IN ('MANUAL', 'STREAM_ONLINE')),
        launched_at_ms bigint NOT NULL
      );
      CREATE INDEX pool_template_launches_by_template
        ON pool_template_launches (template_id, launched_at_ms DESC, market_id DESC);
