/**
 * The realtime service's event consumers:
 * - `fanout` pushes odds, market, bet, settlement, wallet and payment events to rooms. Pushes are
 *   best-effort and not replayed, so it needs no inbox row: a redelivered event is pushed again,
 *   which clients tolerate because every pushed event carries a version or an id
 *   (handleIdempotently, no SQL on the hot path).
 * - `projections` keeps what moderation and room checks need, exactly-once through the inbox:
 *   channel owners (integration ChannelLinked / ChannelUnlinked), known markets (MarketCreated),
 *   display names and admin flags (user events: UserRegistered, UserRoleGranted and
 *   UserRoleRevoked each carry every role held afterwards, so the flag is set from that list).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChannelLinkedSchema,
  ChannelUnlinkedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { MarketCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  UserProfileUpdatedSchema,
  UserRegisteredSchema,
  UserRoleGrantedSchema,
  UserRoleRevokedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { fanoutTopics, pushesOf } from './events.js';
import type { Fanout } from './fanout.js';
import type { RealtimeStore } from './store.js';

/** Pushes one bus event to its rooms (exported so tests can drive it without a bus). */
function pushEvent(fanout: Fanout, event: Pick<EventEnvelope, 'type' | 'payload'>): void {
  for (const push of pushesOf(event)) {
    if (push.conflation === undefined) fanout.send(push.room, push.event, push.payload);
    else {
      fanout.sendConflated(
        push.room,
        push.event,
        push.payload,
        push.conflation.key,
        push.conflation.version,
      );
    }
  }
}

/** The `fanout` consumer (see the module comment). */
export function createFanoutConsumer(fanout: Fanout): EventConsumer {
  return {
    name: 'fanout',
    topics: fanoutTopics,
    handleIdempotently(event) {
      pushEvent(fanout, event);
      return Promise.resolve();
    },
  };
}

/** Topics of the `projections` consumer. */
const projectionTopics = ['integration', 'market', 'user'] as const;

/** Applies one projected event in `tx` (exported so tests can drive it through the inbox). */
async function applyProjection(
  store: RealtimeStore,
  event: Pick<EventEnvelope, 'type' | 'payload'>,
  tx: SqlExecutor,
): Promise<void> {
  switch (event.type) {
    case ChannelLinkedSchema.typeName: {
      const m = fromBinary(ChannelLinkedSchema, event.payload);
      await store.linkChannel(tx, m.channelId, m.ownerUserId);
      return;
    }
    case ChannelUnlinkedSchema.typeName: {
      const m = fromBinary(ChannelUnlinkedSchema, event.payload);
      await store.unlinkChannel(tx, m.channelId);
      return;
    }
    case MarketCreatedSchema.typeName: {
      const m = fromBinary(MarketCreatedSchema, event.payload);
      await store.recordMarket(tx, m.marketId, m.channelId);
      return;
    }
    case UserRegisteredSchema.typeName: {
      const m = fromBinary(UserRegisteredSchema, event.payload);
      await store.upsertUser(tx, m.userId, m.displayName);
      await store.setAdmin(tx, m.userId, m.roles.includes(Role.ADMIN));
      return;
    }
    case UserProfileUpdatedSchema.typeName: {
      const m = fromBinary(UserProfileUpdatedSchema, event.payload);
      await store.upsertUser(tx, m.userId, m.displayName);
      return;
    }
    case UserRoleGrantedSchema.typeName: {
      const m = fromBinary(UserRoleGrantedSchema, event.payload);
      await store.setAdmin(tx, m.userId, m.roles.includes(Role.ADMIN));
      return;
    }
    case UserRoleRevokedSchema.typeName: {
      // Without it a demoted admin would stay unbannable in chat.
      const m = fromBinary(UserRoleRevokedSchema, event.payload);
      await store.setAdmin(tx, m.userId, m.roles.includes(Role.ADMIN));
      return;
    }
    default:
      return;
  }
}

/** The `projections` consumer (see the module comment). */
export function createProjectionConsumer(store: RealtimeStore): EventConsumer {
  return {
    name: 'projections',
    topics: projectionTopics,
    handle: (event, tx) => applyProjection(store, event, tx),
  };
}
