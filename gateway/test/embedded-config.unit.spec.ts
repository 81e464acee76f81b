import { describe, expect, it } from 'vitest';
import { ConfigError } from '@streambet/platform/config/load-config';
import { loadEmbeddedConfig } from '../src/config.js';

describe('the embedded runner reads its settings through config.ts', () => {
  it('given an empty environment, then data lives in ./data, the demo runs and logs are at info', () => {
    expect(loadEmbeddedConfig({})).toEqual({
      STREAMBET_MODE: 'embedded',
      DATA_DIR: './data',
      DEMO: 'on',
      LOG_LEVEL: 'info',
    });
  });

  it('given DEMO=off and a data folder, then the runner starts empty in that folder', () => {
    expect(loadEmbeddedConfig({ DEMO: 'off', DATA_DIR: '/var/lib/streambet' })).toMatchObject({
      DATA_DIR: '/var/lib/streambet',
      DEMO: 'off',
    });
  });

  it('given a DEMO value that is neither on nor off, then a ConfigError names DEMO before anything starts', () => {
    let problems: readonly string[] = [];
    try {
      loadEmbeddedConfig({ DEMO: 'maybe', LOG_LEVEL: 'loud' });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems.map((p) => p.name);
    }
    expect(problems).toEqual(['LOG_LEVEL', 'DEMO']);
  });

  it('given STREAMBET_MODE=cluster (a container running npm start by mistake), then a ConfigError names STREAMBET_MODE', () => {
    expect(() => loadEmbeddedConfig({ STREAMBET_MODE: 'cluster' })).toThrow(
      /STREAMBET_MODE: "cluster" is invalid \(must be embedded \(or unset\): npm start runs the embedded platform/,
    );
    expect(loadEmbeddedConfig({ STREAMBET_MODE: 'embedded' }).STREAMBET_MODE).toBe('embedded');
  });
});
