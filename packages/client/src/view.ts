/**
 * `@streambet/client/view`: the pure view helpers (formatting, merging live snapshots, market
 * phases, which balances to show, words for contract values). No DOM, no network.
 */
export * from './view-logic.js';
export * from './market-phase.js';
export * from './wallet.js';
export * from './chat-log.js';
export * from './stream-embed.js';
