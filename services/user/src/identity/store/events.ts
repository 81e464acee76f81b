/**
 * User events: built by the routes ({@link userEvent}) and appended to the outbox in the caller's
 * transaction with their metadata (topic `user`, key = user id).
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { EventMetadataSchema } from '@streambet/contracts/gen/streambet/events/v1/envelope_pb';
import { injectTraceHeaders } from '@streambet/platform/obs/tracing';
import { appendToOutbox, newEventId } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { SqlExecutor } from '@streambet/platform/sql/types';

/** Topic of every user event (events/v1/user.proto: topic family `user`). */
export const userEventTopic = 'user';

/** Who caused an event (EventMetadata.actor_*). */
export interface EventActor {
  readonly userId: string;
  readonly role: Role;
}

/** A user event ready to be written to the outbox, metadata still to be filled in. */
export interface PendingUserEvent {
  readonly userId: string;
  readonly typeName: string;
  readonly actor: EventActor | undefined;
  encode(metadata: MessageInitShape<typeof EventMetadataSchema>): Uint8Array;
}

/**
 * Builds a user event of `schema` about `userId` (its aggregate and bus key). The metadata
 * (event id = outbox row id, time, producer, actor) is added by {@link IdentityStore.appendEvents}.
 */
export function userEvent<Desc extends DescMessage>(
  schema: Desc,
  userId: string,
  fields: Omit<MessageInitShape<Desc>, 'metadata' | '$typeName'>,
  actor?: EventActor,
): PendingUserEvent {
  return {
    userId,
    typeName: schema.typeName,
    actor,
    encode: (metadata) =>
      toBinary(
        schema,
        create(schema, {
          ...fields,
          userId,
          metadata: create(EventMetadataSchema, metadata),
        } as unknown as MessageInitShape<Desc>),
      ),
  };
}

/** Creates the outbox writer of user events; `clock` stamps their metadata. */
export function createUserEventAppender(clock: Clock) {
  return {
    /**
     * Appends user events to the outbox in the caller's transaction: topic `user`, key = user id,
     * type = the message name, payload = protobuf binary with EventMetadata.event_id equal to the
     * outbox row id (so consumers' dedupe id and the envelope id agree).
     */
    async appendEvents(db: SqlExecutor, events: readonly PendingUserEvent[]): Promise<void> {
      if (events.length === 0) return;
      const nowMs = clock.now();
      const ids = events.map(() => newEventId());
      const headers = injectTraceHeaders({ producer: 'user' });
      const traceParent = headers.traceparent ?? '';
      let next = 0;
      await appendToOutbox(
        db,
        events.map((event, index) => ({
          topic: userEventTopic,
          key: event.userId,
          type: event.typeName,
          headers,
          payload: event.encode({
            eventId: ids[index]!,
            occurredAtMs: BigInt(nowMs),
            producer: 'user',
            traceParent,
            aggregateId: event.userId,
            actorUserId: event.actor?.userId ?? '',
            actorRole: event.actor?.role ?? Role.UNSPECIFIED,
          }),
        })),
        { clock: () => nowMs, newId: () => ids[next++]! },
      );
    },
  };
}
