/**
 * Deposit credits in batches (group commit). Each credit costs two durable commits in two
 * services — the ledger's transfer and the payment's status change with its outbox row and the
 * webhook's event id — so crediting one webhook at a time caps deposits at the commit rate.
 * Credits that arrive while a batch is in flight wait for the next one, and a batch makes ONE
 * SubmitTransfers call (ids `payment:<id>:credit`, so each credit stays idempotent) and ONE payment
 * transaction (every status change, webhook row and outbox row of the batch). Each caller is
 * answered after the commit that applied its credit.
 *
 * A credit the ledger refuses, or a status change that fails, fails alone (the ledger answers per
 * command; each status change runs under its own savepoint). Crash-safety is the single path's:
 * the ledger commits first, the status second; a crash between the two leaves the payment in its
 * old state and the redelivered webhook (or reconciliation) credits again, which the ledger answers
 * ALREADY_EXISTS_SAME.
 */
import type { DepositCredit, PaymentLedger } from './downstreams.js';
import type { AdvanceCommand, PaymentRow, PaymentStore } from './store.js';

/** One deposit to credit and the status change that records it. */
export interface CreditJob {
  readonly credit: DepositCredit;
  /** The compare-and-set move, without `ledgerTransferId` (filled in once credited). */
  readonly move: AdvanceCommand;
}

/** How a credit job ended: the new row, or undefined when the move no longer applied. */
export type CreditJobResult = PaymentRow | undefined;

/** Dependencies of {@link createCreditBatcher}. */
export interface CreditBatcherDeps {
  readonly ledger: PaymentLedger;
  readonly store: PaymentStore;
  /** Most credits in one batch (the ledger takes at most 1000 commands). */
  readonly maxBatch: number;
  /** Test hook: the crash tests' named steps, per payment. */
  readonly step: (name: string, paymentId: string) => Promise<void>;
}

interface Waiting {
  readonly job: CreditJob;
  readonly resolve: (result: CreditJobResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The batcher (see the file comment). */
export type CreditBatcher = ReturnType<typeof createCreditBatcher>;

/** Builds a credit batcher: one batch in flight at a time, the next one gathering meanwhile. */
export function createCreditBatcher(deps: CreditBatcherDeps) {
  const { ledger, store, step } = deps;
  const maxBatch = Math.max(1, Math.min(1000, deps.maxBatch));
  const queue: Waiting[] = [];
  let inFlight = 0;
  let running = false;

  /** Credits the batch in the ledger; answers the jobs it committed (the others are rejected). */
  async function credit(
    batch: readonly Waiting[],
  ): Promise<{ readonly w: Waiting; readonly transferId: string }[]> {
    for (const w of batch) await step('credit:before-ledger', w.job.credit.paymentId);
    let outcomes = await ledger.creditMany(batch.map((w) => w.job.credit));
    const missing = batch.filter(
      (_, i) => outcomes[i]?.committed === false && outcomes[i].code === 'ACCOUNT_NOT_FOUND',
    );
    if (missing.length > 0) {
      // Wallets open at registration, psp_clearing with the first payment: rarely needed.
      const opened = new Set<string>();
      for (const w of missing) {
        const key = `${w.job.credit.userId}/${w.job.credit.currency}`;
        if (opened.has(key)) continue;
        opened.add(key);
        await ledger.ensureAccounts(w.job.credit.userId, w.job.credit.currency);
      }
      const retried = await ledger.creditMany(missing.map((w) => w.job.credit));
      outcomes = outcomes.map((outcome, i) => {
        const at = missing.indexOf(batch[i]!);
        return at < 0 ? outcome : retried[at]!;
      });
    }
    const committed: { readonly w: Waiting; readonly transferId: string }[] = [];
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome?.committed === true) {
        committed.push({ w, transferId: outcome.transferId });
        return;
      }
      w.reject(
        new Error(
          `ledger refused the credit of deposit ${w.job.credit.paymentId}: ${outcome?.code ?? 'NO_RESULT'} ${outcome?.committed === false ? outcome.detail : ''}`,
        ),
      );
    });
    for (const { w } of committed) await step('credit:after-ledger', w.job.credit.paymentId);
    return committed;
  }

  async function runBatch(batch: readonly Waiting[]): Promise<void> {
    let committed: { readonly w: Waiting; readonly transferId: string }[];
    try {
      committed = await credit(batch);
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    let results: (PaymentRow | undefined | Error)[];
    try {
      results = await store.advanceMany(
        committed.map(({ w, transferId }) => ({
          ...w.job.move,
          patch: { ...w.job.move.patch, ledgerTransferId: transferId },
        })),
      );
    } catch (error) {
      for (const { w } of committed) w.reject(error);
      return;
    }
    for (const [i, { w }] of committed.entries()) {
      const result = results[i];
      if (result instanceof Error) {
        w.reject(result);
        continue;
      }
      try {
        if (result !== undefined) await step('credit:after-commit', w.job.credit.paymentId);
        w.resolve(result);
      } catch (error) {
        w.reject(error);
      }
    }
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        inFlight = batch.length;
        await runBatch(batch);
        inFlight = 0;
      }
    } finally {
      inFlight = 0;
      running = false;
    }
  }

  return {
    /** Credits `job` in the next batch; resolves after the commit that recorded it. */
    submit(job: CreditJob): Promise<CreditJobResult> {
      return new Promise<CreditJobResult>((resolve, reject) => {
        queue.push({ job, resolve, reject });
        void drain();
      });
    },
    /** Credits waiting or in flight (the webhooks' back-pressure bound reads it). */
    depth(): number {
      return queue.length + inFlight;
    },
  };
}
