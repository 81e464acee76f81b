/**
 * Group commit of verified webhook deliveries. Verification is CPU work done per request; what
 * costs is the transaction (claim, effect, log, outbox, commit), and on the embedded platform every
 * transaction of every service shares one PGlite connection. So deliveries verified while a
 * transaction runs (or while the next waits for the connection) wait, and the next transaction
 * applies all of them: their message-id claims in one multi-row insert, their effects one after
 * the other in arrival order (a stream.online then a stream.offline of one channel keep their
 * order), their log rows in one multi-row insert, one commit. Each HTTP request is answered only after the commit that holds its delivery.
 *
 * A failing delivery must not fail the others: when a batch's transaction throws, nothing of it
 * was committed and each of its deliveries is retried alone, in its own transaction, as before
 * group commit; only the one that fails alone gets the error. Verdicts, log rows and events are the
 * same as one transaction per delivery: a message id already claimed (by a committed transaction,
 * or earlier in the same batch) is `replayed` and changes nothing.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { WebhookProvider, WebhookVerdict } from '../domain/webhook.js';
import { claimKey, type IntegrationStore, type WebhookLogEntry } from '../store.js';

/** The accepted part of one verified delivery, applied in a batch's transaction. */
export interface VerifiedDelivery {
  readonly provider: WebhookProvider;
  readonly messageId: string;
  readonly messageType: string;
  readonly body: string;
  /** The verdict if the id is new and the effect finds its channel (else `ignored`). */
  readonly verdict: WebhookVerdict;
  /** The delivery's effect in the batch's transaction: its channel id ('' if none) and detail. */
  readonly effect: (tx: SqlExecutor) => Promise<{ channelId: string; detail: string }>;
}

interface Pending {
  readonly delivery: VerifiedDelivery;
  readonly resolve: (verdict: WebhookVerdict) => void;
  readonly reject: (error: unknown) => void;
}

/** Dependencies of {@link createGroupCommitter}. */
export interface GroupCommitterDeps {
  readonly store: IntegrationStore;
  /** Most deliveries in one transaction (bounds its lock time and statement size). */
  readonly maxBatch?: number;
}

/** Creates the committer; `apply` resolves with the delivery's verdict once committed. */
export function createGroupCommitter(deps: GroupCommitterDeps) {
  const { store } = deps;
  const maxBatch = deps.maxBatch ?? 200;
  const queue: Pending[] = [];
  let running = false;

  /** Applies `batch` in `tx`; the verdict of each delivery, in order. */
  async function applyAll(
    tx: SqlExecutor,
    batch: readonly VerifiedDelivery[],
  ): Promise<WebhookVerdict[]> {
    const claimed = await store.claimMessages(
      tx,
      batch.map((d) => ({ provider: d.provider, messageId: d.messageId })),
    );
    const verdicts: WebhookVerdict[] = [];
    const rows: WebhookLogEntry[] = [];
    for (const d of batch) {
      const entry = {
        provider: d.provider,
        messageId: d.messageId,
        messageType: d.messageType,
        body: d.body,
      };
      // The first delivery of a newly claimed id takes the claim; any other is a replay.
      if (!claimed.delete(claimKey(d.provider, d.messageId))) {
        rows.push({ ...entry, verdict: 'replayed', detail: '', channelId: '' });
        verdicts.push('replayed');
        continue;
      }
      const result = await d.effect(tx);
      const final: WebhookVerdict =
        result.channelId === '' && d.verdict === 'accepted' ? 'ignored' : d.verdict;
      rows.push({ ...entry, verdict: final, ...result });
      verdicts.push(final);
    }
    await store.logMany(tx, rows);
    return verdicts;
  }

  function settle(batch: readonly Pending[], verdicts: readonly WebhookVerdict[]): void {
    batch.forEach((p, i) => p.resolve(verdicts[i]!));
  }

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        // The batch is taken once the transaction has begun: deliveries verified while it
        // waited for the connection (the embedded platform's one PGlite) join it too.
        let batch: Pending[] = [];
        try {
          const verdicts = await store.transaction((tx) => {
            batch = queue.splice(0, maxBatch);
            return applyAll(
              tx,
              batch.map((p) => p.delivery),
            );
          });
          settle(batch, verdicts);
        } catch (error) {
          if (batch.length === 0) {
            // The transaction did not begin: those waiting get its error.
            for (const p of queue.splice(0, maxBatch)) p.reject(error);
            continue;
          }
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          // Nothing of the batch committed: each delivery again, alone.
          for (const p of batch) {
            try {
              settle([p], await store.transaction((tx) => applyAll(tx, [p.delivery])));
            } catch (alone) {
              p.reject(alone);
            }
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    /** Queues `delivery` for the next transaction; its verdict once that transaction commits. */
    apply(delivery: VerifiedDelivery): Promise<WebhookVerdict> {
      return new Promise<WebhookVerdict>((resolve, reject) => {
        queue.push({ delivery, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}
