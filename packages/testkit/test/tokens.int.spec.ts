import { describe, expect, it } from 'vitest';
import {
  createServiceTokenVerifier,
  createUserTokenVerifier,
} from '@streambet/platform/auth/tokens';
import { createTestTokens, testTokenAudience, testTokenIssuer } from '../src/tokens.js';

describe('test tokens', () => {
  it('given a test user token, then the platform verifier accepts it with its subject and role', async () => {
    const tokens = await createTestTokens();
    const verify = createUserTokenVerifier({
      jwks: tokens.userJwks,
      issuer: testTokenIssuer,
      audience: testTokenAudience,
    });
    expect(await verify(await tokens.userToken('u-1', 'streamer'))).toEqual({
      kind: 'user',
      userId: 'u-1',
      role: 'streamer',
    });
  });

  it('given a test service credential, then the platform service verifier accepts it, and another key set refuses it', async () => {
    const tokens = await createTestTokens();
    const other = await createTestTokens();
    const publicJwks = tokens.serviceJwks;
    const verify = createServiceTokenVerifier({ publicJwks });
    expect(await verify(await tokens.serviceToken('bet-engine'))).toEqual({
      kind: 'service',
      service: 'bet-engine',
    });
    await expect(verify(await other.serviceToken('bet-engine'))).rejects.toThrow();
  });
});
