/**
 * Assembles the EXCHANGE lane (store, ledger port, engine) for app.ts and testing.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@connectrpc/connect';
import type { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { eligibilityPort } from './eligibility.js';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import type { Logger } from '@streambet/platform/log/logger';
import type { Markets } from '../markets.js';
import type { Scheduler } from '../odds.js';
import type { MarketRecord } from '../store/index.js';
import { createExchangeEngine, type ExchangeEngine } from './engine.js';
import { createExchangeLedger, type ExchangeLedger } from './ledger.js';
import type { ExchangeRoutesDeps } from './routes.js';
import { createExchangeStore, type ExchangeStore } from './store.js';

/** How long a replica keeps a market's writer lease after its last batch. */
export const DEFAULT_EXCHANGE_LEASE_MS = 10_000;

/** Inputs of {@link createExchange}. */
export interface ExchangeOptions {
  readonly sql: Sql;
  readonly ledger: Client<typeof LedgerInternalService>;
  /** The user service's CheckEligibility for orders; none: orders are not checked (tests only). */
  readonly users?: Client<typeof UserInternalService>;
  readonly markets: Markets;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly holdTimeoutSeconds: number;
  readonly maxBatchSize: number;
  readonly leaseMs?: number;
  /** This replica's writer id; random by default (a restart is a new writer). */
  readonly writerId?: string;
  readonly newOrderId?: (nowMs: number) => string;
  readonly onBookChanged?: (marketId: string) => void;
  /** Arms the trailing book publication; default real (unref'd) timers. */
  readonly scheduler?: Scheduler;
}

/** The lane and what the routes need. */
export interface Exchange extends ExchangeRoutesDeps {
  readonly exchange: ExchangeEngine;
  readonly exchangeStore: ExchangeStore;
  readonly exchangeLedger: ExchangeLedger;
}

/** Builds the EXCHANGE lane. */
export function createExchange(options: ExchangeOptions): Exchange {
  const exchangeStore = createExchangeStore(options.sql);
  const exchangeLedger = createExchangeLedger(options.ledger);
  const exchange = createExchangeEngine({
    store: exchangeStore,
    ledger: exchangeLedger,
    clock: options.clock,
    logger: options.logger,
    writerId: options.writerId ?? randomBytes(8).toString('hex'),
    leaseMs: options.leaseMs ?? DEFAULT_EXCHANGE_LEASE_MS,
    holdTimeoutSeconds: options.holdTimeoutSeconds,
    maxBatchSize: options.maxBatchSize,
    newOrderId:
      options.newOrderId ?? ((nowMs) => encodeUlid(nowMs, new Uint8Array(randomBytes(10)))),
    readMarket: (marketId) => options.markets.get(marketId),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.users === undefined ? {} : { eligibility: eligibilityPort(options.users) }),
    ...(options.onBookChanged === undefined ? {} : { onBookChanged: options.onBookChanged }),
  });
  const escrows = new Map<string, Promise<void>>();
  const ensureEscrow = (market: MarketRecord): Promise<void> => {
    if (market.escrowCreated) return Promise.resolve();
    let pending = escrows.get(market.marketId);
    if (pending === undefined) {
      pending = options.markets.ensureEscrows([market]);
      escrows.set(market.marketId, pending);
      // A failure is retried by the next order; a success stays remembered.
      pending.catch(() => escrows.delete(market.marketId));
    }
    return pending;
  };
  return {
    ensureEscrow,
    exchange,
    exchangeStore,
    exchangeLedger,
    markets: options.markets,
    clock: options.clock,
  };
}
