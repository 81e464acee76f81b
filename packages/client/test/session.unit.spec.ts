import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createRouterTransport } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { UserSchema } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  GetProfileResponseSchema,
  LogoutResponseSchema,
  RefreshResponseSchema,
  TokenPairSchema,
  UserService,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  createSessionController,
  createViewerClient,
  decodeSession,
  encodeSession,
  keyValueSessionStorage,
  type Session,
  type SessionControllerDeps,
} from '@streambet/client';

const startMs = 1_800_000_000_000;

function session(accessToken: string, expiresInMs = 600_000): Session {
  return {
    user: create(UserSchema, { userId: 'u1', displayName: 'Bia' }),
    tokens: create(TokenPairSchema, {
      accessToken,
      accessTokenExpiresAtMs: BigInt(startMs + expiresInMs),
      refreshToken: `refresh-of-${accessToken}`,
    }),
  };
}

/** A controllable clock and timer queue (the controller takes both as dependencies). */
function manualTime() {
  let nowMs = startMs;
  const timers = new Map<number, { at: number; run: () => void }>();
  let nextId = 1;
  return {
    now: () => nowMs,
    setTimer: (run: () => void, delayMs: number) => {
      const id = nextId++;
      timers.set(id, { at: nowMs + delayMs, run });
      return id;
    },
    clearTimer: (id: unknown) => {
      timers.delete(id as number);
    },
    /** Moves the clock to the next timer and runs it; returns its delay from the previous now. */
    runNext(): number {
      const [id, timer] = [...timers].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || timer === undefined) throw new Error('no timer pending');
      const waited = timer.at - nowMs;
      nowMs = timer.at;
      timers.delete(id);
      timer.run();
      return waited;
    },
    pending: () => timers.size,
  };
}

function usersAnswering(
  refresh: (refreshToken: string) => Promise<MessageInitShape<typeof RefreshResponseSchema>>,
) {
  const logouts: string[] = [];
  const users: SessionControllerDeps['users'] = {
    refresh: async (req) => create(RefreshResponseSchema, await refresh(req.refreshToken ?? '')),
    logout: (req) => {
      logouts.push(req.refreshToken ?? '');
      return Promise.resolve(create(LogoutResponseSchema));
    },
  };
  return { users, logouts };
}

