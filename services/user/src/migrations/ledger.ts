import type { Migration } from '@streambet/platform/sql/types';

/**
 * Schema of the double-entry ledger (ids 0100–0199; identity uses 0001–0099).
 *
 * - `ledger_accounts`: one row per account with its four running totals. A CHECK keeps
 *   constrained accounts (wallets, rake, escrows, streamer revenue) at available ≥ 0 whatever the
 *   code does, so a bug or a race can only fail a transaction, never overdraw a wallet.
 * - `ledger_transfers`: immutable, one row per committed transfer, numbered by `ledger_seq`.
 * - `ledger_holds`: the mutable state of each pending transfer (open, posted, voided, expired),
 *   kept apart so transfer rows are never updated.
 * - `ledger_read_batch` / `ledger_commit_batch`: the two statements of a batch (lock and read;
 *   apply, number and insert), as server-side functions so a batch costs two round trips.
 */
/**
 * Parts of ledger_commit_batch shared by its versions (0101, 0102, 0105, 0107): the signature (0105 on),
 * the statement that applies a set of the batch's account deltas (`extra`: a further condition on
 * the account id), the writes after the accounts (sequence numbers, transfers, hold states) and,
 * from 0105 on, the headroom check before them.
 * Applied migrations are checksummed: these strings must stay byte for byte what they were.
 */
const COMMIT_BATCH_SIGNATURE = `ledger_commit_batch(
  a_ids text[], a_dpend bigint[], a_dpost bigint[], a_cpend bigint[], a_cpost bigint[],
  n_steps integer,
  t_step integer[], t_id text[], t_kind smallint[], t_debit text[], t_credit text[],
  t_amount bigint[], t_currency text[], t_pending_id text[], t_timeout bigint[],
  t_expires bigint[], t_code smallint[], t_market text[], t_bet text[], t_payment text[],
  t_settlement text[], t_memo text[], t_committed bigint[], t_fingerprint text[],
  n_id text[], n_status smallint[], n_expires bigint[], n_resolved_at bigint[], n_resolved_by text[],
  r_id text[], r_status smallint[], r_resolved_at bigint[], r_resolved_by text[], r_step integer[],
  a_need bigint[]
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seqs bigint[]
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  seqs bigint[];
  n integer;
`;
const accountsUpdate = (extra: string): string => `  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_ids, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id${extra}
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
      NULL::bigint[];
`;
const COMMIT_BATCH_WRITES = `  seqs := ARRAY(SELECT nextval('ledger_seq') FROM generate_series(1, n_steps));
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  SELECT u.id, seqs[u.step], u.kind, u.debit, u.credit, u.amount, u.currency, u.pending_id,
    u.timeout, u.expires, u.code, u.market, u.bet, u.payment, u.settlement, u.memo, u.committed,
    u.fingerprint
  FROM unnest(t_step, t_id, t_kind, t_debit, t_credit, t_amount, t_currency, t_pending_id,
    t_timeout, t_expires, t_code, t_market, t_bet, t_payment, t_settlement, t_memo, t_committed,
    t_fingerprint) AS u(step, id, kind, debit, credit, amount, currency, pending_id, timeout,
    expires, code, market, bet, payment, settlement, memo, committed, fingerprint);
  INSERT INTO ledger_holds (transfer_id, status, expires_at_ms, resolved_at_ms, resolved_by)
  SELECT * FROM unnest(n_id, n_status, n_expires, n_resolved_at, n_resolved_by);
  UPDATE ledger_holds h SET status = u.status, resolved_at_ms = u.resolved_at,
    resolved_by = u.resolved_by, expiry_seq = CASE WHEN u.step IS NULL THEN NULL ELSE seqs[u.step] END
  FROM unnest(r_id, r_status, r_resolved_at, r_resolved_by, r_step)
    AS u(id, status, resolved_at, resolved_by, step)
  WHERE h.transfer_id = u.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> coalesce(array_length(r_id, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch resolved % of % holds', n, coalesce(array_length(r_id, 1), 0);
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, seqs;
END
$fn$;`;
const COMMIT_BATCH_APPLY = `  IF n <> coalesce(array_length(a_ids, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch found % of % accounts', n, coalesce(array_length(a_ids, 1), 0)
      USING ERRCODE = 'LG001';
  END IF;
  IF EXISTS (
    SELECT 1 FROM unnest(a_ids, a_need) AS x(id, need)
    JOIN ledger_accounts a ON a.id = x.id
    WHERE x.need > 0 AND a.constrained
      AND a.credits_posted - a.debits_posted - a.debits_pending < x.need) THEN
    RAISE EXCEPTION 'ledger_commit_batch: an account would have dipped below zero within the batch'
      USING ERRCODE = '23514';
  END IF;
${COMMIT_BATCH_WRITES}`;

