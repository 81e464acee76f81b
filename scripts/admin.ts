// `npm run -s admin -- grant <email> [--reason "…"]` makes an account an admin;
// `npm run -s admin -- revoke <email> --reason "…"` takes the role away. This is how the operator
// makes the FIRST admin (no admin exists yet to do it from the console); later admins are made in
// the console (Users → roles), which calls the same RPC with an admin's token.
//
// It calls the running user service's UserService.SetUserRole with the user service's OWN service
// credential (the only service key SetUserRole accepts), so the change goes through the service's
// rules and outbox like any other: UserRoleGranted / UserRoleRevoked with the reason, actor role
// ROLE_SERVICE (the operator), lands in the audit log. Where the credential comes from:
// - cluster: SERVICE_TOKEN_PRIVATE_JWK = the user service's private key (its Kubernetes secret),
//   USER_SERVICE_URL = the user service (e.g. a port-forward: http://127.0.0.1:7001);
// - embedded (`npm start` running): the user key in DATA_DIR/keys.json (default ./data), and the
//   user service on its default port 7001. The platform must be running (PGlite is one process).
// The reason defaults to "first admin, by operator <login>@<host>"; the operator's login and host
// are always appended to the reason, so the audit log names the person behind the command.
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { createServiceTokenIssuer } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import type { JWK } from 'jose';

const usage =
  'usage: npm run -s admin -- grant <email> [--reason "why"]\n' +
  '       npm run -s admin -- revoke <email> --reason "why"\n';

/** Exits with `code`: 64 (usage), 69 (service unreachable or refused), 78 (configuration). */
function fail(message: string, code = 64): never {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

function parse(argv: readonly string[]): { grant: boolean; email: string; reason: string } {
  const [command, email, ...rest] = argv;
  if ((command !== 'grant' && command !== 'revoke') || email === undefined || !email.includes('@'))
    fail(usage);
  let reason = '';
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (rest[i] !== '--reason' || value === undefined) fail(`unknown option ${rest[i]}\n${usage}`);
    reason = value.trim();
  }
  if (command === 'revoke' && reason === '') fail(`revoke needs --reason\n${usage}`);
  const operator = `${userInfo().username}@${hostname()}`;
  const text =
    reason === '' ? `first admin, by operator ${operator}` : `${reason} (operator ${operator})`;
  return {
    grant: command === 'grant',
    email: email.trim().toLowerCase(),
    reason: text.slice(0, 500),
  };
}

/** The user service's private key: SERVICE_TOKEN_PRIVATE_JWK, else DATA_DIR/keys.json. */
async function userServiceKey(): Promise<JWK> {
  const fromEnv = process.env.SERVICE_TOKEN_PRIVATE_JWK ?? '';
  if (fromEnv !== '') {
    try {
      return JSON.parse(fromEnv) as JWK;
    } catch {
      fail('SERVICE_TOKEN_PRIVATE_JWK is not JSON (the user service key, kid "user:…")', 78);
    }
  }
  const file = path.join(process.env.DATA_DIR || './data', 'keys.json');
  let keys: { servicePrivateJwks?: Record<string, JWK> };
  try {
    keys = JSON.parse(await readFile(file, 'utf8')) as typeof keys;
  } catch (error) {
    fail(
      `cannot read ${file} (${(error as Error).message}): start the platform once with npm start ` +
        '(it writes its keys there), or set SERVICE_TOKEN_PRIVATE_JWK to the user service key',
      78,
    );
  }
  const key = keys.servicePrivateJwks?.user;
  if (key === undefined) fail(`${file} has no user service key`, 78);
  return key;
}

async function main(): Promise<void> {
  const { grant, email, reason } = parse(process.argv.slice(2));
  const baseUrl = process.env.USER_SERVICE_URL || `http://127.0.0.1:${servicePorts.user}`;
  let issue: () => Promise<string>;
  try {
    issue = createServiceTokenIssuer({ privateJwk: await userServiceKey(), service: 'user' });
  } catch (error) {
    fail((error as Error).message, 78);
  }
  const users = createClient(UserService, createGrpcTransport({ baseUrl }));
  const headers = async () => ({ headers: { authorization: `Bearer ${await issue()}` } });
  try {
    const found = await users.listUsers({ query: email, page: { pageSize: 200 } }, await headers());
    const user = found.users.find((u) => u.email.toLowerCase() === email);
    if (user === undefined) fail(`no account with email ${email}: register it first`, 65);
    const result = await users.setUserRole(
      { userId: user.userId, role: Role.ADMIN, granted: grant, reason },
      await headers(),
    );
    const roles = result.roles.map((r) => Role[r].toLowerCase()).join(', ');
    process.stdout.write(
      `${result.changed ? (grant ? 'granted' : 'revoked') : 'unchanged'}: ${email} (${user.userId}) ` +
        `now has roles ${roles}; the role is in their tokens from their next sign-in\n`,
    );
  } catch (error) {
    const e = ConnectError.from(error);
    const hint =
      e.code === Code.Unavailable || e.code === Code.Unknown
        ? ` — is the user service running at ${baseUrl}? (npm start, or set USER_SERVICE_URL)`
        : '';
    fail(`${Code[e.code]}: ${e.rawMessage}${hint}`, 69);
  }
}

await main();
