/**
 * Ledger throughput on real PostgreSQL, next to pgbench measured in the same run on the same
 * server (issues 3 and 12, "Must show"). Unless a row says otherwise, BENCH_CLIENTS (default 10)
 * clients each call the ledger store's submitTransfers in a loop, as the bet engine's batches
 * would, every client between wallets of its own, and the baseline is pgbench running a
 * single-row INSERT with the same number of clients (bench/lib/postgres.ts):
 *   (a) one transfer per call (one autocommit statement each)     target ≥ 0.9× (a''), issue 12
 *   (a') as (a), but through withGroupCommit (concurrent calls share a commit; BENCH_GROUP_IN_FLIGHT
 *       shared transactions at once, default 2), for reference
 *   (a'') pgbench itself sending (a)'s one statement per transfer: PostgreSQL's own ceiling for
 *       (a) with this schema (two balance rows updated and one transfer row inserted per
 *       transfer, against the baseline's one row); measured right after (a), against the same
 *       baseline, and reported against it
 *   (b) batches of 1000 (BENCH_BATCH) transfers per call (one transaction)   target ≥ 5× pgbench
 *   (c) the same batches, every transfer crediting one market escrow  target ≥ 0.8× (b)
 *   (d) bulk settlement: BENCH_HOLDS (default 50,000) open holds of one market posted in full by
 *       resolveMarketHolds, BENCH_HOLD_PAGE (default 5000) per page, one caller   target ≥ 5× pgbench
 *   (e) BENCH_CALLERS (default 200) concurrent callers, each call one transfer between wallets
 *       of its own, to the user service's ledger store as the service wires it (createUserTestService:
 *       withGroupCommit with its defaults, wallet.* events appended to the outbox in the committing
 *       transaction; no relay publishing them), so concurrent calls share one SQL commit
 *                                                                  target ≥ 2× pgbench, 10 clients
 *   (e') as (e), but each call a SubmitTransfers RPC through the service's real handler and server
 *       interceptors (a bet-engine service token, the access policy, validation, proto
 *       translation) on an in-memory Connect transport: what the RPC layer costs per call, for
 *       reference                                                    reported against pgbench, 10 clients
 * Measured in BENCH_ROUNDS (default 3) rounds of BENCH_SECONDS (default 3) per figure: in each round
 * every row right after a pgbench baseline of its own ((a'') right after (a) on (a)'s baseline,
 * (c) right after (b), (e') right after (e) on (e)'s baseline, (d) once, after its own baseline),
 * and a ratio is the row's mean over its baselines' mean, so a machine whose speed drifts during the
 * run moves both sides of a ratio together; stderr shows every round with the machine's load
 * average (the machine may be shared: read the figures with it). Bounded: about two and a half
 * minutes in all.
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres): server to use; the
 * bench creates and drops its own database.
 */
