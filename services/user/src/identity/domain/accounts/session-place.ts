/**
 * The coarse place of a session (issue 17's "device, place, last use"): the client's network, not
 * its address: an IPv4 /24 (`203.0.113.x`) or an IPv6 /64 (`2001:db8:1:2::/64`). No GeoIP
 * database ships with the platform (nor can one be fetched offline), so the network is the place a
 * user can recognise ("my home network", "not mine"); it also keeps the full address out of the
 * sessions table. Pure: parses the text the gateway forwarded (x-forwarded-for), '' when it is
 * not an IP address.
 */

/** The /24 or /64 network of `address` as text, or '' when `address` is not an IP address. */
export function coarsePlaceOf(address: string): string {
  const trimmed = address.trim().replace(/^\[|\]$/g, '');
  const v4 = ipv4Octets(trimmed);
  if (v4 !== undefined) return `${v4[0]}.${v4[1]}.${v4[2]}.x`;
  const groups = ipv6Groups(trimmed.replace(/%.*$/, ''));
  if (groups === undefined) return '';
  // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.x`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function ipv4Octets(text: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (match === null) return undefined;
  const octets = match.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** The 8 16-bit groups of an IPv6 address (with `::` and a trailing dotted IPv4 part). */
function ipv6Groups(text: string): number[] | undefined {
  if (!text.includes(':') || text.length > 45) return undefined;
  let body = text;
  const tail: number[] = [];
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
  if (dotted !== null) {
    const octets = ipv4Octets(dotted[1]!);
    if (octets === undefined) return undefined;
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    // Drop the dotted part and its ':' ("::ffff:1.2.3.4" → "::ffff"), keeping a "::".
    body = body.slice(0, dotted.index + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest, ...tail];
}
