/**
 * Measures market-level settlement on real PostgreSQL (issue 12, decision 1): ResolveMarket of a
 * market with 1,000,000 open holds from 100,000 wallets, then CreditMarketPayouts for 100,000
 * wallets in pages of 20,000, against a baseline measured in the same run on the same server:
 * `COPY` (psql \copy) of 1,000,000 rows of a bet's shape into a table with a primary key.
 *
 *   npx tsx services/user/test/ledger/market-resolution-measure.ts [postgres url]
 *
 * Setup (not timed) writes the holds, their hold rows and the market's open-hold totals with
 * set-based SQL, exactly as the hold commit path leaves them. Not the official settle bench
 * (`npm run bench -- settle`, the settlement service end to end): a focused figure for the ledger.
 * Ends with one JSON line like the benches'.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '@streambet/platform/sql/migrate';
import { openSqlUrl } from '@streambet/testkit/sql';
import { TransferCode } from '../../src/ledger/domain/index.js';
import { ledgerMigrations } from '../../src/ledger/migrations/index.js';
import { createLedgerStore } from '../../src/ledger/store/index.js';

const run = promisify(execFile);
const HOLDS = Number(process.env.MEASURE_HOLDS ?? 1_000_000);
const WALLETS = Number(process.env.MEASURE_WALLETS ?? 100_000);
const PAGE = 20_000;
const base = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `h1measure_${Date.now()}`;
const admin = await openSqlUrl(base, { applicationName: 'measure-admin' });
await admin.query(`CREATE DATABASE ${dbName}`);
const url = base.replace(/\/[^/]*$/, `/${dbName}`);
const sql = await openSqlUrl(url, { applicationName: 'measure' });
const marketId = '01JMEASUREMARKET0000000000';
const escrowId = `market:${marketId}:escrow`;
const walletOf = (w: number) => `wallet:01JMEASURE${String(w).padStart(16, '0')}:BRL`;
const log = (line: string) => process.stderr.write(`${line}\n`);

try {
  await migrate(sql, 'user', ledgerMigrations);
  const t0 = performance.now();
  await sql.query(
    `INSERT INTO ledger_accounts (id, kind, currency, owner_id, constrained, created_at_ms, debits_posted)
     VALUES ('house:BRL', 2, 'BRL', '', false, 0, $1::bigint), ('rake:BRL', 3, 'BRL', '', true, 0, 0),
       ($2, 5, 'BRL', $3, true, 0, 0)`,
    [String(WALLETS * 1_000_000), escrowId, marketId],
  );
  await sql.query(
    `INSERT INTO ledger_accounts (id, kind, currency, owner_id, constrained, created_at_ms, credits_posted)
     SELECT 'wallet:01JMEASURE' || lpad(w::text, 16, '0') || ':BRL', 1, 'BRL',
       '01JMEASURE' || lpad(w::text, 16, '0'), true, 0, 1000000
     FROM generate_series(0, $1::int - 1) AS w`,
    [WALLETS],
  );
  // Hold i: wallet i % WALLETS, stake 1 + i % 50.
  await sql.query(
    `INSERT INTO ledger_transfers (id, seq, kind, debit_account_id, credit_account_id, amount,
       currency, code, market_id, bet_id, committed_at_ms, fingerprint, timeout_seconds, expires_at_ms)
     SELECT 'bet:' || lpad(i::text, 26, '0') || ':stake', nextval('ledger_seq'), 2,
       'wallet:01JMEASURE' || lpad((i % $1::int)::text, 16, '0') || ':BRL', $2, 1 + i % 50, 'BRL', 3,
       $3, lpad(i::text, 26, '0'), 1, 'fp', 2592000, 1800000000000 + 2592000000
     FROM generate_series(0, $4::int - 1) AS i`,
    [WALLETS, escrowId, marketId, HOLDS],
  );
  await sql.query(
    `INSERT INTO ledger_holds (transfer_id, status, expires_at_ms)
     SELECT id, 1, expires_at_ms FROM ledger_transfers WHERE kind = 2`,
  );
  await sql.query(
    `INSERT INTO ledger_market_hold_totals (market_id, debit_account_id, credit_account_id,
       open_count, open_amount)
     SELECT market_id, debit_account_id, credit_account_id, count(*), sum(amount)
     FROM ledger_transfers WHERE kind = 2 GROUP BY 1, 2, 3`,
  );
  await sql.query(`INSERT INTO ledger_markets (market_id) VALUES ($1)`, [marketId]);
  await sql.query(
    `UPDATE ledger_accounts a SET debits_pending = g.amount
     FROM (SELECT debit_account_id, sum(open_amount) AS amount FROM ledger_market_hold_totals
       GROUP BY 1) g WHERE a.id = g.debit_account_id`,
  );
  await sql.query(
    `UPDATE ledger_accounts SET credits_pending =
       (SELECT sum(open_amount) FROM ledger_market_hold_totals) WHERE id = $1`,
    [escrowId],
  );
  await sql.query('VACUUM ANALYZE');
  if (process.env.MEASURE_SETUP_ONLY !== undefined) {
    log(`set up database ${dbName}`);
    process.exit(0);
  }
  log(`setup: ${HOLDS} holds from ${WALLETS} wallets in ${Math.round(performance.now() - t0)} ms`);

  const store = createLedgerStore(sql, {
    clock: { now: () => 1_800_000_000_000 },
    currencies: { real: 'BRL' },
  });
  const stakes = await sql.query<{ s: string }>(
    `SELECT sum(amount)::text AS s FROM ledger_transfers WHERE kind = 2`,
  );
  const total = BigInt(stakes.rows[0]!.s);

  const resolveStart = performance.now();
  const { resolution } = await store.resolveMarket({
    marketId,
    settlementId: '01JMEASURESETTLEMENT000000',
    action: 'post-in-full',
    code: TransferCode.BET_STAKE,
    expectedOpenAmountMinor: total,
  });
  const resolveMs = performance.now() - resolveStart;
  log(
    `ResolveMarket: ${resolution.resolvedCount} holds, ${resolution.accountCount} accounts in ${Math.round(resolveMs)} ms`,
  );

  const each = total / BigInt(WALLETS);
  const payStart = performance.now();
  let credited = 0;
  for (let first = 0; first < WALLETS; first += PAGE) {
    const entries = Array.from({ length: Math.min(PAGE, WALLETS - first) }, (_, k) => ({
      accountId: walletOf(first + k),
      amountMinor: each,
      code: TransferCode.PAYOUT,
    }));
    const page = await store.creditMarketPayouts({
      marketId,
      settlementId: '01JMEASURESETTLEMENT000000',
      currency: 'BRL',
      entries,
    });
    credited += page.creditedCount;
  }
  const rest = total - each * BigInt(WALLETS);
  if (rest > 0n)
    await store.creditMarketPayouts({
      marketId,
      settlementId: '01JMEASURESETTLEMENT000000',
      currency: 'BRL',
      entries: [{ accountId: 'house:BRL', amountMinor: rest, code: TransferCode.BREAKAGE }],
    });
  const payMs = performance.now() - payStart;
  log(
    `CreditMarketPayouts: ${credited} payouts in ${Math.ceil(WALLETS / PAGE)} pages in ${Math.round(payMs)} ms`,
  );
  const [escrow] = await store.lookupAccounts([escrowId]);
  log(
    `escrow after: ${JSON.stringify(escrow!.balance, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
  );

  // Baseline: COPY of HOLDS rows of a bet's shape into a fresh table with a primary key.
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'h1-copy-'));
  const file = path.join(dir, 'rows.csv');
  const lines: string[] = [];
  for (let i = 0; i < HOLDS; i += 1)
    lines.push(
      `${String(i).padStart(26, '0')},${marketId},01JMEASURE${String(i % WALLETS).padStart(16, '0')},OUTCOME${i % 2},${1 + (i % 50)},bet:${String(i).padStart(26, '0')}:stake\n`,
    );
  await fs.promises.writeFile(file, lines.join(''));
  await sql.query(
    `CREATE TABLE copy_bets (bet_id TEXT PRIMARY KEY, market_id TEXT NOT NULL, user_id TEXT NOT NULL,
       outcome_id TEXT NOT NULL, stake_minor BIGINT NOT NULL, hold_transfer_id TEXT NOT NULL)`,
  );
  const copyStart = performance.now();
  await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy copy_bets FROM '${file}' CSV`]);
  const copyMs = performance.now() - copyStart;
  await fs.promises.rm(dir, { recursive: true, force: true });
  log(`COPY of ${HOLDS} rows: ${Math.round(copyMs)} ms`);
  const settleMs = resolveMs + payMs;
  log(
    `resolve + payouts: ${Math.round(settleMs)} ms; ratio COPY / (resolve + payouts) = ${(copyMs / settleMs).toFixed(2)}`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'ledger-market-resolution',
      results: [
        {
          name: `ResolveMarket ${HOLDS} holds / ${WALLETS} wallets + CreditMarketPayouts ${WALLETS} (ms; ratio = COPY / it)`,
          value: Math.round(settleMs),
          unit: 'ms',
          baseline: Math.round(copyMs),
          ratio: Number((copyMs / settleMs).toFixed(2)),
          target: '≥ 0.5×',
          met: copyMs / settleMs >= 0.5,
        },
        { name: 'ResolveMarket alone', value: Math.round(resolveMs), unit: 'ms' },
        { name: 'CreditMarketPayouts alone', value: Math.round(payMs), unit: 'ms' },
      ],
    })}\n`,
  );
} finally {
  await sql.close();
  if (process.env.MEASURE_KEEP === undefined)
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  else log(`kept database ${dbName}`);
  await admin.close();
}
