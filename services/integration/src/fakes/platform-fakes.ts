/**
 * Local fakes of the platform endpoints this service calls, one HTTP server per provider, speaking
 * the documented request and response shapes:
 * - Twitch (`<url>/id` for id.twitch.tv, `<url>/helix` for api.twitch.tv/helix): POST /oauth2/token
 *   (authorization_code, refresh_token, client_credentials; form-encoded, answers access_token,
 *   refresh_token, expires_in, scope[]), POST /oauth2/revoke, GET /users ({data:[user]} of the
 *   bearer), GET/POST/DELETE /eventsub/subscriptions ({data, total, pagination}), POST/PATCH
 *   /predictions (twitch-predictions-fake.ts); YouTube Data API in youtube-fake.ts.
 * - Kick (`<url>/id` for id.kick.com, `<url>` for api.kick.com): POST /oauth/token (PKCE: the
 *   code_verifier must hash to the challenge of the authorize request), GET /public/v1/users,
 *   POST/DELETE /public/v1/events/subscriptions.
 * The consent screen is GET <auth>/oauth2/authorize (Twitch) or <auth>/oauth/authorize (Kick): it
 * approves at once and redirects to redirect_uri with `code` and `state`, as the account named by
 * the extra query parameters `fake_user_id` and `fake_login`; tests may call
 * {@link ProviderFakes.consent} instead. `setDown` makes a provider answer
 * 503 (an outage, for the circuit breaker).
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handlePredictions, type FakePrediction } from './twitch-predictions-fake.js';
import { startYoutubeFake, type YoutubeFake } from './youtube-fake.js';

/** A platform account the fakes know. */
export interface FakeAccount {
  readonly id: string;
  readonly login: string;
  readonly displayName: string;
}

/** A subscription the Twitch fake holds. */
export interface FakeSubscription {
  id: string;
  type: string;
  status: string;
  condition: { broadcaster_user_id: string };
  transport: { method: 'webhook'; callback: string };
  created_at: string;
}

/** The running fakes. */
export interface ProviderFakes {
  /** Base URLs to configure: INTEGRATION_TWITCH_AUTH_URL, _API_URL, KICK_AUTH_URL, _API_URL. */
  readonly urls: {
    twitchAuth: string;
    twitchApi: string;
    kickAuth: string;
    kickApi: string;
    youtubeApi: string;
  };
  /** The YouTube Data API fake (channels, live broadcasts, units spent). */
  readonly youtube: YoutubeFake;
  /** Plays consent on an authorize URL as `account`; returns the code of the redirect. */
  consent(authorizeUrl: string, account: FakeAccount): string;
  /** Twitch subscriptions as Twitch holds them (tests revoke or remove some). */
  readonly twitchSubscriptions: Map<string, FakeSubscription>;
  /** Channel Points predictions as Twitch holds them, by id. */
  readonly twitchPredictions: Map<string, FakePrediction>;
  /** Kick subscriptions: id → broadcaster. */
  readonly kickSubscriptions: Map<string, string>;
  /** Makes a provider answer 503 to everything (or recover). */
  setDown(provider: 'twitch' | 'kick', down: boolean): void;
  /** Makes refresh_token grants fail with 400 invalid refresh token. */
  setRefreshRejected(rejected: boolean): void;
  /** Token lifetime handed out, in seconds (default 14,400). */
  setTokenLifetimeSeconds(seconds: number): void;
  close(): Promise<void>;
}

interface Grant {
  readonly account: FakeAccount;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scopes: string[];
}

