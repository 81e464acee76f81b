import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';

/** The response of a plain HTTP route: one server answers HTTP/1.1 and HTTP/2 on the same port. */
export type HttpResponse = ServerResponse | Http2ServerResponse;

/**
 * Writes the status line and headers on either protocol. Node 24's typings give the two
 * `writeHead` overload sets signatures TypeScript cannot call through a union, so the
 * protocol is told apart once, here, instead of at every route.
 */
export function writeHead(
  res: HttpResponse,
  statusCode: number,
  headers?: OutgoingHttpHeaders,
): void {
  if (res instanceof Http2ServerResponse) res.writeHead(statusCode, headers);
  else res.writeHead(statusCode, headers);
}
