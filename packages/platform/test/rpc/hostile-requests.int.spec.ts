import { afterEach, describe, expect, it } from 'vitest';
import { maxCharsOfField, maxIdChars, maxTextChars } from '../../src/rpc/input-limits.js';
import { startEchoServer, type EchoServer } from '../fixtures/echo-service.js';
import { rawCall, type WireProtocol } from '@streambet/testkit/raw-rpc';

const opened: EchoServer[] = [];
afterEach(async () => {
  for (const echo of opened.splice(0)) await echo.server.shutdown(1000);
});

async function start(): Promise<EchoServer> {
  const echo = await startEchoServer();
  opened.push(echo);
  return echo;
}

const protocols: readonly WireProtocol[] = ['connect', 'grpc', 'grpc-web'];
const echoProcedure = '/streambet.testing.v1.EchoService/Echo';
const countProcedure = '/streambet.testing.v1.EchoService/Count';

/** Bodies no protobuf reader accepts: an illegal tag, a truncated field, an endless varint. */
const malformedBinaries: Record<string, Uint8Array> = {
  'illegal tag': Uint8Array.of(0x0f, 0x01),
  'truncated length-delimited field': Uint8Array.of(0x0a, 0x05, 0x41),
  'varint without end': Uint8Array.of(
    0x08,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
  ),
};

/** Log lines at warn or above: what on-call would read as a server fault. */
function serverFaultLines(echo: EchoServer): Array<Record<string, unknown>> {
  return echo.logs
    .lines()
    .filter((line) => ['warn', 'error', 'fatal'].includes(String(line.level)));
}

describe('a request body that is not a valid message is INVALID_ARGUMENT, on every protocol', () => {
  for (const protocol of protocols) {
    for (const [what, body] of Object.entries(malformedBinaries)) {
      it(`${protocol}: ${what} (unary and server-streaming)`, async () => {
        const echo = await start();
        for (const procedure of [echoProcedure, countProcedure]) {
          const answer = await rawCall(echo.address.url, procedure, protocol, body, {
            streaming: procedure === countProcedure,
          });
          expect(answer.code, `${procedure}: ${answer.message}`).toBe('invalid_argument');
          expect(answer.message).toMatch(
            /^the request body is not a valid streambet\.testing\.v1\./,
          );
          expect(answer.message.length).toBeLessThanOrEqual(200);
        }
        expect(serverFaultLines(echo)).toEqual([]);
      });
    }

    it(`${protocol}: malformed JSON, with a bounded message whatever the body holds`, async () => {
      const echo = await start();
      const bodies = [
        '{"text": ',
        '[1, 2, 3]',
        `{"text": ${'9'.repeat(20_000)}}`,
        `{"text": {"${'k'.repeat(20_000)}": 1}}`,
      ];
      for (const json of bodies) {
        const answer = await rawCall(
          echo.address.url,
          echoProcedure,
          protocol,
          new TextEncoder().encode(json),
          { format: 'json' },
        );
        expect(answer.code, answer.message).toBe('invalid_argument');
        expect(answer.message.length).toBeLessThanOrEqual(200);
      }
      expect(serverFaultLines(echo)).toEqual([]);
    });
  }

  it('still answers a well-formed call afterwards', async () => {
    const echo = await start();
    await rawCall(echo.address.url, echoProcedure, 'grpc', malformedBinaries['illegal tag']!);
    const answer = await rawCall(
      echo.address.url,
      echoProcedure,
      'grpc',
      Uint8Array.of(0x0a, 0x02, 0x68, 0x69),
    );
    expect(answer.code).toBe('ok');
  });
});

describe('string fields have a length limit, checked for every service by the server stack', () => {
  it('names ids, keys and tokens by rule, and leaves documents to the body limit', () => {
    expect(maxCharsOfField('market_id')).toBe(maxIdChars);
    expect(maxCharsOfField('id')).toBe(maxIdChars);
    expect(maxCharsOfField('user_ids')).toBe(maxIdChars);
    expect(maxCharsOfField('idempotency_key')).toBe(maxIdChars);
    expect(maxCharsOfField('page_token')).toBeGreaterThan(maxIdChars);
    expect(maxCharsOfField('title')).toBe(maxTextChars);
    expect(maxCharsOfField('payload_json')).toBeUndefined();
  });

  for (const protocol of protocols) {
    it(`${protocol}: an over-long field is INVALID_ARGUMENT naming it, without quoting it`, async () => {
      const echo = await start();
      const text = 'x'.repeat(maxTextChars + 1);
      const body = new TextEncoder().encode(JSON.stringify({ text }));
      for (const procedure of [echoProcedure, '/streambet.testing.v1.EchoService/Slow']) {
        const answer = await rawCall(echo.address.url, procedure, protocol, body, {
          format: 'json',
        });
        expect(answer.code).toBe('invalid_argument');
        expect(answer.message).toBe(
          `a request field is too long: text: is ${maxTextChars + 1} characters long; at most ${maxTextChars} are accepted`,
        );
      }
      expect(serverFaultLines(echo)).toEqual([]);
    });
  }
});
