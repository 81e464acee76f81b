/**
 * Ledger throughput on real PostgreSQL, next to pgbench measured in the same run on the same
 * server with the same client count (issue 3, "Must show"):
 *   (a) one transfer per SubmitTransfers (one transaction each)   target ≥ 0.5× pgbench TPS
 *   (b) batches of 1000 (BENCH_BATCH) transfers per transaction    target ≥ 5× pgbench TPS
 *   (c) the same batches, every transfer crediting one market escrow  target ≥ 0.8× (b)
 *   (a') as (a), but through withGroupCommit (concurrent calls share a commit), for reference
 *   (a'') pgbench itself sending (a)'s one statement per transfer: PostgreSQL's own ceiling for
 *       (a) with this schema (two balance rows updated and one transfer row inserted per
 *       transfer, against the baseline's one row), for reference
 *   (d) bulk settlement: BENCH_HOLDS (default 50,000) open holds of one market posted in full by
 *       resolveMarketHolds, BENCH_HOLD_PAGE (default 5000) per page, one caller   target ≥ 5× pgbench
 * Each client owns its own wallets (as the bet engine's batches would), so (a)/(b) measure the
 * ledger and (c) isolates the hot account. Bounded: about a minute in all.
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres): server to use; the
 * bench creates and drops its own database. BENCH_CLIENTS (default 10), BENCH_SECONDS (default 8).
 */
import { migrate } from '@streambet/platform/sql/migrate';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  TransferResultCode,
  type NewAccount,
  type TransferCommand,
} from '@streambet/user/domain/ledger/index';
import { createLedgerStore, withGroupCommit, type LedgerStore } from '@streambet/user/ledger-store';
import { ledgerMigrations } from '@streambet/user/migrations/ledger';
import { compare, printResults } from './lib/report.js';
import { createBenchDatabase, pgbenchInsertTps, pgbenchScriptTps } from './lib/postgres.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WALLETS_PER_CLIENT = 200;
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const HOLDS = Number(process.env.BENCH_HOLDS ?? 50_000);
const HOLD_PAGE = Number(process.env.BENCH_HOLD_PAGE ?? 5000);
const CURRENCY = 'BRL';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function ulid(n: number): string {
  let out = '';
  let value = n;
  for (let i = 0; i < 26; i += 1) {
    out = CROCKFORD[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

const walletOf = (n: number): NewAccount => {
  const ownerId = ulid(n + 1);
  return {
    accountId: `wallet:${ownerId}:${CURRENCY}`,
    kind: AccountKind.USER_WALLET,
    currency: CURRENCY,
    ownerId,
  };
};
const marketId = ulid(999_999_999);
const escrowAccount: NewAccount = {
  accountId: `market:${marketId}:escrow`,
  kind: AccountKind.MARKET_ESCROW,
  currency: CURRENCY,
  ownerId: marketId,
};
const houseAccount: NewAccount = {
  accountId: `house:${CURRENCY}`,
  kind: AccountKind.HOUSE,
  currency: CURRENCY,
  ownerId: '',
};

function base(transferId: string): TransferCommand {
  return {
    transferId,
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: '',
    creditAccountId: '',
    amountMinor: 1n,
    currency: CURRENCY,
    pendingId: '',
    timeoutSeconds: 0n,
    linked: false,
    code: TransferCode.ADJUSTMENT,
    marketId: '',
    betId: '',
    paymentId: '',
    settlementId: '',
    memo: 'bench',
  };
}

/** Runs `clients` loops until the deadline; each call returns how many transfers it committed. */
async function measure(
  clients: number,
  seconds: number,
  step: (client: number, iteration: number) => Promise<number>,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const startedAt = performance.now();
  const counts = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      let committed = 0;
      for (let iteration = 0; performance.now() < deadline; iteration += 1) {
        committed += await step(client, iteration);
      }
      return committed;
    }),
  );
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  return counts.reduce((a, b) => a + b, 0) / elapsedSeconds;
}

