import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { JSONWebKeySet } from 'jose';
import {
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  generateServiceKeys,
  generateSigningKeyPair,
  serviceKeyId,
} from '@streambet/platform/auth/tokens';
import { loadRealtimeConfig } from '@streambet/realtime/config';
import { manualClock } from '@streambet/testkit/clock';
import { nextServiceKeyVersion, serviceKeyRotation } from '../service-key-rotation.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Whether a token of `service` signed with `privateJwk` is accepted by a verifier of `jwks`. */
async function accepted(
  jwks: JSONWebKeySet,
  service: string,
  privateJwk: Parameters<typeof createServiceTokenIssuer>[0]['privateJwk'],
): Promise<boolean> {
  const clock = manualClock();
  const token = await createServiceTokenIssuer({ privateJwk, service, clock })();
  try {
    const caller = await createServiceTokenVerifier({ publicJwks: jwks, clock })(token);
    return caller.service === service;
  } catch {
    return false;
  }
}

describe('npm run keys -- rotate-service-key <service>', () => {
  it('given pool:1 in the JWKS, then pool:2 is listed everywhere, then signs, then pool:1 is no longer accepted; no step refuses a live token', async () => {
    const current = await generateServiceKeys(['pool', 'settlement']);
    const next = await generateSigningKeyPair(serviceKeyId('pool', 2));
    const rotation = serviceKeyRotation('pool', current.publicJwks, next);
    expect(rotation.keyId).toBe('pool:2');
    expect(rotation.steps.map((step) => step.deployTo)).toEqual([
      'every service',
      'pool',
      'every service',
    ]);

    // What every verifier accepts at each step (each step's JWKS, the previous one's where the
    // step sets none), for pool's old and new key and for another service's key.
    let jwks = current.publicJwks;
    let poolSigns = current.privateJwks.pool!;
    const table = [];
    for (const step of rotation.steps) {
      if (step.env.SERVICE_TOKEN_PUBLIC_JWKS !== undefined) {
        jwks = JSON.parse(step.env.SERVICE_TOKEN_PUBLIC_JWKS) as JSONWebKeySet;
      }
      if (step.env.SERVICE_TOKEN_PRIVATE_JWK !== undefined) {
        poolSigns = JSON.parse(step.env.SERVICE_TOKEN_PRIVATE_JWK) as typeof poolSigns;
      }
      table.push({
        poolSignsWith: poolSigns.kid,
        oldPoolKey: await accepted(jwks, 'pool', current.privateJwks.pool!),
        newPoolKey: await accepted(jwks, 'pool', next.privateJwk),
        settlement: await accepted(jwks, 'settlement', current.privateJwks.settlement!),
      });
    }
    expect(table).toEqual([
      { poolSignsWith: 'pool:1', oldPoolKey: true, newPoolKey: true, settlement: true },
      { poolSignsWith: 'pool:2', oldPoolKey: true, newPoolKey: true, settlement: true },
      { poolSignsWith: 'pool:2', oldPoolKey: false, newPoolKey: true, settlement: true },
    ]);
  });

  it('given each step, then a service reads it as valid config', async () => {
    const current = await generateServiceKeys(['realtime', 'pool']);
    const next = await generateSigningKeyPair('realtime:2');
    const rotation = serviceKeyRotation('realtime', current.publicJwks, next);
    let env: Record<string, string> = {
      STREAMBET_MODE: 'embedded',
      SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(current.privateJwks.realtime),
      SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(current.publicJwks),
    };
    const seen = [];
    for (const step of rotation.steps) {
      env = { ...env, ...step.env };
      const config = loadRealtimeConfig(env);
      seen.push({
        signs: config.SERVICE_TOKEN_PRIVATE_JWK.kid,
        accepts: config.SERVICE_TOKEN_PUBLIC_JWKS.keys.map((key) => key.kid).sort(),
      });
    }
    expect(seen).toEqual([
      { signs: 'realtime:1', accepts: ['pool:1', 'realtime:1', 'realtime:2'] },
      { signs: 'realtime:2', accepts: ['pool:1', 'realtime:1', 'realtime:2'] },
      { signs: 'realtime:2', accepts: ['pool:1', 'realtime:2'] },
    ]);
  });

  it('given a JWKS after earlier rotations, then the next version follows the highest, and a service without a key is refused', async () => {
    const keys = await generateServiceKeys(['pool'], 3);
    const other = await generateServiceKeys(['pool-admin'], 9);
    const jwks = { keys: [...keys.publicJwks.keys, ...other.publicJwks.keys] };
    expect(nextServiceKeyVersion(jwks, 'pool')).toBe(4);
    expect(() => nextServiceKeyVersion(jwks, 'settlement')).toThrow(/lists no key of "settlement"/);
    const wrong = await generateSigningKeyPair('pool:7');
    expect(() => serviceKeyRotation('pool', jwks, wrong)).toThrow(/must have key id pool:4/);
  });

  it('given the command line, then it prints the three steps with the next key id, and refuses an unknown service', async () => {
    const current = await generateServiceKeys(['bet-engine', 'user']);
    const env = {
      ...process.env,
      SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(current.publicJwks),
    };
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    const { stdout } = await run(tsx, ['scripts/keys.ts', 'rotate-service-key', 'bet-engine'], {
      cwd: root,
      env,
    });
    expect(stdout.match(/^# Step \d/gm)).toEqual(['# Step 1', '# Step 2', '# Step 3']);
    expect(stdout).toContain('"kid":"bet-engine:2"');
    const unknown = await run(tsx, ['scripts/keys.ts', 'rotate-service-key', 'gateway'], {
      cwd: root,
      env,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(unknown?.code).toBe(64);
    expect(unknown?.stderr).toContain('usage: npm run keys -- rotate-service-key <service>');
  }, 30_000);
});
