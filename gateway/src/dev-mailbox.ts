/**
 * Embedded mode only: `GET /dev/mailbox` passed through to the user service's dev mailbox (the
 * emails it keeps instead of sending them; services/user/src/mail/mailbox-page.ts), so the demo of
 * `npm start` can show the verification and password-reset emails. Never routed in cluster mode.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { writeHead } from '@streambet/platform/rpc/http-response';

/** Where the gateway serves the mailbox. */
export const devMailboxPath = '/dev/mailbox';

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/** The route: true when it handled the request. `userUrl` is the user service's base URL. */
export function createDevMailboxRoute(options: {
  readonly userUrl: string;
  readonly timeoutMs?: number;
}): (req: NodeRequest, res: NodeResponse) => boolean {
  return (req, res) => {
    const [path, query = ''] = (req.url ?? '').split('?', 2) as [string, string?];
    if (path !== devMailboxPath) return false;
    if (req.method !== 'GET') {
      writeHead(res, 405, { allow: 'GET', 'content-type': 'text/plain' });
      res.end('GET only');
      return true;
    }
    void (async () => {
      try {
        const upstream = await fetch(`${options.userUrl}${devMailboxPath}?${query}`, {
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        });
        const body = await upstream.text();
        writeHead(res, upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'text/plain',
          'cache-control': 'no-store',
        });
        res.end(body);
      } catch {
        if (!res.headersSent) writeHead(res, 502, { 'content-type': 'text/plain' });
        res.end('the user service did not answer');
      }
    })();
    return true;
  };
}
