-- Fencing of a run's lease: every claim of a run takes the next lease_token (never reused, never
-- decreasing), and every write of the attempt that claimed it is conditional on the row still
-- carrying that token, so a runner whose lease expired and was taken over writes nothing more.
ALTER TABLE settlements ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
