/**
 * The one way a service handles a command against its own state: load (and lock) the state,
 * let the pure domain decide the events, evolve the state by them, save the new state and append
 * the events to the outbox — all in one transaction. An event exists if and only if its change
 * committed; a decision that throws (a `DomainError`) rolls everything back, so a rejected
 * command writes nothing.
 *
 * The domain half (`decide`, `evolve`) is pure and lives in the service's `domain/`; the storage
 * half (`load`, `save`) is the service's store. Concurrency comes from `load`: it reads with
 * `FOR UPDATE` (or an equivalent lock) so concurrent commands on the same state run one after the
 * other, each deciding on the state the previous one committed.
 */
import type { Sql, SqlExecutor, TransactionOptions } from '../sql/types.js';

/** One event and the state right after it (what an event encoder usually needs). */
export interface AppliedEvent<State, Event> {
  readonly event: Event;
  readonly after: State;
}

/** What a command changed: the state before and after, and each event with the state it led to. */
export interface CommandResult<State, Event> {
  readonly before: State;
  /** Equal to `before` (the same object) when the decision produced no events. */
  readonly after: State;
  /** In decision order; empty when the command changed nothing (nothing was saved). */
  readonly applied: readonly AppliedEvent<State, Event>[];
}

/** How one command is loaded, decided, evolved and saved (see the module comment). */
export interface CommandHandler<State, Event> {
  /** Reads the state the decision needs inside `tx`, locking the rows the command may change. */
  load(tx: SqlExecutor): Promise<State>;
  /**
   * The pure decision: the events the command produces from `state` (none: nothing changes), or a
   * thrown `DomainError` when the command is refused.
   */
  decide(state: State): readonly Event[];
  /** The pure state transition of one event. */
  evolve(state: State, event: Event): State;
  /**
   * Writes the new state and appends the events to the outbox inside `tx`. Called only when the
   * decision produced at least one event.
   */
  save(tx: SqlExecutor, change: CommandResult<State, Event>): Promise<void>;
}

/**
 * Runs `handler` in a transaction of its own (committed when it returns, rolled back when any
 * step throws; the error is rethrown unchanged).
 */
export function handleCommand<State, Event>(
  sql: Sql,
  handler: CommandHandler<State, Event>,
  options?: TransactionOptions,
): Promise<CommandResult<State, Event>> {
  return sql.transaction((tx) => handleCommandIn(tx, handler), options);
}

/**
 * Runs `handler` inside a transaction the caller owns (an event consumer that stores its inbox
 * row with the change): nothing commits until the caller's transaction does.
 */
export async function handleCommandIn<State, Event>(
  tx: SqlExecutor,
  handler: CommandHandler<State, Event>,
): Promise<CommandResult<State, Event>> {
  const before = await handler.load(tx);
  const events = handler.decide(before);
  if (events.length === 0) return { before, after: before, applied: [] };
  const applied: AppliedEvent<State, Event>[] = [];
  let after: State = before;
  for (const event of events) {
    after = handler.evolve(after, event);
    applied.push({ event, after });
  }
  const change: CommandResult<State, Event> = { before, after, applied };
  await handler.save(tx, change);
  return change;
}
