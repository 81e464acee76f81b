// `npm run keys`: fresh keys and secrets for running the services as separate processes, printed
// as shell exports. SERVICE_TOKEN_PRIVATE_JWK_<SERVICE>: each service's own credential key (key id
// `<service>:1`; give a service only its own, as SERVICE_TOKEN_PRIVATE_JWK: a token is accepted only
// under a key id of the service it names). SERVICE_TOKEN_PUBLIC_JWKS: every public key. USER_TOKEN_*:
// the user service's access-token signing key. The two secrets are for the user service.
// `npm run keys -- rotate-user-token`, with the current USER_TOKEN_PRIVATE_JWK in the environment,
// prints the three deployments that replace it without invalidating a token (user-key-rotation.ts).
// `npm run keys -- rotate-service-key <service>`, with the SERVICE_TOKEN_PUBLIC_JWKS in use now in the
// environment, prints the three deployments that give <service> the key `<service>:<n+1>` without
// refusing an internal call (service-key-rotation.ts).
import { randomBytes } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';
import { generateServiceKeys, generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { nextServiceKeyVersion, serviceKeyRotation } from './service-key-rotation.js';
import { userKeyRotation } from './user-key-rotation.js';

const quote = (value: unknown): string =>
  `'${(typeof value === 'string' ? value : JSON.stringify(value)).replaceAll("'", "'\\''")}'`;

if (process.argv.includes('rotate-user-token')) {
  const current = process.env.USER_TOKEN_PRIVATE_JWK ?? '';
  if (current === '') {
    process.stderr.write('set USER_TOKEN_PRIVATE_JWK to the key in use now, then run this again\n');
    process.exit(78);
  }
  const steps = userKeyRotation(JSON.parse(current) as JWK, await generateSigningKeyPair());
  process.stdout.write(
    steps
      .map(
        (step, i) =>
          `# Step ${i + 1} (${step.when})\n` +
          Object.entries(step.env)
            .map(([name, value]) => `export ${name}=${quote(value)}`)
            .join('\n'),
      )
      .join('\n\n') + '\n',
  );
  process.exit(0);
}

const rotateService = process.argv.indexOf('rotate-service-key');
if (rotateService !== -1) {
  const service = process.argv[rotateService + 1] ?? '';
  const signers = Object.keys(servicePorts).filter((name) => name !== 'gateway');
  if (!signers.includes(service)) {
    process.stderr.write(
      `usage: npm run keys -- rotate-service-key <service>, one of ${signers.join(', ')}\n`,
    );
    process.exit(64);
  }
  const current = process.env.SERVICE_TOKEN_PUBLIC_JWKS ?? '';
  if (current === '') {
    process.stderr.write(
      'set SERVICE_TOKEN_PUBLIC_JWKS to the JWKS deployed now, then run this again\n',
    );
    process.exit(78);
  }
  try {
    const jwks = JSON.parse(current) as JSONWebKeySet;
    const next = await generateSigningKeyPair(`${service}:${nextServiceKeyVersion(jwks, service)}`);
    const rotation = serviceKeyRotation(service, jwks, next);
    process.stdout.write(
      rotation.steps
        .map(
          (step, i) =>
            `# Step ${i + 1} (${step.when}; deploy to: ${step.deployTo})\n` +
            Object.entries(step.env)
              .map(([name, value]) => `export ${name}=${quote(value)}`)
              .join('\n'),
        )
        .join('\n\n') + '\n',
    );
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(65);
  }
}

// The gateway makes no internal calls of its own: it gets no key.
const services = await generateServiceKeys(
  Object.keys(servicePorts).filter((name) => name !== 'gateway'),
);
const user = await generateSigningKeyPair();
process.stdout.write(
  [
    ...Object.entries(services.privateJwks).map(
      ([name, jwk]) => `export ${privateKeyVariable(name)}=${quote(jwk)}`,
    ),
    `export SERVICE_TOKEN_PUBLIC_JWKS=${quote(services.publicJwks)}`,
    `export USER_TOKEN_PRIVATE_JWK=${quote(user.privateJwk)}`,
    `export KYC_WEBHOOK_SECRET=${quote(randomBytes(24).toString('base64url'))}`,
    `export DEVICE_ID_HASH_KEY=${quote(randomBytes(24).toString('base64url'))}`,
    '',
  ].join('\n'),
);

/** `SERVICE_TOKEN_PRIVATE_JWK_BET_ENGINE` for `bet-engine`: pass it to that service as SERVICE_TOKEN_PRIVATE_JWK. */
function privateKeyVariable(service: string): string {
  return `SERVICE_TOKEN_PRIVATE_JWK_${service.toUpperCase().replaceAll('-', '_')}`;
}