import os from 'node:os';
import { TransferResultCode as ProtoTransferResultCode } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import { asService } from '@streambet/testkit/rpc';
import { createTestTokens } from '@streambet/testkit/tokens';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  TransferResultCode,
  createLedgerStore,
  createUserTestService,
  migrateLedger,
  withGroupCommit,
  type LedgerStore,
  type NewAccount,
  type TransferCommand,
} from '@streambet/user/testing';
import { compare, printResults } from './lib/report.js';
import { createBenchDatabase, pgbenchInsertTps, pgbenchScriptTps } from './lib/postgres.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WALLETS_PER_CLIENT = 200;
/** Wallets of each (e) caller, its own: a call moves 1 minor unit from one to the next. */
const CALLER_WALLETS = 10;
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const HOLDS = Number(process.env.BENCH_HOLDS ?? 50_000);
const HOLD_PAGE = Number(process.env.BENCH_HOLD_PAGE ?? 5000);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 200);
/** Baseline clients of (e): fixed by issue 12, whatever BENCH_CLIENTS says. */
const GROUP_BASELINE_CLIENTS = 10;
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
    await migrateLedger(sql);
    const store = createLedgerStore(sql, {
      clock: { now: () => Date.now() },
      currencies: { real: CURRENCY },
    });
    const wallets = Array.from(
      { length: Math.max(CLIENTS * WALLETS_PER_CLIENT, CALLERS * CALLER_WALLETS) },
      (_, n) => walletOf(n),
    );
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

    // Wallets of the (a'') reference script with ids pgbench can spell from a number (written
    // directly, as the reference bypasses the service anyway), funded like the others.
    const referenceWallets = CLIENTS * WALLETS_PER_CLIENT;
    await sql.query(
      `INSERT INTO ledger_accounts (id, kind, currency, owner_id, constrained, created_at_ms, credits_posted)
       SELECT 'wallet:REF' || lpad(n::text, 6, '0') || ':${CURRENCY}', ${AccountKind.USER_WALLET}, '${CURRENCY}', '', true, 0, 1000000000
       FROM generate_series(0, ${referenceWallets - 1}) n`,
    );
    await sql.query(
      `UPDATE ledger_accounts SET debits_posted = debits_posted + ${referenceWallets * 1_000_000_000}
       WHERE id = '${houseAccount.accountId}'`,
    );
    await sql.query('CREATE SEQUENCE bench_reference_ids');
    const walletAt = (index: string): string =>
      `'wallet:REF' || lpad((:client_id * ${WALLETS_PER_CLIENT} + ${index})::text, 6, '0') || ':${CURRENCY}'`;
    const grouped = withGroupCommit(store, {
      maxInFlight: Number(process.env.BENCH_GROUP_IN_FLIGHT ?? 2),
    });
    // (e): the user service's ledger as the service wires it, on the same database (its other
    // migrations added), and its internal RPC handlers behind the production interceptors.
    const tokens = await createTestTokens();
    const service = await createUserTestService({
      sql,
      clock: { now: () => Date.now() },
      tokens,
      realCurrency: CURRENCY,
    });
    const asBetEngine = await asService(tokens, 'bet-engine');
    const callerMove = (prefix: string, caller: number, i: number): TransferCommand => ({
      ...base(`${prefix}:${caller}:${i}`),
      debitAccountId: wallets[caller * CALLER_WALLETS + (i % CALLER_WALLETS)]!.accountId,
      creditAccountId: wallets[caller * CALLER_WALLETS + ((i + 1) % CALLER_WALLETS)]!.accountId,
    });

    const baselineTps = (clients = CLIENTS): Promise<number> =>
      pgbenchInsertTps(database.url, clients, SECONDS);
    /** The measured rows; each figure is a rate over SECONDS, its id prefix unique per round. */
    const rows = {
      single: (round: number) =>
        measure(CLIENTS, SECONDS, (client, i) =>
          submitCounting(store, [
            {
              ...base(`a:${round}:${client}:${i}`),
              debitAccountId: walletFor(client, i),
              creditAccountId: walletFor(client, i + 1),
            },
          ]),
        ),
      grouped: (round: number) =>
        measure(CLIENTS, SECONDS, (client, i) =>
          submitCounting(grouped, [
            {
              ...base(`g:${round}:${client}:${i}`),
              debitAccountId: walletFor(client, i),
              creditAccountId: walletFor(client, i + 1),
            },
          ]),
        ),
      // (a'') PostgreSQL's own ceiling for (a): pgbench (C and libpq, no Node.js, no pool) sends
      // the very statement (a) sends per transfer — ledger_transfer_one, between each client's own
      // wallets, autocommit — so the ratio of (a) to it is what the Node.js side costs, and its own
      // ratio to the INSERT baseline is about the most (a) could reach with this schema.
      sqlCeiling: () =>
        pgbenchScriptTps(
          database.url,
          CLIENTS,
          SECONDS,
          `\\set i random(0, ${WALLETS_PER_CLIENT - 1})
SELECT * FROM ledger_transfer_one('reference:' || nextval('bench_reference_ids'), ${TransferKind.SINGLE_PHASE}::smallint, ${walletAt(':i')}, ${walletAt(`(:i + 1) % ${WALLETS_PER_CLIENT}`)}, 1::bigint, '${CURRENCY}', 0::bigint, 0::bigint, ${TransferCode.ADJUSTMENT}::smallint, '', '', '', '', 'bench', ${Date.now()}::bigint, '${'f'.repeat(43)}', NULL::smallint);
`,
        ),
      serviceGrouped: (round: number) =>
        measure(CALLERS, SECONDS, (caller, i) =>
          submitCounting(service.ledgerStore, [callerMove(`e:${round}`, caller, i)]),
        ),
      serviceRpc: (round: number) =>
        measure(CALLERS, SECONDS, async (caller, i) => {
          const move = callerMove(`rpc:${round}`, caller, i);
          const { results } = await service.ledger.submitTransfers(
            { commands: [{ ...move, pendingId: undefined, timeoutSeconds: undefined }] },
            asBetEngine,
          );
          if (results.length !== 1 || results[0]!.code !== ProtoTransferResultCode.OK)
            throw new Error(
              `bench transfer ${move.transferId} failed: ${results[0]?.code} ${results[0]?.detail}`,
            );
          return 1;
        }),
      batched: (round: number) =>
        measure(CLIENTS, SECONDS, (client, i) =>
          submitCounting(
            store,
            Array.from({ length: BATCH }, (_, k) => ({
              ...base(`b:${round}:${client}:${i}:${k}`),
              debitAccountId: walletFor(client, i * 7 + k),
              creditAccountId: walletFor(client, i * 7 + k + 101),
            })),
          ),
        ),
      hot: (round: number) =>
        measure(CLIENTS, SECONDS, (client, i) =>
          submitCounting(
            store,
            Array.from({ length: BATCH }, (_, k) => {
              const betId = ulid(((round * 100 + client) * 1_000_000 + i) * BATCH + k + 1);
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
        ),
    };

    // ROUNDS rounds; in each, every row is measured right after a baseline of its own (and (c)
    // right after (b)), so a machine whose speed drifts during the run (seen here: ±30% within
    // minutes) shifts a figure and its baseline together. A ratio is the sum of the row's figures
    // over the sum of its baselines (equal durations: the ratio of the mean rates).
    const sums = {
      single: [0, 0],
      grouped: [0, 0],
      sqlCeiling: [0, 0],
      batched: [0, 0],
      hot: [0, 0],
      serviceGrouped: [0, 0],
      serviceRpc: [0, 0],
    } satisfies Record<keyof typeof rows, [number, number]>;
    /** Measures `key` and adds it to its sums against `baseline`; returns its stderr entry. */
    const record = async (
      key: keyof typeof rows,
      label: string,
      round: number,
      baseline: number,
    ): Promise<string> => {
      const value = await rows[key](round);
      sums[key][0] += value;
      sums[key][1] += baseline;
      return baseline > 0
        ? `${label} ${Math.round(value)} vs ${Math.round(baseline)}`
        : `${label} ${Math.round(value)}`;
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      const line: string[] = [];
      const singleBaseline = await baselineTps();
      line.push(await record('single', '(a)', round, singleBaseline));
      line.push(await record('sqlCeiling', "(a'')", round, singleBaseline));
      line.push(await record('grouped', "(a')", round, await baselineTps()));
      line.push(await record('batched', '(b)', round, await baselineTps()));
      line.push(await record('hot', '(c)', round, 0)); // judged against (b), not a baseline
      const serviceBaseline = await baselineTps(GROUP_BASELINE_CLIENTS);
      line.push(await record('serviceGrouped', '(e)', round, serviceBaseline));
      line.push(await record('serviceRpc', "(e')", round, serviceBaseline));
      const load = os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ');
      console.error(
        `round ${round + 1}/${ROUNDS}: ${line.join(', ')} (load average ${load}, ${os.availableParallelism()} cores)`,
      );
    }
    const mean = (key: keyof typeof sums, which: 0 | 1): number => sums[key][which] / ROUNDS;

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
    const settleBaseline = await baselineTps();
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
        `(a) 1 transfer/transaction, ${CLIENTS} clients vs (a''), pgbench itself sending (a)'s statement right after it`,
        mean('single', 0),
        'transfers/s',
        mean('sqlCeiling', 0),
        0.9,
      ),
      compare(
        `(a') 1 transfer per call with group commit (withGroupCommit), ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        mean('grouped', 0),
        'transfers/s',
        mean('grouped', 1),
        0.5,
      ),
      compare(
        `(a'') reference, not a target: pgbench itself sending (a)'s statement (ledger_transfer_one), ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        mean('sqlCeiling', 0),
        'transfers/s',
        mean('sqlCeiling', 1),
        0,
        'reported',
      ),
      compare(
        `(b) batches of ${BATCH}, ${CLIENTS} clients vs pgbench single-row INSERT TPS`,
        mean('batched', 0),
        'transfers/s',
        mean('batched', 1),
        5,
      ),
      compare(
        `(c) batches of ${BATCH} transfers all crediting one market escrow, ${CLIENTS} clients vs (b)`,
        mean('hot', 0),
        'transfers/s',
        mean('batched', 0),
        0.8,
      ),
      compare(
        `(d) bulk settlement: ${HOLDS} holds of one market posted by resolveMarketHolds (pages of ${HOLD_PAGE}, one caller) vs pgbench single-row INSERT TPS`,
        bulkResolved,
        'holds/s',
        settleBaseline,
        5,
      ),
      compare(
        `(e) ${CALLERS} concurrent callers, 1 transfer per call, through the user service's group commit (as the service wires it) vs pgbench single-row INSERT TPS, ${GROUP_BASELINE_CLIENTS} clients`,
        mean('serviceGrouped', 0),
        'transfers/s',
        mean('serviceGrouped', 1),
        2,
      ),
      compare(
        `(e') reference, not a target: as (e), each call a SubmitTransfers RPC through the service's handler and interceptors (in-memory transport) vs pgbench single-row INSERT TPS, ${GROUP_BASELINE_CLIENTS} clients`,
        mean('serviceRpc', 0),
        'transfers/s',
        mean('serviceRpc', 1),
        0,
        'reported',
      ),
    ]);
  } finally {
    await sql.close();
    await database.drop();
  }
}

await main();