/** Resolves once every queued promise callback ran. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the session controller', () => {
  it('given a role granted since sign-in, when the app renews, then the tokens rotate once and the user carries the role', async () => {
    const time = manualTime();
    const refreshed: string[] = [];
    let answer: (res: MessageInitShape<typeof RefreshResponseSchema>) => void = () => undefined;
    const { users } = usersAnswering((refreshToken) => {
      refreshed.push(refreshToken);
      return refreshed.length === 1
        ? new Promise((resolve) => (answer = resolve))
        : Promise.resolve({ tokens: session('access-3').tokens });
    });
    const profileTokens: string[] = [];
    const controller = createSessionController({
      users: {
        ...users,
        getProfile: (_req, options) => {
          // The controller passes a plain header record with the new access token.
          const headers = options?.headers as Readonly<Record<string, string>> | undefined;
          profileTokens.push(headers?.authorization ?? '');
          return Promise.resolve(
            create(GetProfileResponseSchema, {
              user: { userId: 'u1', displayName: 'Bia', roles: [Role.VIEWER, Role.STREAMER] },
            }),
          );
        },
      },
      ...time,
    });
    controller.signIn(session('access-1'));
    // The timer's rotation is in flight when the app asks to renew: renew waits for it rather
    // than sending the same (single-use) refresh token a second time.
    time.runNext();
    const renewed = controller.renew();
    answer({ tokens: session('access-2').tokens });
    await renewed;
    expect(refreshed).toEqual(['refresh-of-access-1', 'refresh-of-access-2']);
    expect(profileTokens).toEqual(['Bearer access-3']);
    expect(controller.accessToken()).toBe('access-3');
    expect(controller.getSnapshot().session?.user.roles).toContain(Role.STREAMER);
    expect(time.pending()).toBe(1);
  });

  it('given a sign-in, then the access token is rotated 30 s before it expires, and listeners see each change', async () => {
    const time = manualTime();
    const refreshed: string[] = [];
    const { users } = usersAnswering((refreshToken) => {
      refreshed.push(refreshToken);
      return Promise.resolve({ tokens: session('access-2').tokens });
    });
    const controller = createSessionController({ users, ...time });
    let changes = 0;
    controller.subscribe(() => (changes += 1));

    controller.signIn(session('access-1'));
    expect(controller.accessToken()).toBe('access-1');
    expect(time.runNext()).toBe(570_000);
    await settle();

    expect(refreshed).toEqual(['refresh-of-access-1']);
    expect(controller.accessToken()).toBe('access-2');
    expect(controller.getSnapshot().session?.user.displayName).toBe('Bia');
    expect(changes).toBe(2);
    expect(time.pending()).toBe(1);
  });

  it('given a refused refresh, then the session ends with a notice and no timer is left', async () => {
    const time = manualTime();
    const { users } = usersAnswering(() =>
      Promise.reject(new ConnectError('refresh token reused', Code.Unauthenticated)),
    );
    const controller = createSessionController({ users, ...time });
    controller.signIn(session('access-1'));
    time.runNext();
    await settle();
    expect(controller.getSnapshot()).toEqual({
      session: undefined,
      notice: 'Your session ended; log in again.',
    });
    expect(controller.accessToken()).toBeUndefined();
    expect(time.pending()).toBe(0);
  });

  it('given a sign-out while a refresh is in flight, then the late answer does not sign the viewer back in', async () => {
    const time = manualTime();
    let answer: (res: MessageInitShape<typeof RefreshResponseSchema>) => void = () => undefined;
    const { users, logouts } = usersAnswering(() => new Promise((resolve) => (answer = resolve)));
    const controller = createSessionController({ users, ...time });
    controller.signIn(session('access-1'));
    time.runNext();
    controller.signOut();
    answer({ tokens: session('access-2').tokens });
    await settle();
    expect(controller.getSnapshot().session).toBeUndefined();
    expect(logouts).toEqual(['refresh-of-access-1']);
  });

  it('given a key-value store, then the session survives a restart and a stale token is refreshed at once', async () => {
    const values = new Map<string, string>();
    const store = {
      getItem: (key: string) => values.get(key) ?? null,
      setItem: (key: string, value: string) => void values.set(key, value),
      removeItem: (key: string) => void values.delete(key),
    };
    const first = createSessionController({
      users: usersAnswering(() => Promise.reject(new Error('unused'))).users,
      storage: keyValueSessionStorage(store),
      ...manualTime(),
    });
    first.signIn(session('access-1', 10_000));
    await settle();
    expect([...values.keys()]).toEqual(['streambet.session']);

    const time = manualTime();
    const second = createSessionController({
      users: usersAnswering(() => Promise.resolve({ tokens: session('access-2').tokens })).users,
      storage: keyValueSessionStorage(store),
      ...time,
    });
    await second.restore();
    expect(second.accessToken()).toBe('access-1');
    expect(time.runNext()).toBe(0);
    await settle();
    expect(second.accessToken()).toBe('access-2');
    expect(decodeSession(values.get('streambet.session')!)?.tokens.accessToken).toBe('access-2');
  });

  it('given an encoded session, then it decodes to the same user and tokens; junk decodes to undefined', () => {
    const original = session('access-1');
    const decoded = decodeSession(encodeSession(original));
    expect(decoded?.user.userId).toBe('u1');
    expect(decoded?.tokens.accessTokenExpiresAtMs).toBe(original.tokens.accessTokenExpiresAtMs);
    expect(decodeSession('not json')).toBeUndefined();
    expect(decodeSession('{"user":1}')).toBeUndefined();
  });
});

describe('createViewerClient', () => {
  it('given a signed-in session, then calls carry its bearer token; signed out, they are anonymous', async () => {
    const seen: Array<string | null> = [];
    const client = createViewerClient({
      transport: (interceptors) =>
        createRouterTransport(
          ({ service }) => {
            service(UserService, {
              getWallet(_req, context) {
                seen.push(context.requestHeader.get('authorization'));
                return { balances: [] };
              },
            });
          },
          { transport: { interceptors } },
        ),
    });
    await client.api.users.getWallet({});
    client.session.signIn(session('access-1'));
    await client.api.users.getWallet({});
    client.session.dispose();
    expect(seen).toEqual([null, 'Bearer access-1']);
  });
});
