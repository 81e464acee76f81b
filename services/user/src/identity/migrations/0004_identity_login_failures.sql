
CREATE TABLE login_failures (
  email text PRIMARY KEY,
  window_started_at_ms bigint NOT NULL,
  failures integer NOT NULL
);
