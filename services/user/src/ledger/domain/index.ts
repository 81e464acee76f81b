/** The ledger's pure rules: types, account and transfer validation, balance math, batch planning. */
export * from './types.js';
export * from './balance.js';
export * from './account-rules.js';
export * from './transfer-rules.js';
export * from './batch.js';
export * from './market-holds.js';
export * from './history.js';
