// `npm run keys`: fresh keys and secrets for running the services as separate processes, printed
// as shell exports. SERVICE_TOKEN_*: service credentials (one shared pair is fine on one machine;
// production gives each service its own private key and lists every public key). USER_TOKEN_*:
// the user service's access-token signing key. The two secrets are for the user service.
import { randomBytes } from 'node:crypto';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';

const service = await generateSigningKeyPair();
const user = await generateSigningKeyPair();
const quote = (value: unknown): string =>
  `'${(typeof value === 'string' ? value : JSON.stringify(value)).replaceAll("'", "'\\''")}'`;
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
