/**
 * The integration service's configuration: embedded runs on the development keys with nothing set;
 * a malformed token key or a too-short EventSub secret is refused naming the variable; fake
 * providers are refused in cluster mode.
 */
import { ConfigError } from '@streambet/platform/config/load-config';
import { describe, expect, it } from 'vitest';
import { loadIntegrationConfig } from '../src/config.js';

const base = {
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 'integration:1' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 'integration:1' }] }),
};
const cluster = {
  ...base,
  STREAMBET_MODE: 'cluster',
  DATABASE_URL: 'postgres://postgres@db:5432/streambet_integration',
  EVENT_BUS: 'redis-streams',
  CACHE: 'redis',
  REDIS_URL: 'redis://redis:6379',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadIntegrationConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.name);
    throw error;
  }
  return [];
}

describe('integration config', () => {
  it('given nothing set in embedded mode, then it loads with the documented defaults', () => {
    const config = loadIntegrationConfig({ ...base, STREAMBET_MODE: 'embedded' });
    expect(config.INTEGRATION_PROVIDERS).toBe('auto');
    expect(config.INTEGRATION_TOKEN_KEY).toBe('');
    expect(config.INTEGRATION_RECONCILE_INTERVAL_MS).toBe(300_000);
    expect(config.INTEGRATION_REDIRECT_URIS).toContain('http://localhost:5173/');
  });

  it('given a token key of the wrong size or a 9-char EventSub secret, then both are named', () => {
    expect(
      problems({
        ...base,
        STREAMBET_MODE: 'embedded',
        INTEGRATION_TOKEN_KEY: Buffer.alloc(16).toString('base64'),
        INTEGRATION_TWITCH_WEBHOOK_SECRET: '123456789',
      }),
    ).toEqual(
      expect.arrayContaining(['INTEGRATION_TOKEN_KEY', 'INTEGRATION_TWITCH_WEBHOOK_SECRET']),
    );
    expect(
      problems({
        ...base,
        STREAMBET_MODE: 'embedded',
        INTEGRATION_TOKEN_KEY: Buffer.alloc(32).toString('base64'),
        INTEGRATION_TWITCH_WEBHOOK_SECRET: '1234567890',
      }),
    ).toEqual([]);
  });

  it('given fake providers in cluster mode, then INTEGRATION_PROVIDERS is refused', () => {
    expect(problems({ ...cluster, INTEGRATION_PROVIDERS: 'fake' })).toContain(
      'INTEGRATION_PROVIDERS',
    );
    expect(problems(cluster)).toEqual([]);
  });
});
