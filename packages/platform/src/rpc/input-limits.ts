/**
 * Length limits on the string fields of every request, checked once for every service (the
 * gateway included) by an interceptor that walks the request message through its descriptor:
 * no route has to remember it, and a field added to a contract is covered the day it is added.
 */
import { ScalarType, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import type { Interceptor } from '@connectrpc/connect';
import { ValidationError, type FieldViolation } from '../errors/domain-errors.js';

/**
 * Longest id, idempotency key or similar handle, in characters. Ids the platform makes are ULIDs
 * (26) or prefixed ULIDs and derived ids (under 100); provider ids (Twitch, Stripe) are under 64.
 */
export const maxIdChars = 128;

/**
 * Longest opaque token, in characters: page tokens (base64 of a cursor holding a few ids and an
 * instant), refresh tokens (`sbrt_` + 43).
 */
export const maxTokenChars = 512;

/**
 * Longest other string, in characters: names, titles (140), reasons, notes, emails, OAuth codes.
 * A field whose name ends in `_json` carries a document (realtime's Publish payload) and is
 * bounded only by the body limit (`readMaxBytes`).
 */
export const maxTextChars = 4096;

/** The limit that applies to a string field of this name (its proto name), or undefined for none. */
export function maxCharsOfField(protoName: string): number | undefined {
  if (protoName.endsWith('_json')) return undefined;
  if (
    protoName === 'id' ||
    protoName.endsWith('_id') ||
    protoName.endsWith('_ids') ||
    protoName.endsWith('_key')
  ) {
    return maxIdChars;
  }
  if (protoName.endsWith('_token')) return maxTokenChars;
  return maxTextChars;
}

/** Nested messages deeper than this are not walked (no request contract nests this deep). */
const maxDepth = 16;
/** Violations listed in one refusal; the message stays short whatever the request holds. */
const maxViolations = 3;

/**
 * The string fields of `message` (nested messages, lists and maps included) longer than their
 * limit ({@link maxCharsOfField}): field path and what is allowed, never the value itself.
 */
export function stringLengthViolations(desc: DescMessage, message: Message): FieldViolation[] {
  const violations: FieldViolation[] = [];
  walk(reflect(desc, message as never, false), '', 0, violations);
  return violations;
}

function walk(
  message: ReflectMessage,
  prefix: string,
  depth: number,
  violations: FieldViolation[],
): void {
  if (depth > maxDepth) return;
  for (const field of message.fields) {
    if (violations.length >= maxViolations) return;
    if (!message.isSet(field)) continue;
    const path = `${prefix}${field.name}`;
    switch (field.fieldKind) {
      case 'scalar':
        if (field.scalar === ScalarType.STRING) check(field, path, message.get(field), violations);
        break;
      case 'message':
        walk(message.get(field), `${path}.`, depth + 1, violations);
        break;
      case 'list': {
        let index = 0;
        for (const item of message.get(field)) {
          if (violations.length >= maxViolations) return;
          if (field.listKind === 'scalar' && field.scalar === ScalarType.STRING) {
            check(field, `${path}[${index}]`, item, violations);
          } else if (field.listKind === 'message') {
            walk(item as ReflectMessage, `${path}[${index}].`, depth + 1, violations);
          }
          index += 1;
        }
        break;
      }
      case 'map':
        for (const [key, value] of message.get(field)) {
          if (violations.length >= maxViolations) return;
          if (typeof key === 'string') check(field, `${path} key`, key, violations);
          if (field.mapKind === 'scalar' && field.scalar === ScalarType.STRING) {
            check(field, `${path} value`, value, violations);
          } else if (field.mapKind === 'message') {
            walk(value as ReflectMessage, `${path} value.`, depth + 1, violations);
          }
        }
        break;
      default:
        break;
    }
  }
}

function check(field: DescField, path: string, value: unknown, out: FieldViolation[]): void {
  if (typeof value !== 'string') return;
  const max = maxCharsOfField(field.name);
  if (max === undefined || value.length <= max) return;
  out.push({
    field: path,
    description: `is ${value.length} characters long; at most ${max} are accepted`,
  });
}

/**
 * Refuses a request with INVALID_ARGUMENT when one of its string fields is longer than its limit
 * ({@link maxCharsOfField}), naming the fields and never quoting them: an over-long id costs no
 * SQL, no downstream call and no kilobytes of echo in an error trailer. Installed in every
 * server's stack (see `createServerInterceptors`), inside error mapping and before auth, so a
 * flood of such requests costs no token verification either.
 */
export function inputLimitsInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      const violations = stringLengthViolations(req.method.input, req.message);
      if (violations.length > 0) {
        throw new ValidationError('a request field is too long', violations);
      }
      return next(req);
    }
    const input = req.method.input;
    const messages = req.message;
    return next({
      ...req,
      message: (async function* checked() {
        for await (const message of messages) {
          const violations = stringLengthViolations(input, message);
          if (violations.length > 0) {
            throw new ValidationError('a request field is too long', violations);
          }
          yield message;
        }
      })(),
    });
  };
}