/** What differs between the versions of ledger_resolve_market_holds (0104, 0108). */
interface ResolveMarketHoldsVariant {
  readonly create: 'CREATE' | 'CREATE OR REPLACE';
  /** Appended to the probe's fingerprint comparison. */
  readonly probeMatch: string;
  /** Inserted before the per-hold fingerprint expression in the page's subquery. */
  readonly probeColumns: string;
  /** Appended to the per-hold fingerprint expression. */
  readonly fpClose: string;
  /** What the resolving transfers' fingerprint column gets. */
  readonly insertedFingerprint: string;
}

/**
 * ledger_resolve_market_holds as each migration creates it. Applied migrations are checksummed:
 * the 0104 variant must stay byte for byte what it was.
 */
const resolveMarketHoldsFunction = (
  v: ResolveMarketHoldsVariant,
): string => `${v.create} FUNCTION ledger_resolve_market_holds(
  p_market text, p_after text, p_limit integer, p_post boolean, p_code smallint,
  p_settlement text, p_now bigint, p_max_id_length integer, p_probe boolean
) RETURNS TABLE (
  r_kind text, r_id text, r_currency text, r_dpend bigint, r_dpost bigint, r_cpend bigint,
  r_cpost bigint, r_count bigint, r_amount bigint, r_text text
) LANGUAGE plpgsql VOLATILE
-- Index-driven joins of the page's arrays with the big tables (a hash join would scan them), and
-- plans made for each call's values (a generic plan may not walk the market's hold index).
SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
  suffix text := CASE WHEN p_post THEN ':post' ELSE ':void' END;
  resolving_kind smallint := CASE WHEN p_post THEN 3 ELSE 4 END;
  new_status smallint := CASE WHEN p_post THEN 2 ELSE 3 END;
  market_json text := to_json(p_market)::text;
  settlement_json text := to_json(p_settlement)::text;
  h_id text[];
  h_amount bigint[];
  h_debit text[];
  h_credit text[];
  h_currency text[];
  h_bet text[];
  h_expires bigint[];
  h_fp text[];
  h_state smallint[];
  h_seq bigint[];
  a_id text[];
  a_dpend bigint[];
  a_dpost bigint[];
  a_cpend bigint[];
  a_cpost bigint[];
  n integer;
  first_id text;
  last_id text;
  more boolean;
BEGIN
  -- The page, locked in hold id order; the arrays are aligned (one aggregate pass).
  SELECT array_agg(p.id), array_agg(p.amount), array_agg(p.debit_account_id),
    array_agg(p.credit_account_id), array_agg(p.currency), array_agg(p.bet_id),
    array_agg(p.expires_at_ms), min(p.id), max(p.id)
  INTO h_id, h_amount, h_debit, h_credit, h_currency, h_bet, h_expires, first_id, last_id
  FROM (
    SELECT t.id, t.amount, t.debit_account_id, t.credit_account_id, t.currency, t.bet_id,
      h.expires_at_ms
    FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.market_id = p_market AND t.kind = 2 AND t.id > p_after AND h.status = 1
    ORDER BY t.id
    LIMIT p_limit
    FOR UPDATE OF h
  ) p;
  n := coalesce(array_length(h_id, 1), 0);
  IF n = 0 THEN
    RETURN QUERY SELECT 's'::text, ''::text, ''::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
      0::bigint, 0::bigint, ''::text;
    RETURN;
  END IF;
  -- Per hold its fingerprint (canonicalContent in transfer-rules.ts: a JSON array without spaces,
  -- amount and timeout as strings, linked false; chain digest empty) and its state: 1 resolve,
  -- 2 expire, 3 already resolved by the same command, 4 id too long, 5 BET_STAKE without bet id,
  -- 6 derived id taken by a different transfer. The hold's id, currency and bet id are quoted
  -- without escaping: the ledger stored them only after checking them against [A-Za-z0-9:_.-],
  -- [A-Z] and ULID, none of which JSON escapes.
  SELECT array_agg(f.fp), array_agg(CASE
      WHEN length(f.id) > p_max_id_length THEN 4
      WHEN p_code = 3 AND f.bet = '' THEN 5
      WHEN p_probe AND EXISTS (SELECT 1 FROM ledger_transfers x WHERE x.id = f.id || suffix) THEN
        (SELECT CASE WHEN x.fingerprint = f.fp${v.probeMatch} THEN 3 ELSE 6 END
         FROM ledger_transfers x WHERE x.id = f.id || suffix)
      WHEN f.expires > 0 AND f.expires <= p_now THEN 2
      ELSE 1
      END::smallint)
  INTO h_fp, h_state
  FROM (
    SELECT u.id, u.bet, u.expires,${v.probeColumns} rtrim(translate(encode(sha256(convert_to(
      '["' || u.id || suffix || '",' || resolving_kind::text || ',"","","'
      || CASE WHEN p_post THEN u.amount::text ELSE '0' END || '","' || u.currency || '","'
      || u.id || '","0",false,' || p_code::text || ',' || market_json || ',"' || u.bet
      || '","",' || settlement_json || ',""]|', 'UTF8')), 'base64'), '+/', '-_'), '=')${v.fpClose} AS fp
    FROM unnest(h_id, h_amount, h_currency, h_bet, h_expires)
      AS u(id, amount, currency, bet, expires)
  ) f;
  -- One aggregated delta per touched account, then the locks in the ledger's order.
  SELECT array_agg(m.id), array_agg(m.dpend), array_agg(m.dpost), array_agg(m.cpend),
    array_agg(m.cpost)
  INTO a_id, a_dpend, a_dpost, a_cpend, a_cpost
  FROM (
    SELECT m.id, sum(m.dpend)::bigint AS dpend, sum(m.dpost)::bigint AS dpost,
      sum(m.cpend)::bigint AS cpend, sum(m.cpost)::bigint AS cpost
    FROM (
      SELECT u.debit AS id, -u.amount AS dpend,
        CASE WHEN u.state = 1 AND p_post THEN u.amount ELSE 0 END AS dpost,
        0::bigint AS cpend, 0::bigint AS cpost
      FROM unnest(h_debit, h_amount, h_state) AS u(debit, amount, state) WHERE u.state <= 2
      UNION ALL
      SELECT u.credit, 0::bigint, 0::bigint, -u.amount,
        CASE WHEN u.state = 1 AND p_post THEN u.amount ELSE 0 END
      FROM unnest(h_credit, h_amount, h_state) AS u(credit, amount, state) WHERE u.state <= 2
    ) m GROUP BY m.id
  ) m;
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_id)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
  -- One sequence number per resolved or expired hold, taken after the locks.
  h_seq := ARRAY(
    SELECT CASE WHEN s.state <= 2 THEN nextval('ledger_seq') END FROM unnest(h_state) AS s(state));
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  SELECT u.id || suffix, u.seq, resolving_kind, u.debit, u.credit, u.amount, u.currency, u.id, 0, 0,
    p_code, p_market, u.bet, '', p_settlement, '', p_now, ${v.insertedFingerprint}
  FROM unnest(h_id, h_seq, h_debit, h_credit, h_amount, h_currency, h_bet, h_fp, h_state)
    AS u(id, seq, debit, credit, amount, currency, bet, fp, state)
  WHERE u.state = 1;
  UPDATE ledger_holds h SET
    status = CASE WHEN u.state = 1 THEN new_status ELSE 4 END,
    resolved_at_ms = p_now,
    resolved_by = CASE WHEN u.state = 1 THEN u.id || suffix ELSE '' END,
    expiry_seq = CASE WHEN u.state = 2 THEN u.seq END
  FROM unnest(h_id, h_state, h_seq) AS u(id, state, seq)
  WHERE h.transfer_id = u.id AND u.state <= 2;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_id, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id
    RETURNING 'a'::text, a.id::text, a.currency, a.debits_pending, a.debits_posted,
      a.credits_pending, a.credits_posted, NULL::bigint, NULL::bigint, NULL::text;
  RETURN QUERY
    SELECT 'f'::text, CASE WHEN u.state = 4 THEN u.id ELSE u.id || suffix END, ''::text,
      NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
      CASE u.state WHEN 4 THEN 4 WHEN 5 THEN 6 ELSE 3 END::bigint, NULL::bigint,
      CASE u.state
        WHEN 4 THEN 'hold id ' || u.id || ' is too long to derive a resolving transfer id; resolve it with SubmitTransfers'
        WHEN 5 THEN 'bet_id is required for BET_STAKE'
        ELSE 'transfer id ' || u.id || suffix || ' is already used by a different transfer' END
    FROM unnest(h_id, h_state) AS u(id, state)
    WHERE u.state >= 4;
  -- More open holds after this page? (A short page took all there were: the ones it skipped had
  -- been resolved meanwhile.) Walks the market's hold index from the page's end.
  more := n = p_limit AND (
    SELECT t.id FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.market_id = p_market AND t.kind = 2 AND t.id > last_id AND h.status = 1
    ORDER BY t.id LIMIT 1) IS NOT NULL;
  RETURN QUERY
    SELECT 's'::text, CASE WHEN more THEN last_id ELSE '' END, first_id,
      count(*) FILTER (WHERE u.state = 2), coalesce(sum(u.amount) FILTER (WHERE u.state = 2), 0)::bigint,
      count(*) FILTER (WHERE u.state = 3), coalesce(max(u.seq), 0),
      count(*) FILTER (WHERE u.state = 1), coalesce(sum(u.amount) FILTER (WHERE u.state = 1), 0)::bigint,
      last_id
    FROM unnest(h_state, h_amount, h_seq) AS u(state, amount, seq);
END
$fn$;`;

