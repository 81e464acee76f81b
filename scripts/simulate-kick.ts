/**
 * `npm run simulate -- kick <stream-online|stream-offline> <broadcaster user id>`: sends a correctly
 * signed Kick `livestream.status.updated` webhook (RSA-SHA256 over `<id>.<timestamp>.<body>`) to a
 * running platform's gateway (`POST /webhooks/kick`) and prints the answer.
 * Where and how: GATEWAY_URL (default http://127.0.0.1:8080); KICK_SIMULATOR_PRIVATE_KEY (PEM; default:
 * the simulated Kick's development key, which the embedded platform trusts).
 */
import { createSign, randomUUID } from 'node:crypto';
import { devKickPrivateKeyPem } from '@streambet/integration/testing';

/** Usage of the kick provider. */
export const kickUsage = '  kick:   stream-online | stream-offline <broadcaster user id>';

/** Sends the webhook; returns the process exit code. */
export async function simulateKick(argv: readonly string[]): Promise<number> {
  const [event, broadcaster] = argv;
  if ((event !== 'stream-online' && event !== 'stream-offline') || broadcaster === undefined) {
    process.stderr.write(`usage: npm run simulate -- kick <event> ...\n${kickUsage}\n`);
    return 64;
  }
  const key = (process.env.KICK_SIMULATOR_PRIVATE_KEY || devKickPrivateKeyPem).replaceAll(
    '\\n',
    '\n',
  );
  const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
  const nowMs = Date.now();
  const live = event === 'stream-online';
  const body = JSON.stringify({
    broadcaster: {
      is_anonymous: false,
      user_id: Number(broadcaster),
      username: `user${broadcaster}`,
      is_verified: false,
      profile_picture: '',
      channel_slug: `user${broadcaster}`,
    },
    is_live: live,
    title: live ? 'Simulated stream' : '',
    started_at: new Date(nowMs - (live ? 0 : 3_600_000)).toISOString(),
    ended_at: live ? null : new Date(nowMs).toISOString(),
  });
  const id = randomUUID();
  const timestamp = new Date(nowMs).toISOString();
  const signature = createSign('RSA-SHA256')
    .update(`${id}.${timestamp}.${body}`)
    .sign(key, 'base64');
  let answer: Response;
  try {
    answer = await fetch(new URL('/webhooks/kick', gatewayUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'kick-event-message-id': id,
        'kick-event-subscription-id': randomUUID(),
        'kick-event-signature': signature,
        'kick-event-message-timestamp': timestamp,
        'kick-event-type': 'livestream.status.updated',
        'kick-event-version': '1',
      },
      body,
    });
  } catch (error) {
    process.stderr.write(
      `the gateway at ${gatewayUrl} is not reachable (${(error as Error).message}); is the platform running (npm start)?\n`,
    );
    return 69;
  }
  process.stdout.write(
    `kick livestream.status.updated → /webhooks/kick: ${answer.status} ${await answer.text()}\n`,
  );
  return answer.ok ? 0 : 1;
}
