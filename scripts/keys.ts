// `npm run keys`: a fresh Ed25519 key pair for service credentials, printed as shell exports.
// Every service gets SERVICE_TOKEN_PUBLIC_JWKS; each gets a SERVICE_TOKEN_PRIVATE_JWK (one shared
// key is fine for a single machine; production gives each service its own and lists all publics).
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';

const pair = await generateSigningKeyPair();
const quote = (value: unknown): string => `'${JSON.stringify(value).replaceAll("'", "'\\''")}'`;
process.stdout.write(
  `export SERVICE_TOKEN_PRIVATE_JWK=${quote(pair.privateJwk)}\n` +
    `export SERVICE_TOKEN_PUBLIC_JWKS=${quote(pair.publicJwks)}\n`,
);
