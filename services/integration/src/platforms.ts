/**
 * The platform APIs this service calls, over fetch with a timeout and one circuit breaker per
 * platform: Twitch (OAuth token/refresh/revoke, Helix users and EventSub subscriptions) and Kick
 * (OAuth token with PKCE, public API users and event subscriptions). Base URLs come from config, so
 * tests and the embedded demo point them at the local fakes (`fakes/platform-fakes.ts`).
 *
 * Errors: a platform that is down or answers 5xx counts against its breaker and surfaces as
 * {@link PlatformUnavailableError} (RPCs answer UNAVAILABLE with retry advice); a 4xx on the code
 * exchange is {@link PlatformRejectedError} (INVALID_ARGUMENT: the code was refused).
 */
import {
  createCircuitBreaker,
  isCircuitOpenError,
  type CircuitBreaker,
} from '@streambet/platform/rpc/circuit-breaker';
import type { Clock } from '@streambet/platform/rpc/clock';

/** A JSON or SQL scalar as text; '' (or `fallback`) for anything else. */
function text(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return fallback;
}

/** The platform cannot be reached now (down, 5xx, timeout, or its breaker is open). */
export class PlatformUnavailableError extends Error {
  constructor(
    readonly platform: string,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The platform refused the request (4xx): e.g. an OAuth code already used or expired. */
export class PlatformRejectedError extends Error {
  constructor(
    readonly platform: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** OAuth tokens as a platform returns them. */
export interface PlatformTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAtMs: number;
  readonly scopes: readonly string[];
}

/** The account that authorized: the channel to link. */
export interface PlatformAccount {
  readonly id: string;
  readonly login: string;
  readonly displayName: string;
  readonly profileImageUrl: string;
}

/** A platform event subscription. */
export interface PlatformSubscription {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly broadcasterUserId: string;
  readonly callback: string;
}

/** Settings of {@link createPlatformApis}. */
export interface PlatformApiOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly twitch: {
    readonly authUrl: string;
    readonly apiUrl: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly webhookSecret: string;
  };
  readonly kick: {
    readonly authUrl: string;
    readonly apiUrl: string;
    readonly clientId: string;
    readonly clientSecret: string;
  };
  /** Where platforms deliver webhooks (the gateway's public base URL). */
  readonly webhookBaseUrl: string;
  /** Breaker tuning; default 5 failures, 10 s open. */
  readonly breaker?: { failureThreshold: number; resetTimeoutMs: number };
}

/** The Twitch EventSub types a linked channel is subscribed to (predictions when mirroring). */
export const twitchStreamTypes = ['stream.online', 'stream.offline'] as const;
/** The prediction types, subscribed when mirroring is on. */
export const twitchPredictionTypes = [
  'channel.prediction.begin',
  'channel.prediction.lock',
  'channel.prediction.end',
] as const;

type Json = Record<string, unknown>;

/** Creates the API clients of both platforms. */
export function createPlatformApis(options: PlatformApiOptions) {
  const tuning = options.breaker ?? { failureThreshold: 5, resetTimeoutMs: 10_000 };
  const breakers: Record<'TWITCH' | 'KICK', CircuitBreaker> = {
    TWITCH: createCircuitBreaker('twitch', tuning, { clock: options.clock }),
    KICK: createCircuitBreaker('kick', tuning, { clock: options.clock }),
  };

  async function call(
    platform: 'TWITCH' | 'KICK',
    url: string,
    init: RequestInit,
  ): Promise<{ status: number; body: Json }> {
    let permit;
    try {
      permit = breakers[platform].acquire();
    } catch (error) {
      if (isCircuitOpenError(error)) {
        throw new PlatformUnavailableError(
          platform,
          `${platform} is unavailable (circuit open after repeated failures): retry later`,
          tuning.resetTimeoutMs,
        );
      }
      throw error;
    }
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      permit.report('failure');
      throw new PlatformUnavailableError(
        platform,
        `${platform} did not answer (${(error as Error).message}): retry later`,
        1000,
      );
    }
    if (response.status >= 500 || response.status === 429) {
      permit.report('failure');
      throw new PlatformUnavailableError(
        platform,
        `${platform} answered ${response.status}: retry later`,
        1000,
      );
    }
    permit.report('success');
    const raw = await response.text();
    let body: Json;
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Json);
    } catch {
      body = { message: raw };
    }
    return { status: response.status, body };
  }

  function tokensFrom(platform: string, status: number, body: Json): PlatformTokens {
    if (status >= 400 || typeof body.access_token !== 'string') {
      throw new PlatformRejectedError(
        platform,
        status,
        `${platform} refused the code: ${text(body.message ?? body.error ?? status)}`,
      );
    }
    const scope = body.scope;
    return {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : '',
      expiresAtMs: options.clock.now() + Number(body.expires_in ?? 0) * 1000,
      scopes: Array.isArray(scope)
        ? scope.map(String)
        : typeof scope === 'string'
          ? scope.split(' ').filter((s) => s !== '')
          : [],
    };
  }

  const form = (fields: Record<string, string>): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  const t = options.twitch;
  const k = options.kick;
  let appToken: { token: string; expiresAtMs: number } | undefined;

  async function twitchAppToken(): Promise<string> {
    if (appToken !== undefined && appToken.expiresAtMs > options.clock.now() + 60_000) {
      return appToken.token;
    }
    const { status, body } = await call(
      'TWITCH',
      `${t.authUrl}/oauth2/token`,
      form({
        client_id: t.clientId,
        client_secret: t.clientSecret,
        grant_type: 'client_credentials',
      }),
    );
    const tokens = tokensFrom('TWITCH', status, body);
    appToken = { token: tokens.accessToken, expiresAtMs: tokens.expiresAtMs };
    return tokens.accessToken;
  }

  const helix = async (path: string, init: RequestInit = {}, userToken?: string) =>
    call('TWITCH', `${t.apiUrl}${path}`, {
      ...init,
      headers: {
        'client-id': t.clientId,
        authorization: `Bearer ${userToken ?? (await twitchAppToken())}`,
        'content-type': 'application/json',
        ...(init.headers as Record<string, string> | undefined),
      },
    });

  function subscriptionFrom(raw: unknown): PlatformSubscription {
    const s = raw as Json;
    const condition = (s.condition ?? {}) as Json;
    const transport = (s.transport ?? {}) as Json;
    return {
      id: text(s.id ?? s.subscription_id ?? ''),
      type: text(s.type ?? s.event ?? s.name ?? ''),
      status: text(s.status ?? 'enabled'),
      broadcasterUserId: text(condition.broadcaster_user_id ?? s.broadcaster_user_id ?? ''),
      callback: text(transport.callback ?? ''),
    };
  }

  return {
    breakers,

    twitch: {
      /** The authorize URL for `state` and `redirectUri`. */
      authorizeUrl(state: string, redirectUri: string): string {
        const url = new URL(`${t.authUrl}/oauth2/authorize`);
        url.search = new URLSearchParams({
          response_type: 'code',
          client_id: t.clientId,
          redirect_uri: redirectUri,
          scope: 'channel:read:predictions channel:manage:predictions',
          state,
        }).toString();
        return url.toString();
      },
      async exchangeCode(code: string, redirectUri: string): Promise<PlatformTokens> {
        const { status, body } = await call(
          'TWITCH',
          `${t.authUrl}/oauth2/token`,
          form({
            client_id: t.clientId,
            client_secret: t.clientSecret,
            code,
            grant_type: 'authorization_code',
            redirect_uri: redirectUri,
          }),
        );
        return tokensFrom('TWITCH', status, body);
      },
      async refresh(refreshToken: string): Promise<PlatformTokens> {
        const { status, body } = await call(
          'TWITCH',
          `${t.authUrl}/oauth2/token`,
          form({
            client_id: t.clientId,
            client_secret: t.clientSecret,
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
          }),
        );
        return tokensFrom('TWITCH', status, body);
      },
      async revoke(accessToken: string): Promise<void> {
        await call(
          'TWITCH',
          `${t.authUrl}/oauth2/revoke`,
          form({ client_id: t.clientId, token: accessToken }),
        );
      },
      async me(accessToken: string): Promise<PlatformAccount> {
        const { status, body } = await helix('/users', {}, accessToken);
        const user = (body.data as Json[] | undefined)?.[0];
        if (status >= 400 || user === undefined) {
          throw new PlatformRejectedError(
            'TWITCH',
            status,
            'Twitch did not return the authorizing user',
          );
        }
        return {
          id: text(user.id),
          login: text(user.login),
          displayName: text(user.display_name ?? user.login),
          profileImageUrl: text(user.profile_image_url ?? ''),
        };
      },
      /**
       * Creates a Channel Points prediction (POST /helix/predictions, user token with
       * channel:manage:predictions): its id and outcome ids in order.
       */
      async createPrediction(
        accessToken: string,
        prediction: {
          broadcasterId: string;
          title: string;
          outcomes: readonly string[];
          windowSeconds: number;
        },
      ): Promise<{ id: string; outcomeIds: string[] }> {
        const { status, body } = await helix(
          '/predictions',
          {
            method: 'POST',
            body: JSON.stringify({
              broadcaster_id: prediction.broadcasterId,
              title: prediction.title,
              outcomes: prediction.outcomes.map((title) => ({ title })),
              prediction_window: prediction.windowSeconds,
            }),
          },
          accessToken,
        );
        const data = (body.data as Json[] | undefined)?.[0];
        if (status >= 400 || data === undefined) {
          throw new PlatformRejectedError(
            'TWITCH',
            status,
            `Twitch refused the prediction: ${text(body.message ?? status)}`,
          );
        }
        return {
          id: text(data.id),
          outcomeIds: ((data.outcomes as Json[] | undefined) ?? []).map((o) => text(o.id)),
        };
      },
      /** Locks, resolves or cancels a prediction (PATCH /helix/predictions). */
      async endPrediction(
        accessToken: string,
        change: {
          broadcasterId: string;
          id: string;
          status: 'LOCKED' | 'RESOLVED' | 'CANCELED';
          winningOutcomeId?: string;
        },
      ): Promise<void> {
        const { status, body } = await helix(
          '/predictions',
          {
            method: 'PATCH',
            body: JSON.stringify({
              broadcaster_id: change.broadcasterId,
              id: change.id,
              status: change.status,
              ...(change.winningOutcomeId === undefined
                ? {}
                : { winning_outcome_id: change.winningOutcomeId }),
            }),
          },
          accessToken,
        );
        if (status >= 400) {
          throw new PlatformRejectedError(
            'TWITCH',
            status,
            `Twitch refused to set the prediction ${change.status}: ${text(body.message ?? status)}`,
          );
        }
      },
      async subscribe(type: string, broadcasterUserId: string): Promise<PlatformSubscription> {
        const { status, body } = await helix('/eventsub/subscriptions', {
          method: 'POST',
          body: JSON.stringify({
            type,
            version: '1',
            condition: { broadcaster_user_id: broadcasterUserId },
            transport: {
              method: 'webhook',
              callback: `${options.webhookBaseUrl}/webhooks/twitch`,
              secret: t.webhookSecret,
            },
          }),
        });
        const sub = (body.data as unknown[] | undefined)?.[0];
        if (status >= 400 || sub === undefined) {
          throw new PlatformRejectedError(
            'TWITCH',
            status,
            `Twitch refused the ${type} subscription`,
          );
        }
        return subscriptionFrom(sub);
      },
      async subscriptions(): Promise<PlatformSubscription[]> {
        const out: PlatformSubscription[] = [];
        let cursor = '';
        do {
          const { body } = await helix(
            `/eventsub/subscriptions${cursor === '' ? '' : `?after=${encodeURIComponent(cursor)}`}`,
          );
          for (const sub of (body.data as unknown[] | undefined) ?? [])
            out.push(subscriptionFrom(sub));
          cursor = text(((body.pagination ?? {}) as Json).cursor ?? '');
        } while (cursor !== '');
        return out;
      },
      async unsubscribe(id: string): Promise<void> {
        await helix(`/eventsub/subscriptions?id=${encodeURIComponent(id)}`, { method: 'DELETE' });
      },
    },

    kick: {
      authorizeUrl(state: string, redirectUri: string, codeChallenge: string): string {
        const url = new URL(`${k.authUrl}/oauth/authorize`);
        url.search = new URLSearchParams({
          response_type: 'code',
          client_id: k.clientId,
          redirect_uri: redirectUri,
          scope: 'user:read channel:read events:subscribe',
          code_challenge: codeChallenge,
          code_challenge_method: 'S256',
          state,
        }).toString();
        return url.toString();
      },
      async exchangeCode(
        code: string,
        redirectUri: string,
        codeVerifier: string,
      ): Promise<PlatformTokens> {
        const { status, body } = await call(
          'KICK',
          `${k.authUrl}/oauth/token`,
          form({
            grant_type: 'authorization_code',
            client_id: k.clientId,
            client_secret: k.clientSecret,
            redirect_uri: redirectUri,
            code_verifier: codeVerifier,
            code,
          }),
        );
        return tokensFrom('KICK', status, body);
      },
      async me(accessToken: string): Promise<PlatformAccount> {
        const { status, body } = await call('KICK', `${k.apiUrl}/public/v1/users`, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
        const user = (body.data as Json[] | undefined)?.[0];
        if (status >= 400 || user === undefined) {
          throw new PlatformRejectedError(
            'KICK',
            status,
            'Kick did not return the authorizing user',
          );
        }
        const name = text(user.name ?? user.user_id);
        return {
          id: text(user.user_id),
          login: name.toLowerCase(),
          displayName: name,
          profileImageUrl: text(user.profile_picture ?? ''),
        };
      },
      async subscribe(
        accessToken: string,
        broadcasterUserId: string,
      ): Promise<PlatformSubscription[]> {
        const { status, body } = await call('KICK', `${k.apiUrl}/public/v1/events/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            broadcaster_user_id: Number(broadcasterUserId),
            events: [{ name: 'livestream.status.updated', version: 1 }],
            method: 'webhook',
          }),
        });
        if (status >= 400) {
          throw new PlatformRejectedError('KICK', status, 'Kick refused the event subscription');
        }
        return ((body.data as Json[] | undefined) ?? []).map((s) => ({
          id: text(s.subscription_id ?? ''),
          type: text(s.name ?? 'livestream.status.updated'),
          status: 'enabled',
          broadcasterUserId,
          callback: '',
        }));
      },
      async unsubscribe(accessToken: string, id: string): Promise<void> {
        await call(
          'KICK',
          `${k.apiUrl}/public/v1/events/subscriptions?id=${encodeURIComponent(id)}`,
          {
            method: 'DELETE',
            headers: { authorization: `Bearer ${accessToken}` },
          },
        );
      },
    },
  };
}

/** The platform API clients. */
export type PlatformApis = ReturnType<typeof createPlatformApis>;
