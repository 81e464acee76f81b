/**
 * `npm run simulate -- <stripe|mercadopago> <outcome> <payment id>`: makes a payment of a platform
 * running with fake providers (`npm start`) succeed or fail, as the provider would tell it: the
 * payment service's fake moves its object (`POST /fake/simulate`, only served with fake
 * providers) and hands back the webhook the provider sends, signed with the provider's scheme;
 * this command POSTs it to the gateway's `/webhooks/<provider>` and prints the answer.
 *
 * Outcomes: stripe — succeed, decline, cancel (deposits), paid, failed (withdrawals);
 * mercadopago — succeed, fail, expire (Pix deposits), paid, failed (Pix withdrawals).
 * Where: PAYMENT_SERVICE_URL (default http://127.0.0.1:7005) and GATEWAY_URL (default
 * http://127.0.0.1:8080).
 */

import { kickUsage, simulateKick } from './simulate-kick.js';
import { simulateTwitch, twitchUsage } from './simulate-twitch.js';

const usage =
  'usage: npm run simulate -- <stripe|mercadopago> <outcome> <payment id>\n' +
  '       npm run simulate -- <twitch|kick> <event> <broadcaster id> [...]\n' +
  `${twitchUsage}\n${kickUsage}\n` +
  '  stripe:      succeed | decline | cancel (deposit), paid | failed (withdrawal)\n' +
  '  mercadopago: succeed | fail | expire (Pix deposit), paid | failed (Pix withdrawal)';

async function main(): Promise<number> {
  const [provider, outcome, paymentId] = process.argv.slice(2);
  if (provider === 'twitch') return simulateTwitch(process.argv.slice(3));
  if (provider === 'kick') return simulateKick(process.argv.slice(3));
  if (provider === undefined || outcome === undefined || paymentId === undefined) {
    process.stderr.write(`${usage}\n`);
    return 64;
  }
  const paymentUrl = process.env.PAYMENT_SERVICE_URL ?? 'http://127.0.0.1:7005';
  const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
  let control: Response;
  try {
    control = await fetch(new URL('/fake/simulate', paymentUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider, outcome, payment_id: paymentId }),
    });
  } catch (error) {
    process.stderr.write(
      `the payment service at ${paymentUrl} is not reachable (${(error as Error).message}); is the platform running (npm start)?\n`,
    );
    return 69;
  }
  if (control.status === 404) {
    process.stderr.write(
      `the payment service at ${paymentUrl} runs live providers: simulate works with fake providers only (npm start)\n`,
    );
    return 69;
  }
  const delivery = (await control.json()) as {
    error?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  };
  if (!control.ok || delivery.path === undefined || delivery.body === undefined) {
    process.stderr.write(`${delivery.error ?? `payment service answered ${control.status}`}\n`);
    return 65;
  }
  const answer = await fetch(new URL(delivery.path, gatewayUrl), {
    method: 'POST',
    headers: delivery.headers ?? {},
    body: delivery.body,
  });
  const text = await answer.text();
  process.stdout.write(`${provider} webhook → ${delivery.path}: ${answer.status} ${text}\n`);
  return answer.ok ? 0 : 1;
}

process.exitCode = await main();