/** Starts both fakes on free ports of 127.0.0.1. */
export async function startProviderFakes(): Promise<ProviderFakes> {
  const codes = new Map<string, Grant & { provider: 'twitch' | 'kick' }>();
  const tokens = new Map<string, { account: FakeAccount | undefined; scopes: string[] }>();
  const refreshTokens = new Map<string, { account: FakeAccount; scopes: string[] }>();
  const twitchSubscriptions = new Map<string, FakeSubscription>();
  const twitchPredictions = new Map<string, FakePrediction>();
  const kickSubscriptions = new Map<string, string>();
  const down = { twitch: false, kick: false };
  let refreshRejected = false;
  let lifetimeSeconds = 14_400;

  const grantCode = (url: URL, provider: 'twitch' | 'kick', account: FakeAccount): string => {
    const code = randomUUID().replaceAll('-', '');
    codes.set(code, {
      provider,
      account,
      redirectUri: url.searchParams.get('redirect_uri') ?? '',
      challenge: url.searchParams.get('code_challenge') ?? '',
      scopes: (url.searchParams.get('scope') ?? '').split(' ').filter((s) => s !== ''),
    });
    return code;
  };

  const issue = (account: FakeAccount | undefined, scopes: string[]) => {
    const access = randomUUID().replaceAll('-', '');
    const refresh = randomUUID().replaceAll('-', '');
    tokens.set(access, { account, scopes });
    if (account !== undefined) refreshTokens.set(refresh, { account, scopes });
    return {
      access_token: access,
      refresh_token: account === undefined ? undefined : refresh,
      expires_in: lifetimeSeconds,
      scope: scopes,
      token_type: 'bearer',
    };
  };

  const send = (res: http.ServerResponse, status: number, body?: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const readBody = async (req: http.IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  };

  /**
   * The consent page: approves at once as the account named by `fake_user_id` / `fake_login`
   * (default 1000 / streambet_demo) and redirects to redirect_uri with code and state.
   */
  const authorizePage = (url: URL, provider: 'twitch' | 'kick', res: http.ServerResponse): void => {
    const id = url.searchParams.get('fake_user_id') ?? '1000';
    const login = url.searchParams.get('fake_login') ?? 'streambet_demo';
    const code = grantCode(url, provider, { id, login, displayName: login });
    const target = new URL(url.searchParams.get('redirect_uri') ?? 'http://localhost/');
    target.searchParams.set('code', code);
    target.searchParams.set('state', url.searchParams.get('state') ?? '');
    res.writeHead(302, { location: target.toString() });
    res.end();
  };

  const bearer = (req: http.IncomingMessage) =>
    tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));

  async function twitch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (down.twitch) return send(res, 503, { error: 'Service Unavailable', status: 503 });
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/id/oauth2/authorize')
      return authorizePage(url, 'twitch', res);
    if (req.method === 'POST' && path === '/id/oauth2/token') {
      const form = new URLSearchParams(await readBody(req));
      const grant = form.get('grant_type');
      if (grant === 'client_credentials') return send(res, 200, issue(undefined, []));
      if (grant === 'authorization_code') {
        const code = codes.get(form.get('code') ?? '');
        if (
          code === undefined ||
          code.provider !== 'twitch' ||
          code.redirectUri !== form.get('redirect_uri')
        ) {
          return send(res, 400, { status: 400, message: 'Invalid authorization code' });
        }
        codes.delete(form.get('code') ?? '');
        return send(res, 200, issue(code.account, code.scopes));
      }
      if (grant === 'refresh_token') {
        const known = refreshTokens.get(form.get('refresh_token') ?? '');
        if (known === undefined || refreshRejected) {
          return send(res, 400, { status: 400, message: 'Invalid refresh token' });
        }
        return send(res, 200, issue(known.account, known.scopes));
      }
      return send(res, 400, { status: 400, message: 'unsupported grant_type' });
    }
    if (req.method === 'POST' && path === '/id/oauth2/revoke') {
      tokens.delete(new URLSearchParams(await readBody(req)).get('token') ?? '');
      return send(res, 200);
    }
    const caller = bearer(req);
    if (caller === undefined)
      return send(res, 401, { error: 'Unauthorized', status: 401, message: 'Invalid OAuth token' });
    if (req.method === 'GET' && path === '/helix/users') {
      const a = caller.account;
      return send(res, 200, {
        data:
          a === undefined
            ? []
            : [
                {
                  id: a.id,
                  login: a.login,
                  display_name: a.displayName,
                  type: '',
                  broadcaster_type: 'affiliate',
                  description: '',
                  profile_image_url: '',
                  offline_image_url: '',
                  created_at: '2020-01-01T00:00:00Z',
                },
              ],
      });
    }
    if (path === '/helix/predictions') {
      const raw = await readBody(req);
      return handlePredictions(
        twitchPredictions,
        req.method ?? '',
        caller,
        raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>),
        (status, body) => send(res, status, body),
      );
    }
    if (path === '/helix/eventsub/subscriptions') {
      if (req.method === 'GET') {
        const data = [...twitchSubscriptions.values()];
        return send(res, 200, {
          data,
          total: data.length,
          total_cost: data.length,
          max_total_cost: 10_000,
          pagination: {},
        });
      }
      if (req.method === 'POST') {
        const body = JSON.parse(await readBody(req)) as Omit<
          FakeSubscription,
          'id' | 'status' | 'created_at'
        > & { transport: { secret?: string } };
        const sub: FakeSubscription = {
          id: randomUUID(),
          type: body.type,
          status: 'webhook_callback_verification_pending',
          condition: { broadcaster_user_id: body.condition.broadcaster_user_id },
          transport: { method: 'webhook', callback: body.transport.callback },
          created_at: new Date(0).toISOString(),
        };
        twitchSubscriptions.set(sub.id, sub);
        return send(res, 202, {
          data: [sub],
          total: twitchSubscriptions.size,
          total_cost: 1,
          max_total_cost: 10_000,
        });
      }
      if (req.method === 'DELETE') {
        const id = url.searchParams.get('id') ?? '';
        if (!twitchSubscriptions.delete(id))
          return send(res, 404, { error: 'Not Found', status: 404 });
        return send(res, 204);
      }
    }
    return send(res, 404, { error: 'Not Found', status: 404 });
  }

  async function kick(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (down.kick) return send(res, 503, { message: 'Service Unavailable' });
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/id/oauth/authorize')
      return authorizePage(url, 'kick', res);
    if (req.method === 'POST' && path === '/id/oauth/token') {
      const form = new URLSearchParams(await readBody(req));
      const code = codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (code === undefined || code.provider !== 'kick' || code.challenge !== challenge) {
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'code or code_verifier is invalid',
        });
      }
      codes.delete(form.get('code') ?? '');
      return send(res, 200, { ...issue(code.account, code.scopes), scope: code.scopes.join(' ') });
    }
    const caller = bearer(req);
    if (caller?.account === undefined) return send(res, 401, { message: 'Unauthorized' });
    const account = caller.account;
    if (req.method === 'GET' && path === '/public/v1/users') {
      return send(res, 200, {
        data: [
          {
            user_id: Number(account.id),
            name: account.displayName,
            email: '',
            profile_picture: '',
          },
        ],
        message: 'OK',
      });
    }
    if (path === '/public/v1/events/subscriptions') {
      if (req.method === 'POST') {
        const body = JSON.parse(await readBody(req)) as {
          events: { name: string }[];
          broadcaster_user_id: number;
        };
        const data = body.events.map((e) => {
          const id = randomUUID();
          kickSubscriptions.set(id, String(body.broadcaster_user_id));
          return { name: e.name, version: 1, subscription_id: id, error: '' };
        });
        return send(res, 200, { data, message: 'OK' });
      }
      if (req.method === 'DELETE') {
        for (const id of url.searchParams.getAll('id')) kickSubscriptions.delete(id);
        return send(res, 204);
      }
    }
    return send(res, 404, { message: 'Not Found' });
  }

  const start = async (handler: typeof twitch): Promise<http.Server> => {
    const server = http.createServer((req, res) => {
      handler(req, res).catch(() => send(res, 500, { message: 'fake failed' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  const twitchServer = await start(twitch);
  const kickServer = await start(kick);
  const base = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const youtube = await startYoutubeFake();

  return {
    urls: {
      twitchAuth: `${base(twitchServer)}/id`,
      twitchApi: `${base(twitchServer)}/helix`,
      kickAuth: `${base(kickServer)}/id`,
      kickApi: base(kickServer),
      youtubeApi: youtube.url,
    },
    youtube,
    consent(authorizeUrl, account) {
      const url = new URL(authorizeUrl);
      return grantCode(
        url,
        url.pathname.endsWith('/oauth2/authorize') ? 'twitch' : 'kick',
        account,
      );
    },
    twitchSubscriptions,
    twitchPredictions,
    kickSubscriptions,
    setDown(provider, value) {
      down[provider] = value;
    },
    setRefreshRejected(value) {
      refreshRejected = value;
    },
    setTokenLifetimeSeconds(seconds) {
      lifetimeSeconds = seconds;
    },
    async close() {
      await youtube.close();
      await Promise.all(
        [twitchServer, kickServer].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
