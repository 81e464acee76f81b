/**
 * In-process event bus for the embedded mode (all services in one Node process) and tests.
 *
 * Semantics, matching the other adapters:
 * - Every consumer group receives every event of the topics it subscribed to; members of one
 *   group share the work (an event goes to one member, chosen by hash of its key among the
 *   members subscribed to its topic).
 * - Per-key order, per (group, topic): a key's next event is not delivered before the previous
 *   one was handled, including its retries. Different keys run concurrently, at most
 *   `concurrency` handler calls per (group, topic).
 * - A failed handler is retried after `retryBaseMs · 2^(n-1)` (capped at `retryMaxMs`); after
 *   `maxAttempts` the event is published to `<topic>.dlq` with the `dlq-*` headers of
 *   ./envelope.ts.
 * - At-least-once inside the process: when a member closes, its unfinished events stay with the
 *   group and go to the next member (or wait for one to subscribe). Nothing survives a restart,
 *   which is why the outbox relay publishes with {@link EventBus.publishAndConfirm}: it resolves
 *   only after every subscribed group handled the events (their inbox rows committed), so a
 *   crash before that leaves the outbox rows unpublished and they are delivered again on restart.
 * - Dead letters (`<topic>.dlq`) are retained like any topic: {@link MemoryBus.retained} lists
 *   them in this process (the `dlq` script cannot reach them from outside).
 * - `fromBeginning` (the default): a group's first subscription to a topic replays the events
 *   retained for that topic. Retention is bounded: the last `retainPerTopic` events per topic
 *   (default 10,000); a group subscribing later misses older ones. With `fromBeginning: false`
 *   the group starts with the next published event.
 * - A (group, topic) takes `maxAttempts` from its first subscription; later members share it.
 * - A group with no live member keeps queueing its events in memory (unbounded) until a member
 *   subscribes again or the bus closes; services subscribe for their whole life, so this only
 *   happens during shutdown.
 */
import {
  assertPublishable,
  assertValidSubscription,
  copyEnvelope,
  deadLetterEnvelope,
  describeFailure,
  reportDeadLetter,
  resolveMaxAttempts,
} from './envelope.js';
import {
  createKeyedDispatcher,
  DeliveryAbortedError,
  exponentialBackoffMs,
  realTimer,
  type DispatchItem,
  type KeyedDispatcher,
  type Timer,
} from './keyed-dispatcher.js';
import { stderrBusLogger, type BusLogger } from './logger.js';
import { hashKey } from './partition.js';
import type {
  BatchEventHandler,
  EventBus,
  EventEnvelope,
  EventHandler,
  SubscribeOptions,
  Subscription,
} from './types.js';

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** First retry delay; doubles per failed attempt. Default 100 ms. */
  readonly retryBaseMs?: number;
  /** Longest retry delay. Default 30,000 ms. */
  readonly retryMaxMs?: number;
  /** Most handler calls in flight per (group, topic). Default 16. */
  readonly concurrency?: number;
  /** Events kept per topic for groups that subscribe later with `fromBeginning`. Default 10,000. */
  readonly retainPerTopic?: number;
  /** Schedules retries; inject to observe or control backoff. Default: the process timer. */
  readonly timer?: Timer;
  /** Clock for the `dlq-failed-at-ms` header. Default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: BusLogger;
}

interface Member {
  readonly group: string;
  readonly topics: ReadonlySet<string>;
  readonly handler: EventHandler;
  readonly handleBatch: BatchEventHandler | undefined;
  readonly inFlight: Set<Promise<void>>;
  closed: boolean;
}

/** Settles a `publishAndConfirm` call once every group handled its event (or one gave up on it). */
interface Confirmation {
  handled(): void;
  abandoned(reason: Error): void;
}

