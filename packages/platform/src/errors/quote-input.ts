/**
 * Quoting client input in messages. Error messages travel back in a status line or a trailer
 * (gRPC's `grpc-message`), and some clients refuse metadata over 8 KiB with RESOURCE_EXHAUSTED:
 * a message must never grow with what a client sent. Pure (no Node or Connect imports), so
 * domain code may use it.
 */

/** How much of a client's value a message quotes by default. */
export const quotedInputMaxChars = 40;

/**
 * `value` quoted for an error message: JSON-quoted (control characters escaped) when at most
 * `max` characters long; otherwise its first `max` characters, an ellipsis and its length, e.g.
 * `"01JX0Q3R5V2W8E1M6T4K9N7B…" (10000 characters)`. Its length is bounded by `max` (about
 * `max + 30` characters; more only when escapes are needed), never by `value`.
 */
export function quoteInput(value: string, max: number = quotedInputMaxChars): string {
  if (value.length <= max) return JSON.stringify(value);
  // Do not cut a surrogate pair in half.
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${JSON.stringify(`${value.slice(0, end)}…`)} (${value.length} characters)`;
}
