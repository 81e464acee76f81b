import { describe, expect, it } from 'vitest';
import { ConfigError } from '@streambet/platform/config/load-config';
import { loadGatewayConfig } from '../src/config.js';

describe('the gateway in cluster mode', () => {
  it('given no STREAMBET_MODE (cluster) and the memory cache, set or defaulted, then a ConfigError names CACHE', () => {
    for (const env of [{}, { CACHE: 'memory' }, { STREAMBET_MODE: 'cluster', CACHE: 'memory' }]) {
      let problems: string[] = [];
      try {
        loadGatewayConfig(env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems.map((p) => `${p.name}: ${p.problem}`);
      }
      expect(problems).toEqual([
        expect.stringMatching(/^CACHE: is memory .* but STREAMBET_MODE=cluster/),
      ]);
    }
  });

  it('given cluster mode with the Redis cache, or embedded mode with the memory cache, then the config loads', () => {
    expect(loadGatewayConfig({ CACHE: 'redis' }).STREAMBET_MODE).toBe('cluster');
    expect(loadGatewayConfig({ STREAMBET_MODE: 'embedded' }).CACHE).toBe('memory');
  });
});