interface GroupTopic {
  readonly group: string;
  readonly topic: string;
  readonly maxAttempts: number;
  readonly onDeadLettered: SubscribeOptions['onDeadLettered'];
  readonly dispatcher: KeyedDispatcher<Confirmation | undefined>;
  members: Member[];
  memberWaiters: Array<() => void>;
}

/** The in-process bus: an {@link EventBus} that confirms delivery and lists what it retains. */
export interface MemoryBus extends EventBus {
  readonly kind: 'memory';
  publishAndConfirm(events: readonly EventEnvelope[]): Promise<void>;
  /**
   * The events retained for `topic` (the last `retainPerTopic`), oldest first; for `<topic>.dlq`
   * that is this process's list of dead letters (see scripts/dlq.ts).
   */
  retained(topic: string): EventEnvelope[];
}

/**
 * One batch to a member: its `handleBatch`, or (a member that did not opt in, in a group whose
 * first subscriber did) its `handler` per event in order.
 */
async function deliverBatchTo(member: Member, events: readonly EventEnvelope[]): Promise<void> {
  if (member.handleBatch !== undefined) {
    await member.handleBatch(events);
    return;
  }
  for (const event of events) await member.handler(event);
}

/** Creates the in-process bus; see the module comment for its delivery guarantees and bounds. */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const concurrency = options.concurrency ?? 16;
  const retainPerTopic = options.retainPerTopic ?? 10_000;
  const timer = options.timer ?? realTimer;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? stderrBusLogger;
  if (!Number.isSafeInteger(retainPerTopic) || retainPerTopic < 0) {
    throw new RangeError(`retainPerTopic must be an integer >= 0, got ${retainPerTopic}`);
  }
  if (!(retryBaseMs >= 0) || !(retryMaxMs >= retryBaseMs)) {
    throw new RangeError(`need 0 <= retryBaseMs <= retryMaxMs, got ${retryBaseMs} / ${retryMaxMs}`);
  }

  /** Retained events per topic; trimmed lazily to `retainPerTopic`. */
  const logs = new Map<string, EventEnvelope[]>();
  /** `${group}\u0000${topic}` → state. */
  const groupTopics = new Map<string, GroupTopic>();
  const subscriptions = new Set<Subscription>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function assertOpen(what: string): void {
    if (closed) throw new Error(`memory bus is closed: cannot ${what}`);
  }

  function retain(event: EventEnvelope): void {
    if (retainPerTopic === 0) return;
    let log = logs.get(event.topic);
    if (log === undefined) {
      log = [];
      logs.set(event.topic, log);
    }
    log.push(event);
    if (log.length >= retainPerTopic * 2) log.splice(0, log.length - retainPerTopic);
  }

  function accept(
    events: readonly EventEnvelope[],
    confirmationOf?: (event: EventEnvelope, groups: number) => Confirmation,
  ): void {
    for (const event of events) {
      retain(event);
      const states = [...groupTopics.values()].filter((state) => state.topic === event.topic);
      const confirmation = confirmationOf?.(event, states.length);
      for (const state of states)
        state.dispatcher.push({ envelope: event, attempts: 0, meta: confirmation });
    }
  }

  /** A confirmation per event (made while accepting it) and a wait for all of them. */
  function confirmations(): [
    () => Promise<void>,
    (event: EventEnvelope, groups: number) => Confirmation,
  ] {
    const pending: Promise<void>[] = [];
    const make = (_event: EventEnvelope, groups: number): Confirmation => {
      let left = groups;
      let settle!: (error?: Error) => void;
      pending.push(
        new Promise<void>((resolve, reject) => {
          let settled = false;
          settle = (error) => {
            if (settled) return;
            settled = true;
            if (error === undefined) resolve();
            else reject(error);
          };
        }),
      );
      if (left === 0) settle();
      return {
        handled() {
          left -= 1;
          if (left <= 0) settle();
        },
        abandoned(reason) {
          settle(reason);
        },
      };
    };
    return [() => Promise.all(pending).then(() => undefined), make];
  }

  /** Groups subscribed to one of `topics` that have no live member (they are shutting down). */
  function groupsWithoutMembers(events: readonly EventEnvelope[]): string[] {
    const topics = new Set(events.map((event) => event.topic));
    return [...groupTopics.values()]
      .filter((state) => topics.has(state.topic) && !state.members.some((m) => !m.closed))
      .map((state) => `${state.group} (${state.topic})`);
  }

  async function waitForMember(state: GroupTopic, key: string): Promise<Member> {
    for (;;) {
      if (closed) throw new DeliveryAbortedError();
      const live = state.members.filter((member) => !member.closed);
      if (live.length > 0) return live[hashKey(key) % live.length] as Member;
      await new Promise<void>((resolve) => state.memberWaiters.push(resolve));
    }
  }

  function groupTopicFor(
    group: string,
    topic: string,
    maxAttempts: number,
    onDeadLettered: SubscribeOptions['onDeadLettered'],
    fromBeginning: boolean,
    batchMaxEvents: number | undefined,
  ): GroupTopic {
    const id = `${group}\u0000${topic}`;
    const existing = groupTopics.get(id);
    if (existing !== undefined) return existing;
    /** Runs one handler call on the member owning `key`, tracked for its subscription's close. */
    const runOnMember = async (
      key: string,
      items: readonly DispatchItem<Confirmation | undefined>[],
      call: (member: Member) => Promise<void>,
    ): Promise<void> => {
      // Never run a handler inside the publisher's call stack.
      await Promise.resolve();
      const member = await waitForMember(state, key);
      const attempt = (async () => call(member))();
      const tracked = attempt.then(
        () => undefined,
        () => undefined,
      );
      member.inFlight.add(tracked);
      try {
        await attempt;
      } catch (error) {
        const first = items[0] as DispatchItem<Confirmation | undefined>;
        logger.warn(
          {
            group,
            topic,
            eventId: first.envelope.id,
            ...(items.length > 1 ? { events: items.length } : {}),
            attempt: first.attempts,
            error: describeFailure(error),
          },
          'event handler failed; will retry or dead-letter',
        );
        throw error;
      } finally {
        member.inFlight.delete(tracked);
      }
    };
    const state: GroupTopic = {
      group,
      topic,
      maxAttempts,
      onDeadLettered,
      members: [],
      memberWaiters: [],
      dispatcher: createKeyedDispatcher<Confirmation | undefined>({
        concurrency,
        maxAttempts,
        timer,
        backoffMs: (failed) => exponentialBackoffMs(failed, retryBaseMs, retryMaxMs),
        deliver: (item) =>
          runOnMember(item.envelope.key, [item], (member) => member.handler(item.envelope)),
        // Batch mode only for a group that opted in (its first subscriber decides).
        ...(batchMaxEvents === undefined
          ? {}
          : {
              batchMaxItems: batchMaxEvents,
              deliverBatch: (items: readonly DispatchItem<Confirmation | undefined>[]) =>
                runOnMember((items[0] as DispatchItem<unknown>).envelope.key, items, (member) =>
                  deliverBatchTo(
                    member,
                    items.map((item) => item.envelope),
                  ),
                ),
            }),
        onHandled: (item) => {
          item.meta?.handled();
          return Promise.resolve();
        },
        onDeadLetter: (item, error) =>
          attempt(() => {
            accept([
              deadLetterEnvelope(item.envelope, {
                error,
                attempts: item.attempts,
                group,
                failedAtMs: now(),
              }),
            ]);
            reportDeadLetter(logger, state.onDeadLettered, {
              event: item.envelope,
              error,
              attempts: item.attempts,
              group,
            });
            item.meta?.handled();
          }),
        onError: (error, item) =>
          logger.error(
            { group, topic, eventId: item.envelope.id, error: describeFailure(error) },
            'memory bus error',
          ),
      }),
    };
    groupTopics.set(id, state);
    if (fromBeginning) {
      for (const event of (logs.get(topic) ?? []).slice(-retainPerTopic)) {
        state.dispatcher.push({ envelope: event, attempts: 0, meta: undefined });
      }
    }
    return state;
  }

  /**
   * The group's last member left: whoever waits for its events to be handled is told now (the
   * outbox keeps those rows unpublished); the events stay queued for a member that comes back.
   */
  function abandonConfirmations(state: GroupTopic): void {
    const reason = new Error(
      `consumer group ${state.group} has no live member on ${state.topic}; delivery not confirmed`,
    );
    for (const item of state.dispatcher.heldItems()) item.meta?.abandoned(reason);
  }

  function notifyMembers(state: GroupTopic): void {
    const waiters = state.memberWaiters;
    state.memberWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function subscribeNow(subscribeOptions: SubscribeOptions): Subscription {
    assertOpen('subscribe');
    assertValidSubscription(subscribeOptions.group, subscribeOptions.topics);
    const maxAttempts = resolveMaxAttempts(subscribeOptions.maxAttempts);
    const member: Member = {
      group: subscribeOptions.group,
      topics: new Set(subscribeOptions.topics),
      handler: subscribeOptions.handler,
      handleBatch: subscribeOptions.handleBatch,
      inFlight: new Set(),
      closed: false,
    };
    const states = [...member.topics].map((topic) =>
      groupTopicFor(
        member.group,
        topic,
        maxAttempts,
        subscribeOptions.onDeadLettered,
        subscribeOptions.fromBeginning !== false,
        subscribeOptions.handleBatch === undefined
          ? undefined
          : (subscribeOptions.batchMaxEvents ?? 500),
      ),
    );
    for (const state of states) {
      state.members.push(member);
      notifyMembers(state);
    }
    let closingSubscription: Promise<void> | undefined;
    const subscription: Subscription = {
      close() {
        closingSubscription ??= (async () => {
          member.closed = true;
          for (const state of states) {
            state.members = state.members.filter((m) => m !== member);
            if (state.members.length === 0) abandonConfirmations(state);
          }
          while (member.inFlight.size > 0) await Promise.all([...member.inFlight]);
          subscriptions.delete(subscription);
        })();
        return closingSubscription;
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    kind: 'memory',

    publish(events) {
      return attempt(() => {
        assertOpen('publish');
        for (const event of events) assertPublishable(event);
        accept(events.map((event) => copyEnvelope(event)));
      });
    },

    async publishAndConfirm(events) {
      assertOpen('publish');
      for (const event of events) assertPublishable(event);
      const orphaned = groupsWithoutMembers(events);
      if (orphaned.length > 0) {
        throw new Error(
          `memory bus: not publishing, no live member in consumer group ${orphaned.join(', ')}`,
        );
      }
      const [allHandled, confirmationOf] = confirmations();
      accept(
        events.map((event) => copyEnvelope(event)),
        confirmationOf,
      );
      await allHandled();
    },

    retained(topic) {
      return [...(logs.get(topic) ?? []).slice(-retainPerTopic)];
    },

    subscribe(subscribeOptions) {
      return attempt(() => subscribeNow(subscribeOptions));
    },

    ping() {
      return attempt(() => assertOpen('ping'));
    },

    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all([...subscriptions].map((subscription) => subscription.close()));
        for (const state of groupTopics.values()) notifyMembers(state);
        const reason = new Error('memory bus closed before the event was handled');
        await Promise.all(
          [...groupTopics.values()].map(async (state) => {
            for (const item of await state.dispatcher.close()) item.meta?.abandoned(reason);
          }),
        );
        groupTopics.clear();
        logs.clear();
      })();
      return closing;
    },
  };
}

/** Runs a synchronous step as an async port method expects: a throw becomes a rejection. */
function attempt<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
