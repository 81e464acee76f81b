/**
 * Quoting client input in messages. Error messages travel back in a status line or a trailer
 * (gRPC's `grpc-message`), and some clients refuse metadata over 8 KiB with RESOURCE_EXHAUSTED:
 * a message must never grow with what a client sent. Pure (no Node or Connect imports), so
 * domain code may use it.
 */

/** How much of a client's value a message quotes by default. */
export const quotedInputMaxChars = 40;

/** Characters an id may show unquoted: what ULIDs, prefixed ids and provider ids are made of. */
const plainId = /^[\w:.@-]+$/;

/**
 * `value` as an error message may show it: as is when it is a plain id (letters, digits and
 * `_:.@-`) of at most `max` characters, so ordinary messages read `market 01JX… does not exist`;
 * JSON-quoted (control characters escaped) when it holds anything else; and when longer than
 * `max`, its first `max` characters, an ellipsis and its length, e.g.
 * `"mmmmmmmm…" (10000 characters)`. Its length is bounded by `max` (about `max + 30` characters;
 * more only when escapes are needed), never by `value`.
 */
export function quoteInput(value: string, max: number = quotedInputMaxChars): string {
  if (value.length <= max) return plainId.test(value) ? value : JSON.stringify(value);
  // Do not cut a surrogate pair in half.
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${JSON.stringify(`${value.slice(0, end)}…`)} (${value.length} characters)`;
}
