-- Issue 17: the coarse place of a session (its client network: an IPv4 /24 or IPv6 /64 prefix as
-- text), written at sign-in and at each refresh, shown in ListSessions. '' = unknown (sessions
-- from before, or calls without a client address).
ALTER TABLE sessions ADD COLUMN place text NOT NULL DEFAULT '';