/** Migration 0108's ledger_resolve_market_holds: no hash per transfer (see the migration). */
const fingerprintsOnDemand: ResolveMarketHoldsVariant = {
  create: 'CREATE OR REPLACE',
  probeMatch: `
            OR (x.fingerprint = '' AND x.kind = resolving_kind AND x.pending_id = f.id
              AND x.amount = f.amount AND x.currency = f.currency AND x.code = p_code
              AND x.market_id = p_market AND x.bet_id = f.bet AND x.settlement_id = p_settlement
              AND x.payment_id = '' AND x.memo = '')`,
  probeColumns: ' u.amount, u.currency, CASE WHEN p_probe THEN',
  fpClose: ' END',
  insertedFingerprint: "''",
};

export const ledgerMigrations: readonly Migration[] = [
  {
    id: '0100_ledger_tables',
    sql: `
CREATE TABLE ledger_accounts (
  id text COLLATE "C" PRIMARY KEY,
  kind smallint NOT NULL,
  currency text NOT NULL,
  owner_id text NOT NULL DEFAULT '',
  constrained boolean NOT NULL,
  created_at_ms bigint NOT NULL,
  debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  CONSTRAINT ledger_accounts_available_not_negative
    CHECK (NOT constrained OR debits_posted + debits_pending <= credits_posted)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id) WHERE owner_id <> '';

CREATE SEQUENCE ledger_seq AS bigint START 1;

CREATE TABLE ledger_transfers (
  id text COLLATE "C" PRIMARY KEY,
  seq bigint NOT NULL,
  kind smallint NOT NULL,
  debit_account_id text COLLATE "C" NOT NULL,
  credit_account_id text COLLATE "C" NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  pending_id text NOT NULL DEFAULT '',
  timeout_seconds bigint NOT NULL DEFAULT 0,
  expires_at_ms bigint NOT NULL DEFAULT 0,
  code smallint NOT NULL,
  market_id text NOT NULL DEFAULT '',
  bet_id text NOT NULL DEFAULT '',
  payment_id text NOT NULL DEFAULT '',
  settlement_id text NOT NULL DEFAULT '',
  memo text NOT NULL DEFAULT '',
  committed_at_ms bigint NOT NULL,
  fingerprint text NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, seq);

CREATE TABLE ledger_holds (
  transfer_id text COLLATE "C" PRIMARY KEY,
  status smallint NOT NULL,
  expires_at_ms bigint NOT NULL DEFAULT 0,
  resolved_at_ms bigint NOT NULL DEFAULT 0,
  resolved_by text NOT NULL DEFAULT '',
  expiry_seq bigint
);
CREATE INDEX ledger_holds_open_expiry ON ledger_holds (expires_at_ms)
  WHERE status = 1 AND expires_at_ms > 0;
`,
  },
  {
    id: '0101_ledger_functions',
    sql: `
CREATE FUNCTION ledger_account_json(a ledger_accounts) RETURNS json
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(a.id, a.kind, a.currency, a.owner_id, a.constrained,
    a.created_at_ms::text, a.debits_pending::text, a.debits_posted::text,
    a.credits_pending::text, a.credits_posted::text)
$fn$;

CREATE FUNCTION ledger_transfer_json(t ledger_transfers, status smallint, resolved_at_ms bigint)
RETURNS json LANGUAGE sql IMMUTABLE AS $fn$
  SELECT json_build_array(t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount::text,
    t.currency, t.pending_id, t.timeout_seconds::text, t.expires_at_ms::text, t.code, t.market_id,
    t.bet_id, t.payment_id, t.settlement_id, t.memo, t.committed_at_ms::text, t.seq::text,
    coalesce(status, 0), coalesce(resolved_at_ms, 0)::text, t.fingerprint)
$fn$;

-- Reads what a batch needs, locking in the ledger's one order: the holds it resolves (by id),
-- then per-user accounts and the system accounts it debits (class, then id); with strict, every
-- account. Then, with a fresh snapshot (VOLATILE: each statement takes a new one, after the
-- locks), the accounts left unlocked and the committed transfers whose ids the batch uses.
CREATE FUNCTION ledger_read_batch(
  hold_ids text[], account_ids text[], debited_system_ids text[], transfer_ids text[], strict boolean
) RETURNS TABLE (k text, j json) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  wanted text[];
BEGIN
  RETURN QUERY
    SELECT 'h'::text, ledger_transfer_json(t, h.status, h.resolved_at_ms)
    FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
    WHERE h.transfer_id = ANY(hold_ids)
    ORDER BY h.transfer_id
    FOR UPDATE OF h;
  SELECT array_agg(DISTINCT x) INTO wanted FROM (
    SELECT unnest(account_ids) AS x
    UNION ALL SELECT t.debit_account_id FROM ledger_transfers t WHERE t.id = ANY(hold_ids)
    UNION ALL SELECT t.credit_account_id FROM ledger_transfers t WHERE t.id = ANY(hold_ids)
  ) ids;
  RETURN QUERY
    SELECT 'a'::text, ledger_account_json(l) FROM (
      SELECT a.* FROM ledger_accounts a
      WHERE a.id = ANY(wanted)
        AND (strict OR a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%' OR a.id = ANY(debited_system_ids))
      ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
      FOR UPDATE
    ) l;
  RETURN QUERY
    SELECT 'a'::text, ledger_account_json(a) FROM ledger_accounts a
    WHERE a.id = ANY(wanted)
      AND NOT (strict OR a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%' OR a.id = ANY(debited_system_ids));
  RETURN QUERY
    SELECT 't'::text, ledger_transfer_json(t, h.status, h.resolved_at_ms)
    FROM ledger_transfers t LEFT JOIN ledger_holds h ON h.transfer_id = t.id
    WHERE t.id = ANY(transfer_ids);
END
$fn$;

-- Commits a planned batch: locks the touched accounts not yet locked in (class, id) order (the
-- hot, credit-only system accounts are locked only here), applies one aggregated delta per
-- account in one statement, takes one sequence number per step (after the locks, so per account
-- sequence order is commit order), inserts the transfers and new holds and records resolved
-- holds. Returns every touched account's new totals, plus one row (r_id NULL) with the sequence
-- numbers. The CHECK on ledger_accounts makes it fail (23514) rather than overdraw.
CREATE FUNCTION ledger_commit_batch(
  a_ids text[], a_dpend bigint[], a_dpost bigint[], a_cpend bigint[], a_cpost bigint[],
  n_steps integer,
  t_step integer[], t_id text[], t_kind smallint[], t_debit text[], t_credit text[],
  t_amount bigint[], t_currency text[], t_pending_id text[], t_timeout bigint[],
  t_expires bigint[], t_code smallint[], t_market text[], t_bet text[], t_payment text[],
  t_settlement text[], t_memo text[], t_committed bigint[], t_fingerprint text[],
  n_id text[], n_status smallint[], n_expires bigint[], n_resolved_at bigint[], n_resolved_by text[],
  r_id text[], r_status smallint[], r_resolved_at bigint[], r_resolved_by text[], r_step integer[]
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seqs bigint[]
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  seqs bigint[];
  n integer;
BEGIN
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_ids)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + d.dpend,
      debits_posted = a.debits_posted + d.dpost,
      credits_pending = a.credits_pending + d.cpend,
      credits_posted = a.credits_posted + d.cpost
    FROM unnest(a_ids, a_dpend, a_dpost, a_cpend, a_cpost) AS d(id, dpend, dpost, cpend, cpost)
    WHERE a.id = d.id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
      NULL::bigint[];
${COMMIT_BATCH_WRITES}
`,
  },
  {
    id: '0102_ledger_one_statement_commits',
    sql: `
-- Room on each page for the new versions of account rows: balance updates change no indexed
-- column, so they can stay heap-only (no index writes) when the page has space.
ALTER TABLE ledger_accounts SET (fillfactor = 50);

-- The speculative path (ledger-store.ts) commits a batch with this one statement and no
-- surrounding transaction, so the function itself must refuse a batch naming a missing account
-- (LG001) instead of leaving the check to the caller.
CREATE OR REPLACE FUNCTION ledger_commit_batch(
  a_ids text[], a_dpend bigint[], a_dpost bigint[], a_cpend bigint[], a_cpost bigint[],
  n_steps integer,
  t_step integer[], t_id text[], t_kind smallint[], t_debit text[], t_credit text[],
  t_amount bigint[], t_currency text[], t_pending_id text[], t_timeout bigint[],
  t_expires bigint[], t_code smallint[], t_market text[], t_bet text[], t_payment text[],
  t_settlement text[], t_memo text[], t_committed bigint[], t_fingerprint text[],
  n_id text[], n_status smallint[], n_expires bigint[], n_resolved_at bigint[], n_resolved_by text[],
  r_id text[], r_status smallint[], r_resolved_at bigint[], r_resolved_by text[], r_step integer[]
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seqs bigint[]
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  seqs bigint[];
  n integer;
BEGIN
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_ids)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
${accountsUpdate('')}  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> coalesce(array_length(a_ids, 1), 0) THEN
    RAISE EXCEPTION 'ledger_commit_batch found % of % accounts', n, coalesce(array_length(a_ids, 1), 0)
      USING ERRCODE = 'LG001';
  END IF;
${COMMIT_BATCH_WRITES}

-- One new transfer or hold in one statement (the one-round-trip path of a single command): lock
-- and update both accounts in the ledger's (class, id) order, take the sequence number after the
-- locks, insert the transfer (primary key: 23505 when the id is taken) and, for a hold, its state.
-- The CHECK on ledger_accounts refuses an overdraft (23514). Returns both accounts' new totals and
-- one row (o_id NULL) with the sequence number.
CREATE FUNCTION ledger_transfer_one(
  p_id text, p_kind smallint, p_debit text, p_credit text, p_amount bigint, p_currency text,
  p_timeout bigint, p_expires bigint, p_code smallint, p_market text, p_bet text,
  p_payment text, p_settlement text, p_memo text, p_committed bigint, p_fingerprint text,
  p_hold_status smallint
) RETURNS TABLE (
  o_id text, o_dpend bigint, o_dpost bigint, o_cpend bigint, o_cpost bigint, o_seq bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  pending boolean := p_kind = 2;
  first_id text;
  second_id text;
  n integer;
  total integer := 0;
  s bigint;
BEGIN
  IF (NOT (p_debit LIKE 'wallet:%' OR p_debit LIKE 'streamer:%'), p_debit COLLATE "C")
     < (NOT (p_credit LIKE 'wallet:%' OR p_credit LIKE 'streamer:%'), p_credit COLLATE "C") THEN
    first_id := p_debit; second_id := p_credit;
  ELSE
    first_id := p_credit; second_id := p_debit;
  END IF;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + CASE WHEN a.id = p_debit AND pending THEN p_amount ELSE 0 END,
      debits_posted = a.debits_posted + CASE WHEN a.id = p_debit AND NOT pending THEN p_amount ELSE 0 END,
      credits_pending = a.credits_pending + CASE WHEN a.id = p_credit AND pending THEN p_amount ELSE 0 END,
      credits_posted = a.credits_posted + CASE WHEN a.id = p_credit AND NOT pending THEN p_amount ELSE 0 END
    WHERE a.id = first_id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, NULL::bigint;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;
  RETURN QUERY
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + CASE WHEN a.id = p_debit AND pending THEN p_amount ELSE 0 END,
      debits_posted = a.debits_posted + CASE WHEN a.id = p_debit AND NOT pending THEN p_amount ELSE 0 END,
      credits_pending = a.credits_pending + CASE WHEN a.id = p_credit AND pending THEN p_amount ELSE 0 END,
      credits_posted = a.credits_posted + CASE WHEN a.id = p_credit AND NOT pending THEN p_amount ELSE 0 END
    WHERE a.id = second_id
    RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, NULL::bigint;
  GET DIAGNOSTICS n = ROW_COUNT;
  total := total + n;
  IF total <> 2 OR p_debit = p_credit THEN
    RAISE EXCEPTION 'ledger_transfer_one found % of the 2 accounts % and %', total, p_debit, p_credit
      USING ERRCODE = 'LG001';
  END IF;
  s := nextval('ledger_seq');
  INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount, currency,
    pending_id, timeout_seconds, expires_at_ms, code, market_id, bet_id, payment_id, settlement_id,
    memo, committed_at_ms, fingerprint)
  VALUES (p_id, s, p_kind, p_debit, p_credit, p_amount, p_currency, '', p_timeout, p_expires, p_code,
    p_market, p_bet, p_payment, p_settlement, p_memo, p_committed, p_fingerprint);
  IF pending THEN
    INSERT INTO ledger_holds (transfer_id, status, expires_at_ms) VALUES (p_id, p_hold_status, p_expires);
  END IF;
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, s;
END
$fn$;
`,
  },
  {
    id: '0103_ledger_market_holds',
    sql: `
-- Bulk settlement (ResolveMarketHolds) pages through one market's holds in id order; only holds
-- (kind 2 = PENDING) are indexed, so plain transfers pay nothing for it.
CREATE INDEX ledger_transfers_market_holds ON ledger_transfers (market_id, id) WHERE kind = 2;
`,
  },
  {
    id: '0104_ledger_resolve_market_holds',
    sql: `
-- Set-based bulk settlement (ResolveMarketHolds): one page of a market's open holds in one
-- statement. Locks the page's holds (FOR UPDATE, hold id order, re-checked after the lock so a
-- hold resolved meanwhile is skipped), then the touched accounts in the ledger's (class, id)
-- order (wallets and streamer accounts, then system accounts) — the order of ledger_read_batch
-- and ledger_commit_batch, so it cannot deadlock with them. Per hold, in this order: a derived id
-- longer than p_max_id_length or a BET_STAKE hold without bet id is refused (as the command's
-- shape check refuses it); with p_probe, a derived id already taken is ALREADY_EXISTS_SAME when
-- its fingerprint is the derived command's, ID_REUSED_DIFFERENT_CONTENT otherwise (without
-- p_probe the insert fails with 23505 instead and the caller repeats the page with p_probe: an
-- open hold's derived id is almost never taken, so the first try skips a lookup per hold); a hold
-- past its timeout at p_now expires (status 4, expiry_seq, balances released, exactly as the
-- expiry path); any other is resolved by one inserted transfer with the derived id, its own
-- sequence number and the fingerprint the JS path computes (ledger-store.ts fingerprintsOf:
-- base64url of sha256(<canonical JSON of the command> || '|')). Then one aggregated delta per
-- account (the CHECK keeps constrained accounts non-negative). Returns rows tagged by r_kind:
-- 'a' one per touched account with its new totals; 'f' one per refused hold (r_id the derived
-- transfer id, or the hold id when too long; r_count result code, r_text detail); 's' one summary
-- (r_count resolved, r_amount resolved amount, r_dpend expired count, r_dpost expired amount,
-- r_cpend already resolved count, r_cpost highest sequence taken, r_id next cursor or '',
-- r_currency first hold id, r_text last hold id).
${resolveMarketHoldsFunction({ create: 'CREATE', probeMatch: '', probeColumns: '', fpClose: '', insertedFingerprint: 'u.fp' })}
`,
  },
  {
    id: '0105_ledger_commit_batch_headroom',
    sql: `
-- The one-statement path may now take a batch in which a constrained account is debited, then
-- credited (transfers between a client's own wallets, say): the CHECK on ledger_accounts sees only
-- the end of the batch, so the caller also passes, per account, the available balance it must
-- still have after the batch for no command in it to have overdrawn it (a_need: the batch's net
-- change minus its lowest running change). Short of that, the statement fails with 23514 and
-- nothing is written; the caller then runs the full path, which gives each command its own answer.
DROP FUNCTION ledger_commit_batch(text[], bigint[], bigint[], bigint[], bigint[], integer,
  integer[], text[], smallint[], text[], text[], bigint[], text[], text[], bigint[], bigint[],
  smallint[], text[], text[], text[], text[], text[], bigint[], text[], text[], smallint[],
  bigint[], bigint[], text[], text[], smallint[], bigint[], text[], integer[]);

CREATE FUNCTION ${COMMIT_BATCH_SIGNATURE}BEGIN
  PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(a_ids)
    ORDER BY NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%'), a.id
    FOR UPDATE;
${accountsUpdate('')}  GET DIAGNOSTICS n = ROW_COUNT;
${COMMIT_BATCH_APPLY}
`,
  },
  {
    id: '0106_ledger_history_hash_keys',
    sql: `
-- Account history (ListTransactions, wallet history, open holds per wallet) walks these indexes;
-- every transfer adds an entry to both, which was about half of a batch's cost. Keyed by the
-- 4-byte hash of the account id instead of the id itself (40–50 bytes), each entry is smaller and
-- cheaper to place (measured: batches of 1,000 transfers +15%). Queries name the hash and the id
-- (ledger-store.ts), so a collision only costs a filtered row. hashtext is immutable and is what
-- PostgreSQL's own hash partitioning relies on.
CREATE INDEX ledger_transfers_debit_hash ON ledger_transfers (hashtext(debit_account_id), seq);
CREATE INDEX ledger_transfers_credit_hash ON ledger_transfers (hashtext(credit_account_id), seq);
DROP INDEX ledger_transfers_debit;
DROP INDEX ledger_transfers_credit;

-- The hashes of a list of account ids. Immutable, so with the list known when a statement is
-- planned the planner folds it into a constant array and sizes the index scan from real values
-- (a subquery would leave it guessing, and pick a parallel scan for two wallets).
CREATE FUNCTION ledger_account_hashes(ids text[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT coalesce(array_agg(hashtext(a)), '{}') FROM unnest(ids) AS a $fn$;
`,
  },
  {
    id: '0107_ledger_commit_batch_system_accounts_last',
    sql: `
-- The same statement, with the lock order split in two steps: the batch's per-user accounts are
-- locked and updated first, and only then its system accounts (a market's escrow, house, rake).
-- A hot system account is so locked only for the rest of the statement (sequence numbers and the
-- inserts) and not while the batch's thousand wallets are locked and updated: batches that credit
-- the same escrow overlap in their wallet work instead of queueing for all of it. The order is the
-- ledger's one lock order, (class, id), as before; sequence numbers are still taken after every
-- account the batch touches is locked, so each account's transfers number in commit order.
CREATE OR REPLACE FUNCTION ${COMMIT_BATCH_SIGNATURE}  system_rows integer;
BEGIN
  PERFORM 1 FROM ledger_accounts a
    WHERE a.id = ANY(a_ids) AND (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%')
    ORDER BY a.id
    FOR UPDATE;
${accountsUpdate(" AND (d.id LIKE 'wallet:%' OR d.id LIKE 'streamer:%')")}  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM 1 FROM ledger_accounts a
    WHERE a.id = ANY(a_ids) AND NOT (a.id LIKE 'wallet:%' OR a.id LIKE 'streamer:%')
    ORDER BY a.id
    FOR UPDATE;
${accountsUpdate(" AND NOT (d.id LIKE 'wallet:%' OR d.id LIKE 'streamer:%')")}  GET DIAGNOSTICS system_rows = ROW_COUNT;
  n := n + system_rows;
${COMMIT_BATCH_APPLY}
`,
  },
  {
    id: '0108_ledger_bulk_fingerprints_on_demand',
    sql: `
-- Bulk settlement no longer hashes every resolving transfer it writes (a fifth of a page's time):
-- such a transfer is stored with an empty fingerprint, which stands for the fingerprint of the
-- command it was derived from (ledger-store.ts holdResolutionCommand), and every fingerprint the
-- ledger writes otherwise is a 43-character hash, so '' is unambiguous. Readers that compare
-- fingerprints derive it on demand: the JS path from the stored transfer (ledger-store.ts
-- parseTransfer), this function's probe by comparing the derivation's fields (the same derived
-- id, hold, amount, currency, code, market, bet and settlement, no payment and no memo).
${resolveMarketHoldsFunction(fingerprintsOnDemand)}
`,
  },
];
