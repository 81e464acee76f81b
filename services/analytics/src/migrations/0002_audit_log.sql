-- The append-only audit log, hash-chained per partition (the subject type): seq numbers each
-- partition's entries 1, 2, 3 ... and hash = sha256(prev_hash + "\n" + canonical entry)
-- (src/audit/chain.ts). audit_chain_heads holds each partition's last seq and hash; appending locks
-- that row, so concurrent appends to one partition queue up and the chain never forks.
CREATE TABLE audit_log (
  partition_key TEXT NOT NULL,
  seq BIGINT NOT NULL,
  entry_id TEXT NOT NULL UNIQUE,
  occurred_at_ms BIGINT NOT NULL,
  actor_type SMALLINT NOT NULL,
  actor_user_id TEXT NOT NULL,
  actor_role SMALLINT NOT NULL,
  actor_service TEXT NOT NULL,
  action TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  details_json TEXT NOT NULL,
  source_event_id TEXT UNIQUE,
  trace_id TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (partition_key, seq)
);

CREATE INDEX audit_log_time ON audit_log (occurred_at_ms, entry_id);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, occurred_at_ms);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, occurred_at_ms);

CREATE TABLE audit_chain_heads (
  partition_key TEXT PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);

-- Entries are never changed or deleted: the database refuses it, whoever asks.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
