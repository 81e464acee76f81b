import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Environment } from '../../src/config/load-config.js';
import { checkPlatformConfig, platformConfigSpec } from '../../src/runtime/platform-config.js';

/** The service keys every service requires (their shape only; nothing is signed here). */
const keys = {
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 'k1' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 'k1' }] }),
};

/** A cluster deployment's variables, all of them set. */
const cluster = {
  ...keys,
  DATABASE_URL: 'postgres://pool@db:5432/streambet_pool',
  EVENT_BUS: 'kafka',
  KAFKA_BROKERS: 'kafka:9092',
  CACHE: 'redis',
  REDIS_URL: 'redis://redis:6379',
};

function load(env: Environment) {
  return checkPlatformConfig(loadConfig(platformConfigSpec('pool'), env));
}

/** The variables a ConfigError names, with their problems, or [] when the config loads. */
function problemsOf(env: Environment): Array<[string, string]> {
  try {
    load(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => [p.name, p.problem]);
  }
}

describe('STREAMBET_MODE', () => {
  it('given nothing about the mode, then it is cluster: the side that refuses embedded fallbacks', () => {
    expect(load(cluster).STREAMBET_MODE).toBe('cluster');
  });

  it('given cluster mode and an empty DATABASE_URL, then a ConfigError names DATABASE_URL (no silent PGlite)', () => {
    expect(problemsOf({ ...cluster, DATABASE_URL: '' })).toEqual([
      [
        'DATABASE_URL',
        'is not set but STREAMBET_MODE=cluster (embedded PGlite is for STREAMBET_MODE=embedded only)',
      ],
    ]);
  });

  it('given cluster mode and the memory bus, set or defaulted, then a ConfigError names EVENT_BUS', () => {
    for (const env of [
      { ...cluster, EVENT_BUS: 'memory' },
      { ...cluster, EVENT_BUS: undefined },
    ]) {
      expect(problemsOf(env).map(([name]) => name)).toEqual(['EVENT_BUS']);
    }
    expect(problemsOf({ ...cluster, EVENT_BUS: 'redis-streams' })).toEqual([]);
  });

  it('given cluster mode and the memory cache, set or defaulted, then a ConfigError names CACHE', () => {
    for (const env of [
      { ...cluster, CACHE: 'memory' },
      { ...cluster, CACHE: undefined },
    ]) {
      expect(problemsOf(env).map(([name]) => name)).toEqual(['CACHE']);
    }
  });

  it('given cluster mode and none of the real dependencies, then one line names each of them', () => {
    let message = '';
    try {
      load({ ...keys, STREAMBET_MODE: 'cluster' });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      message = error.message;
    }
    expect(message.split('\n')).toEqual([
      'invalid configuration (3 variables):',
      expect.stringMatching(/^ {2}DATABASE_URL: is not set but STREAMBET_MODE=cluster/),
      expect.stringMatching(/^ {2}EVENT_BUS: is memory .*; expected redis-streams .* or kafka/),
      expect.stringMatching(/^ {2}CACHE: is memory .*; expected redis \(with REDIS_URL\)$/),
    ]);
  });

  it('given embedded mode, then PGlite, the memory bus and the memory cache are allowed as before', () => {
    const config = load({ ...keys, STREAMBET_MODE: 'embedded' });
    expect(config).toMatchObject({
      STREAMBET_MODE: 'embedded',
      DATABASE_URL: '',
      EVENT_BUS: 'memory',
      CACHE: 'memory',
    });
  });

  it('given a mode that is neither cluster nor embedded, then a ConfigError names STREAMBET_MODE', () => {
    expect(problemsOf({ ...cluster, STREAMBET_MODE: 'production' })).toEqual([
      ['STREAMBET_MODE', '"production" is invalid (must be one of cluster, embedded)'],
    ]);
  });
});
