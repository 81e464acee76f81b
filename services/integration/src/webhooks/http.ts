/**
 * `POST /webhooks/twitch` and `POST /webhooks/kick` on the service's port: the raw body (bounded)
 * to the receiver, its answer back unchanged (the gateway relays it to the provider).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from '@streambet/platform/log/logger';
import type { HttpRoute } from '@streambet/platform/rpc/server';
import type { WebhookReceiver } from './receiver.js';

/** Bigger bodies are refused with 413 (EventSub notifications are a few KB). */
export const maxWebhookBytes = 256 * 1024;

/** The webhook routes of this service. */
export function webhookRoute(receiver: WebhookReceiver, logger: Logger): HttpRoute {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const provider =
      path === '/webhooks/twitch' ? 'twitch' : path === '/webhooks/kick' ? 'kick' : undefined;
    if (provider === undefined) return false;
    if (req.method !== 'POST') {
      reply(
        res,
        405,
        'application/json',
        JSON.stringify({ error: 'webhooks are delivered with POST' }),
      );
      return true;
    }
    void serve(req, res, provider, receiver, logger);
    return true;
  };
}

function reply(
  res: ServerResponse | Http2ServerResponse,
  status: number,
  contentType: string,
  body: string,
): void {
  const out = res as ServerResponse;
  out.writeHead(status, { 'content-type': contentType });
  if (status === 204) out.end();
  else out.end(body);
}

async function serve(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  provider: 'twitch' | 'kick',
  receiver: WebhookReceiver,
  logger: Logger,
): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxWebhookBytes) {
        reply(
          res,
          413,
          'application/json',
          JSON.stringify({ error: `body larger than ${maxWebhookBytes} bytes` }),
        );
        return;
      }
      chunks.push(chunk);
    }
    const body = new Uint8Array(Buffer.concat(chunks));
    const answer = await receiver[provider](req.headers, body);
    reply(res, answer.status, answer.contentType, answer.body);
  } catch (error) {
    logger.error({ err: error, provider }, 'webhook delivery failed');
    if (!res.headersSent)
      reply(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
    else res.end();
  }
}
