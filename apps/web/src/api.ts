/**
 * The app's Connect clients: one Connect-Web transport to the gateway on the same origin (the
 * gateway serves this app, so no CORS), with an interceptor that adds the in-memory access token.
 */
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';

/** Every public API the viewer app calls, behind one transport. */
export interface Api {
  readonly users: Client<typeof UserService>;
  readonly pool: Client<typeof PoolService>;
  readonly bets: Client<typeof BetEngineService>;
  readonly channels: Client<typeof IntegrationService>;
}

/**
 * Builds the clients. `accessToken` is read on every call, so a refreshed token is used at once
 * and a logged-out app calls anonymously.
 */
export function createApi(baseUrl: string, accessToken: () => string | undefined): Api {
  const auth: Interceptor = (next) => async (req) => {
    const token = accessToken();
    if (token !== undefined && !req.header.has('authorization')) {
      req.header.set('authorization', `Bearer ${token}`);
    }
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl, interceptors: [auth] });
  return {
    users: createClient(UserService, transport),
    pool: createClient(PoolService, transport),
    bets: createClient(BetEngineService, transport),
    channels: createClient(IntegrationService, transport),
  };
}
