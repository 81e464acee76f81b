/**
 * Validation of RealtimeInternalService.Publish (realtime.proto): 1–1000 messages, each to a
 * well-formed room, with a non-reserved event name, a JSON-object payload of at most 64 KiB and an
 * optional conflation key. The whole batch is refused when one message is bad, naming each.
 */
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import { isUlid } from '@streambet/platform/ids/ulid';
import { isRecord, roomName, type RoomKind } from './rooms.js';

/** One message as received (proto decoded to plain values). */
export interface PublishInput {
  readonly roomKind: RoomKind | undefined;
  readonly roomId: string;
  readonly eventName: string;
  readonly payloadJson: string;
  readonly conflationKey: string;
}

/** A message ready to emit. */
export interface PublishMessage {
  readonly room: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
  /** Empty = deliver every message. */
  readonly conflationKey: string;
}

/** Most messages per call. */
const maxPublishMessages = 1000;
/** Largest payload, in UTF-8 bytes. */
const maxPayloadBytes = 64 * 1024;
const reservedPrefixes = ['chat:', 'room:', 'auth:'];

/** Validates a Publish batch; throws a ValidationError listing every bad message. */
export function validatePublish(
  inputs: readonly PublishInput[],
  utf8Bytes: (text: string) => number,
): PublishMessage[] {
  if (inputs.length === 0 || inputs.length > maxPublishMessages) {
    throw new ValidationError(`send 1–${maxPublishMessages} messages, got ${inputs.length}`, [
      { field: 'messages', description: `must hold 1–${maxPublishMessages} messages` },
    ]);
  }
  const violations: FieldViolation[] = [];
  const out: PublishMessage[] = [];
  inputs.forEach((input, index) => {
    const at = (field: string) => `messages[${index}].${field}`;
    if (input.roomKind === undefined || !isUlid(input.roomId)) {
      violations.push({ field: at('room'), description: 'needs a kind and a ULID id' });
    }
    if (
      input.eventName.length < 1 ||
      input.eventName.length > 128 ||
      reservedPrefixes.some((prefix) => input.eventName.startsWith(prefix))
    ) {
      violations.push({
        field: at('event_name'),
        description: 'must be 1–128 chars and not start with chat:, room: or auth:',
      });
    }
    if (input.conflationKey.length > 128) {
      violations.push({ field: at('conflation_key'), description: 'must be at most 128 chars' });
    }
    let payload: unknown;
    if (utf8Bytes(input.payloadJson) > maxPayloadBytes) {
      violations.push({ field: at('payload_json'), description: 'must be at most 64 KiB' });
    } else {
      try {
        payload = JSON.parse(input.payloadJson);
      } catch {
        payload = undefined;
      }
      if (!isRecord(payload)) {
        violations.push({ field: at('payload_json'), description: 'must be a JSON object' });
      }
    }
    if (input.roomKind !== undefined && isRecord(payload)) {
      out.push({
        room: roomName(input.roomKind, input.roomId),
        event: input.eventName,
        payload,
        conflationKey: input.conflationKey,
      });
    }
  });
  if (violations.length > 0) throw new ValidationError('invalid publish request', violations);
  return out;
}
