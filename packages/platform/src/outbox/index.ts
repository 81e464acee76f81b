/**
 * The transactional outbox and inbox (architecture.md: events leave through an outbox written in
 * the same SQL transaction as the state change; consumers record what they processed).
 */
export { platformMigrations } from './migrations.js';
export { appendToOutbox, type AppendToOutboxOptions, type OutboxEvent } from './outbox.js';
export {
  createOutboxRelay,
  deletePublishedOutboxRows,
  type OutboxRelay,
  type OutboxRelayOptions,
  type RelayLogger,
} from './relay.js';
export {
  createInboxBatcher,
  deleteProcessedInboxRows,
  handleBatchOnce,
  handleOnce,
  type InboxBatcherOptions,
} from './inbox.js';
export { createEventIdGenerator, newEventId } from './event-id.js';