async function submitCounting(store: LedgerStore, commands: TransferCommand[]): Promise<number> {
  const results = await store.submitTransfers(commands);
  let ok = 0;
  for (const result of results) {
    if (result.code === TransferResultCode.OK) ok += 1;
    else
      throw new Error(
        `bench transfer ${result.transferId} failed: ${result.code} ${result.detail}`,
      );
  }
  return ok;
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('ledger');
  const sql = createPostgresSql({
    connectionString: database.url,
    maxConnections: CLIENTS,
    applicationName: 'bench-ledger',
  });
  try {
    await migrate(sql, 'user', ledgerMigrations);
    const store = createLedgerStore(sql, {
      clock: { now: () => Date.now() },
      currencies: { real: CURRENCY },
    });
    const wallets = Array.from({ length: CLIENTS * WALLETS_PER_CLIENT }, (_, n) => walletOf(n));
    for (let start = 0; start < wallets.length; start += 1000) {
      await store.createAccounts(wallets.slice(start, start + 1000));
    }
    await store.createAccounts([houseAccount, escrowAccount]);
    for (let start = 0; start < wallets.length; start += 1000) {
      await submitCounting(
        store,
        wallets.slice(start, start + 1000).map((w) => ({
          ...base(`fund:${w.accountId}`),
          debitAccountId: houseAccount.accountId,
          creditAccountId: w.accountId,
          amountMinor: 1_000_000_000n,
        })),
      );
    }
    const walletFor = (client: number, index: number): string =>
      wallets[client * WALLETS_PER_CLIENT + (index % WALLETS_PER_CLIENT)]!.accountId;

    const baseline = await pgbenchInsertTps(database.url, CLIENTS, SECONDS);

    const single = await measure(CLIENTS, SECONDS, (client, i) =>
      submitCounting(store, [
        {
          ...base(`a:${client}:${i}`),
          debitAccountId: walletFor(client, i),
          creditAccountId: walletFor(client, i + 1),
        },
      ]),
    );

    const grouped = withGroupCommit(store, {
      maxInFlight: Number(process.env.BENCH_GROUP_IN_FLIGHT ?? 2),
    });
    const groupCommitted = await measure(CLIENTS, SECONDS, (client, i) =>
      submitCounting(grouped, [
        {
          ...base(`g:${client}:${i}`),
          debitAccountId: walletFor(client, i),
          creditAccountId: walletFor(client, i + 1),
        },
      ]),
    );

    // (a'') PostgreSQL's own ceiling for (a): pgbench (C and libpq, no Node.js, no pool) sends the
    // very statement (a) sends per transfer — ledger_transfer_one, between each client's own
    // wallets, autocommit — so the ratio of (a) to it is what the Node.js side costs, and its own
    // ratio to the INSERT baseline is the most (a) could reach with this schema.
    await sql.query('CREATE TABLE bench_wallets (n integer PRIMARY KEY, id text NOT NULL)');
    await sql.query('INSERT INTO bench_wallets SELECT * FROM unnest($1::integer[], $2::text[])', [
      wallets.map((_, n) => n),
      wallets.map((w) => w.accountId),
    ]);
    await sql.query('CREATE SEQUENCE bench_reference_ids');
    const walletAt = (index: string): string =>
      `(SELECT id FROM bench_wallets WHERE n = :client_id * ${WALLETS_PER_CLIENT} + ${index})`;
    const sqlCeiling = await pgbenchScriptTps(
      database.url,
      CLIENTS,
      SECONDS,
      `\\set i random(0, ${WALLETS_PER_CLIENT - 1})
SELECT * FROM ledger_transfer_one('reference:' || nextval('bench_reference_ids'), ${TransferKind.SINGLE_PHASE}::smallint, ${walletAt(':i')}, ${walletAt(`(:i + 1) % ${WALLETS_PER_CLIENT}`)}, 1::bigint, '${CURRENCY}', 0::bigint, 0::bigint, ${TransferCode.ADJUSTMENT}::smallint, '', '', '', '', 'bench', ${Date.now()}::bigint, '${'f'.repeat(43)}', NULL::smallint);
`,
    );

    const batched = await measure(CLIENTS, SECONDS, (client, i) =>
      submitCounting(
        store,
        Array.from({ length: BATCH }, (_, k) => ({
          ...base(`b:${client}:${i}:${k}`),
          debitAccountId: walletFor(client, i * 7 + k),
          creditAccountId: walletFor(client, i * 7 + k + 101),
        })),
      ),
    );

    const hot = await measure(CLIENTS, SECONDS, (client, i) =>
      submitCounting(
        store,
        Array.from({ length: BATCH }, (_, k) => {
          const betId = ulid((client * 1_000_000 + i) * BATCH + k + 1);
          return {
            ...base(`bet:${betId}:stake`),
            debitAccountId: walletFor(client, i * BATCH + k),
            creditAccountId: escrowAccount.accountId,
            code: TransferCode.BET_STAKE,
            marketId,
            betId,
            memo: '',
          };
        }),
      ),
    );

    // (d) bulk settlement: HOLDS open holds of one market (one per bet, spread over all wallets,
    // placed untimed), then resolved with resolveMarketHolds pages (POST_IN_FULL).
    const settleMarketId = ulid(999_999_998);
    const settleEscrow: NewAccount = {
      ...escrowAccount,
      accountId: `market:${settleMarketId}:escrow`,
      ownerId: settleMarketId,
    };
    await store.createAccounts([settleEscrow]);
    for (let start = 0; start < HOLDS; start += BATCH) {
      await submitCounting(
        store,
        Array.from({ length: Math.min(BATCH, HOLDS - start) }, (_, k) => {
          const betId = ulid(2_000_000_000 + start + k);
          return {
            ...base(`settle:${betId}:stake`),
            kind: TransferKind.PENDING,
            debitAccountId: wallets[(start + k) % wallets.length]!.accountId,
            creditAccountId: settleEscrow.accountId,
            code: TransferCode.BET_STAKE,
            marketId: settleMarketId,
            betId,
            memo: '',
          };
        }),
      );
    }
    const settleStartedAt = performance.now();
    let resolved = 0;
    let after = '';
    do {
      const page = await store.resolveMarketHolds({
        marketId: settleMarketId,
        action: 'post-in-full',
        settlementId: '',
        code: TransferCode.BET_STAKE,
        afterHoldId: after,
        limit: HOLD_PAGE,
      });
      if (page.failures.length > 0)
        throw new Error(`bulk resolution refused ${page.failures.length} holds`);
      resolved += page.resolvedCount;
      after = page.nextAfterHoldId;
    } while (after !== '');
    const bulkResolved = resolved / ((performance.now() - settleStartedAt) / 1000);
    if (resolved !== HOLDS)
      throw new Error(`bulk resolution resolved ${resolved} of ${HOLDS} holds`);

    const totals = await store.getLedgerTotals(CURRENCY);
    const balanced = totals.every(
      (t) =>
        t.totals.debitsPosted === t.totals.creditsPosted &&
        t.totals.debitsPending === t.totals.creditsPending,
    );
    if (!balanced) throw new Error('ledger totals do not balance after the bench');

    printResults('ledger', [
      compare(
        `(a) 1 transfer/transaction, ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        single,
        'transfers/s',
        baseline,
        0.5,
      ),
      compare(
        `(a') 1 transfer per call with group commit (withGroupCommit), ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        groupCommitted,
        'transfers/s',
        baseline,
        0.5,
      ),
      compare(
        `(a'') reference, not a target: pgbench itself sending (a)'s statement (ledger_transfer_one), ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        sqlCeiling,
        'transfers/s',
        baseline,
        0,
        'reported',
      ),
      compare(
        `(b) batches of ${BATCH}, ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        batched,
        'transfers/s',
        baseline,
        5,
      ),
      compare(
        `(c) batches of ${BATCH} transfers all crediting one market escrow, ${CLIENTS} clients vs (b)`,
        hot,
        'transfers/s',
        batched,
        0.8,
      ),
      compare(
        `(d) bulk settlement: ${HOLDS} holds of one market posted by resolveMarketHolds (pages of ${HOLD_PAGE}, one caller) vs pgbench single-row INSERT TPS`,
        bulkResolved,
        'holds/s',
        baseline,
        5,
      ),
    ]);
  } finally {
    await sql.close();
    await database.drop();
  }
}

await main();
