import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configMarkdownTable,
  configSchemas,
  defineConfig,
  describeConfig,
  loadConfig,
} from '../../src/config/load-config.js';

const spec = defineConfig({
  PORT: {
    schema: configSchemas.port(),
    default: '8080',
    description: 'TCP port to listen on, 0-65535',
  },
  DATABASE_URL: {
    schema: configSchemas.url(['postgres:', 'postgresql:']),
    description: 'PostgreSQL URL of the service database',
    secret: true,
  },
  LOG_LEVEL: {
    schema: configSchemas.oneOf(['debug', 'info', 'warn', 'error']),
    default: 'info',
    description: 'minimum log level',
  },
  USE_REDIS: {
    schema: configSchemas.boolean(),
    default: 'false',
    description: 'use Redis instead of in-process cache',
  },
  KAFKA_BROKERS: {
    schema: configSchemas.list(),
    default: '',
    description: 'comma-separated Kafka brokers',
  },
});

describe('loadConfig', () => {
  it('given valid values and defaults, when loaded, then returns a frozen typed object', () => {
    const config = loadConfig(spec, {
      DATABASE_URL: 'postgres://u@h/db',
      USE_REDIS: 'FALSE',
      KAFKA_BROKERS: 'a:1, b:2',
    });
    expect(config).toEqual({
      PORT: 8080,
      DATABASE_URL: 'postgres://u@h/db',
      LOG_LEVEL: 'info',
      USE_REDIS: false,
      KAFKA_BROKERS: ['a:1', 'b:2'],
    });
    expect(Object.isFrozen(config)).toBe(true);
    const port: number = config.PORT;
    expect(port).toBe(8080);
  });

  it('given an empty value, when loaded, then the default applies', () => {
    expect(loadConfig(spec, { DATABASE_URL: 'postgres://h/db', PORT: '' }).PORT).toBe(8080);
  });

  it('given a bad value and a missing one, when loaded, then one error names every variable and what is expected', () => {
    let error: unknown;
    try {
      loadConfig(spec, { PORT: 'eighty', LOG_LEVEL: 'loud', USE_REDIS: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems.map((p) => p.name)).toEqual([
      'PORT',
      'DATABASE_URL',
      'LOG_LEVEL',
      'USE_REDIS',
    ]);
    const lines = configError.message.split('\n');
    expect(lines[0]).toBe('invalid configuration (4 variables):');
    expect(lines[1]).toMatch(
      /^ {2}PORT: "eighty" is invalid \(must be a whole number\); expected TCP port/,
    );
    expect(lines[2]).toBe(
      '  DATABASE_URL: is not set; expected PostgreSQL URL of the service database',
    );
    expect(lines[3]).toMatch(
      /LOG_LEVEL: "loud" is invalid \(must be one of debug, info, warn, error\)/,
    );
    expect(lines[4]).toMatch(/USE_REDIS: "maybe" is invalid \(must be true or false\)/);
  });

  it('given a bad secret, when loaded, then its value is not echoed', () => {
    expect(() => loadConfig(spec, { DATABASE_URL: 'mysql://root:hunter2@h/db' })).toThrow(
      /DATABASE_URL: \(value hidden\) is invalid \(must be a URL with scheme postgres: or postgresql:\)/,
    );
    expect(() => loadConfig(spec, { DATABASE_URL: 'mysql://root:hunter2@h/db' })).not.toThrow(
      /hunter2/,
    );
  });

  it('given a port out of range, when loaded, then the message says the range', () => {
    expect(() => loadConfig(spec, { DATABASE_URL: 'postgres://h/db', PORT: '70000' })).toThrow(
      /PORT: "70000" is invalid \(must be 0-65535\)/,
    );
  });

  it('describes the spec for the README table', () => {
    expect(describeConfig(spec)).toEqual([
      { name: 'PORT', default: '8080', description: 'TCP port to listen on, 0-65535' },
      {
        name: 'DATABASE_URL',
        default: '(required)',
        description: 'PostgreSQL URL of the service database',
      },
      { name: 'LOG_LEVEL', default: 'info', description: 'minimum log level' },
      { name: 'USE_REDIS', default: 'false', description: 'use Redis instead of in-process cache' },
      { name: 'KAFKA_BROKERS', default: '', description: 'comma-separated Kafka brokers' },
    ]);
    expect(configMarkdownTable(spec)).toContain(
      '| `PORT` | `8080` | TCP port to listen on, 0-65535 |',
    );
  });
});
