/**
 * `npm run simulate -- twitch <event> <broadcaster id> [...]`: sends a correctly signed Twitch
 * EventSub notification to a running platform's gateway (`POST /webhooks/twitch`), as Twitch
 * would, and prints the answer. The broadcaster id is the linked channel's Twitch user id
 * (platform_channel_id of GetChannel).
 *
 * Events: stream-online, stream-offline, prediction-begin [prediction id],
 * prediction-lock <prediction id>, prediction-end <prediction id> <winning outcome id|cancel>.
 * prediction-begin prints the outcome ids (`<prediction id>-blue`, `<prediction id>-pink`).
 * Where and how: GATEWAY_URL (default http://127.0.0.1:8080); INTEGRATION_TWITCH_WEBHOOK_SECRET
 * (default: the embedded platform's development secret).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { devTwitchWebhookSecret } from '@streambet/integration/testing';

/** Usage of the twitch provider. */
export const twitchUsage =
  '  twitch: stream-online | stream-offline <broadcaster id>\n' +
  '          prediction-begin <broadcaster id> [prediction id]\n' +
  '          prediction-lock <broadcaster id> <prediction id>\n' +
  '          prediction-end <broadcaster id> <prediction id> <winning outcome id|cancel>';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The subscription type and event body of one simulated notification; undefined if unknown. */
export function twitchEvent(
  event: string,
  broadcaster: string,
  args: readonly string[],
  nowMs: number,
): { type: string; body: Record<string, unknown>; note?: string } | undefined {
  const base = {
    broadcaster_user_id: broadcaster,
    broadcaster_user_login: `user${broadcaster}`,
    broadcaster_user_name: `User${broadcaster}`,
  };
  switch (event) {
    case 'stream-online':
      return {
        type: 'stream.online',
        body: { ...base, id: randomUUID(), type: 'live', started_at: iso(nowMs) },
      };
    case 'stream-offline':
      return { type: 'stream.offline', body: base };
    case 'prediction-begin': {
      const id = args[0] ?? randomUUID();
      return {
        type: 'channel.prediction.begin',
        body: {
          ...base,
          id,
          title: 'Will the streamer win this round?',
          outcomes: [
            { id: `${id}-blue`, title: 'Yes', color: 'blue' },
            { id: `${id}-pink`, title: 'No', color: 'pink' },
          ],
          started_at: iso(nowMs),
          locks_at: iso(nowMs + 300_000),
        },
        note: `prediction ${id}: outcomes ${id}-blue (Yes), ${id}-pink (No)`,
      };
    }
    case 'prediction-lock':
      if (args[0] === undefined) return undefined;
      return {
        type: 'channel.prediction.lock',
        body: {
          ...base,
          id: args[0],
          title: '',
          outcomes: [],
          started_at: iso(nowMs),
          locked_at: iso(nowMs),
        },
      };
    case 'prediction-end': {
      if (args[0] === undefined || args[1] === undefined) return undefined;
      const canceled = args[1] === 'cancel';
      return {
        type: 'channel.prediction.end',
        body: {
          ...base,
          id: args[0],
          title: '',
          winning_outcome_id: canceled ? null : args[1],
          outcomes: [],
          status: canceled ? 'canceled' : 'resolved',
          started_at: iso(nowMs),
          ended_at: iso(nowMs),
        },
      };
    }
    default:
      return undefined;
  }
}

/** Sends the notification; returns the process exit code. */
export async function simulateTwitch(argv: readonly string[]): Promise<number> {
  const [event, broadcaster, ...rest] = argv;
  const nowMs = Date.now();
  const built =
    event === undefined || broadcaster === undefined
      ? undefined
      : twitchEvent(event, broadcaster, rest, nowMs);
  if (built === undefined || broadcaster === undefined) {
    process.stderr.write(`usage: npm run simulate -- twitch <event> ...\n${twitchUsage}\n`);
    return 64;
  }
  const secret = process.env.INTEGRATION_TWITCH_WEBHOOK_SECRET || devTwitchWebhookSecret;
  const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
  const id = randomUUID();
  const timestamp = iso(nowMs);
  const body = JSON.stringify({
    subscription: {
      id: randomUUID(),
      status: 'enabled',
      type: built.type,
      version: '1',
      condition: { broadcaster_user_id: broadcaster },
      transport: { method: 'webhook', callback: `${gatewayUrl}/webhooks/twitch` },
      created_at: timestamp,
      cost: 0,
    },
    event: built.body,
  });
  const signature = `sha256=${createHmac('sha256', secret)
    .update(id + timestamp + body)
    .digest('hex')}`;
  let answer: Response;
  try {
    answer = await fetch(new URL('/webhooks/twitch', gatewayUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'twitch-eventsub-message-id': id,
        'twitch-eventsub-message-retry': '0',
        'twitch-eventsub-message-type': 'notification',
        'twitch-eventsub-message-signature': signature,
        'twitch-eventsub-message-timestamp': timestamp,
        'twitch-eventsub-subscription-type': built.type,
        'twitch-eventsub-subscription-version': '1',
      },
      body,
    });
  } catch (error) {
    process.stderr.write(
      `the gateway at ${gatewayUrl} is not reachable (${(error as Error).message}); is the platform running (npm start)?\n`,
    );
    return 69;
  }
  if (built.note !== undefined) process.stdout.write(`${built.note}\n`);
  process.stdout.write(
    `twitch ${built.type} → /webhooks/twitch: ${answer.status} ${await answer.text()}\n`,
  );
  return answer.ok ? 0 : 1;
}
