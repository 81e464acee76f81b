/**
 * The little HTTP server the provider fakes share: JSON answers, a switch that makes the fake
 * unreachable (503) or unresponsive (never answers, until switched back), and idempotency keys
 * replayed as the providers document (same key + same body → the first answer; same key + other
 * body → an error).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake behaves as a whole: `up`; `error` (503 to everything); `hang` (never answers,
 * does nothing); `drop` (does what it is asked, then never answers: a lost response).
 */
export type FakeHealth = 'up' | 'error' | 'hang' | 'drop';

/** One parsed request. */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An answer. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A started fake server. */
export interface FakeServer {
  readonly url: string;
  health: FakeHealth;
  /** Requests received, by `METHOD path` (tests count provider calls). */
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:`port` (0 = any free port) answering with `handle`. */
export async function startFakeServer(
  port: number,
  handle: (request: FakeRequest) => FakeAnswer,
  idempotencyHeader: string,
): Promise<FakeServer> {
  const replays = new Map<string, { body: string; answer: FakeAnswer }>();
  const hanging = new Set<ServerResponse>();
  const requests: FakeRequest[] = [];
  const state: { health: FakeHealth } = { health: 'up' };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const hang = (): void => {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      };
      if (state.health === 'hang') {
        hang();
        return;
      }
      const dropping = state.health === 'drop';
      if (state.health === 'error') {
        send(res, { status: 503, body: { error: { type: 'api_error', message: 'fake is down' } } });
        return;
      }
      requests.push(request);
      const headerValue = req.headers[idempotencyHeader];
      const key = typeof headerValue === 'string' ? headerValue : undefined;
      if (key !== undefined && request.method === 'POST') {
        const scope = `${String(req.headers['stripe-account'] ?? '')}|${request.path}|${key}`;
        const earlier = replays.get(scope);
        if (earlier !== undefined) {
          send(
            res,
            earlier.body === request.body
              ? earlier.answer
              : {
                  status: 400,
                  body: {
                    error: {
                      type: 'idempotency_error',
                      message: `Keys for idempotent requests can only be used with the same parameters they were first used with (key ${key}).`,
                    },
                  },
                },
          );
          return;
        }
        const answer = handle(request);
        if (answer.status < 500) replays.set(scope, { body: request.body, answer });
        if (dropping) hang();
        else send(res, answer);
        return;
      }
      const answer = handle(request);
      if (dropping) hang();
      else send(res, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    get health() {
      return state.health;
    },
    set health(value: FakeHealth) {
      state.health = value;
      if (value !== 'hang') {
        for (const res of hanging) res.destroy();
        hanging.clear();
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, answer: FakeAnswer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
