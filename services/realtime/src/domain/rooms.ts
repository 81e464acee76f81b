/**
 * Room names of the socket.io protocol (realtime.proto): `channel:<id>`, `market:<id>` and
 * `user:<id>`. Clients may join only channel and market rooms; a user room is joined by the
 * server for the socket's verified user, never by request, so nobody can read another's bets.
 */
import { isUlid } from '@streambet/platform/ids/ulid';
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** Kind of room, the prefix of its name. */
export type RoomKind = 'channel' | 'market' | 'user';

/** A room by kind and id (ULID). */
export interface RoomRef {
  readonly kind: RoomKind;
  readonly id: string;
}

/** The socket.io room name of a room: `market:01H…`. */
export function roomName(kind: RoomKind, id: string): string {
  return `${kind}:${id}`;
}

/** Longest room name a client may send (`channel:` + a ULID is 34); longer input is refused unread. */
const maxRoomChars = 64;

/**
 * Parses the `{ room }` payload of `room:join` / `room:leave`. Refuses (ValidationError) anything
 * but `channel:<ULID>` or `market:<ULID>`: user rooms are never joined by request.
 */
export function parseJoinableRoom(payload: unknown): RoomRef {
  const room = isRecord(payload) ? payload.room : undefined;
  if (typeof room !== 'string' || room.length > maxRoomChars) {
    throw new ValidationError('room:join needs { room: "channel:<id>" or "market:<id>" }', [
      { field: 'room', description: 'must be a string like "market:<ULID>"' },
    ]);
  }
  const separator = room.indexOf(':');
  const kind = room.slice(0, separator);
  const id = room.slice(separator + 1);
  if (kind === 'user') {
    throw new ValidationError('user rooms are joined automatically with a valid token', [
      { field: 'room', description: 'join channel:<id> or market:<id> rooms only' },
    ]);
  }
  if ((kind !== 'channel' && kind !== 'market') || !isUlid(id)) {
    throw new ValidationError(`unknown room ${JSON.stringify(room)}`, [
      { field: 'room', description: 'must be "channel:<ULID>" or "market:<ULID>"' },
    ]);
  }
  return { kind, id };
}

/** True for a plain (non-array, non-null) object, as socket.io decodes a JSON object payload. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
