// `npm run keys`: fresh keys and secrets for running the services as separate processes, printed
// as shell exports. SERVICE_TOKEN_*: service credentials (one shared pair is fine on one machine;
// production gives each service its own private key and lists every public key). USER_TOKEN_*:
// the user service's access-token signing key. The two secrets are for the user service.
// `npm run keys -- rotate-user-token`, with the current USER_TOKEN_PRIVATE_JWK in the environment,
// prints the three deployments that replace it without invalidating a token (user-key-rotation.ts).
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
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

const service = await generateSigningKeyPair();
const user = await generateSigningKeyPair();
process.stdout.write(
  [
    `export SERVICE_TOKEN_PRIVATE_JWK=${quote(service.privateJwk)}`,
    `export SERVICE_TOKEN_PUBLIC_JWKS=${quote(service.publicJwks)}`,
    `export USER_TOKEN_PRIVATE_JWK=${quote(user.privateJwk)}`,
    `export KYC_WEBHOOK_SECRET=${quote(randomBytes(24).toString('base64url'))}`,
    `export DEVICE_ID_HASH_KEY=${quote(randomBytes(24).toString('base64url'))}`,
    '',
  ].join('\n'),
);
