-- Failed logins per (email, client address), the small budget that stops a guesser at one address
-- without locking the account's owner out from theirs; login_failures stays the slower per-email
-- ceiling across all addresses. last_success_at_ms marks an address the owner logged in from
-- (exempt from the per-email ceiling). address is '' for callers without a forwarded address.
CREATE TABLE login_address_failures (
  email text NOT NULL,
  address text NOT NULL,
  window_started_at_ms bigint NOT NULL,
  failures integer NOT NULL,
  last_success_at_ms bigint,
  PRIMARY KEY (email, address)
);
