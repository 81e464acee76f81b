/**
 * Webhook verification rules: Twitch's HMAC over id + timestamp + raw body (a vector computed
 * independently with `openssl dgst -sha256 -hmac`), Kick's RSA-SHA256 over `<id>.<ts>.<body>`
 * (generated key pair), freshness exactly at the 10-minute boundary, the Kick type-header
 * agreement, and the notification bodies each provider documents.
 */
import { generateKeyPairSync, createSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  dedupeRetentionMs,
  isFresh,
  KickTypeMismatchError,
  kickEffect,
  parseKickTimestampMs,
  parseRfc3339Ms,
  parseTwitchBody,
  twitchEffect,
  verdictStatus,
  webhookFreshnessMs,
} from '../src/domain/webhook.js';
import {
  pkceChallenge,
  twitchSignature,
  verifyKickSignature,
  verifyTwitchSignature,
} from '../src/webhooks/signatures.js';

const encoder = new TextEncoder();

describe('Twitch EventSub signature', () => {
  const id = 'e5b2f2a8-4e4f-4a35-9a1e-7f3c8a0c1d2e';
  const timestamp = '2019-11-16T10:11:12.634234626Z';
  const body = encoder.encode(
    '{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"stream.offline"},"event":{"broadcaster_user_id":"1337"}}',
  );
  // printf '%s%s%s' "$id" "$timestamp" "$body" | openssl dgst -sha256 -hmac 's3cRe7s3cRe7'
  const expected = 'sha256=2be86c4009ef5889069c67eb245863298a4acfb10400d3ee372b62d1c653e96f';

  it('matches an HMAC-SHA256 computed independently over id + timestamp + raw body', () => {
    expect(twitchSignature('s3cRe7s3cRe7', id, timestamp, body)).toBe(expected);
    expect(verifyTwitchSignature('s3cRe7s3cRe7', id, timestamp, body, expected)).toBe(true);
  });

  it('refuses another secret, a changed byte of the body, id or timestamp, and a bad prefix', () => {
    expect(verifyTwitchSignature('other', id, timestamp, body, expected)).toBe(false);
    const tampered = body.slice();
    tampered[tampered.length - 3] = 0x38;
    expect(verifyTwitchSignature('s3cRe7s3cRe7', id, timestamp, tampered, expected)).toBe(false);
    expect(verifyTwitchSignature('s3cRe7s3cRe7', `${id}x`, timestamp, body, expected)).toBe(false);
    expect(verifyTwitchSignature('s3cRe7s3cRe7', id, '2019-11-16T10:11:13Z', body, expected)).toBe(
      false,
    );
    expect(
      verifyTwitchSignature('s3cRe7s3cRe7', id, timestamp, body, expected.replace('sha256=', '')),
    ).toBe(false);
    expect(verifyTwitchSignature('s3cRe7s3cRe7', id, timestamp, body, '')).toBe(false);
  });
});

describe('Kick signature', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const id = '01JD6K6H7Z1Q2W3E4R5T6Y7U8I';
  const timestamp = '2026-12-07T20:00:00Z';
  const body = encoder.encode('{"broadcaster":{"user_id":123},"is_live":false}');
  const sign = (payload: string): string =>
    createSign('RSA-SHA256').update(payload).sign(privateKey, 'base64');

  it('verifies RSA-SHA256 PKCS#1 v1.5 over `<id>.<timestamp>.<raw body>`', () => {
    const signature = sign(`${id}.${timestamp}.${new TextDecoder().decode(body)}`);
    expect(verifyKickSignature(publicKey, id, timestamp, body, signature)).toBe(true);
    expect(verifyKickSignature(publicKey, id, '2026-12-07T20:00:01Z', body, signature)).toBe(false);
    // Without the dots (the Twitch construction) it does not verify.
    const undotted = sign(`${id}${timestamp}${new TextDecoder().decode(body)}`);
    expect(verifyKickSignature(publicKey, id, timestamp, body, undotted)).toBe(false);
    expect(verifyKickSignature(publicKey, id, timestamp, body, 'not base64!')).toBe(false);
    expect(verifyKickSignature(publicKey, id, timestamp, body, '')).toBe(false);
  });

  it('requires the body to agree with the unsigned type header', () => {
    expect(
      kickEffect(
        'livestream.status.updated',
        JSON.parse('{"broadcaster":{"user_id":123},"is_live":false}'),
      ),
    ).toEqual({
      kind: 'offline',
      platformChannelId: '123',
      platformStreamId: '',
      endedAtMs: undefined,
    });
    expect(() => kickEffect('livestream.status.updated', { message_id: 'x', sender: {} })).toThrow(
      KickTypeMismatchError,
    );
    expect(() =>
      kickEffect('chat.message.sent', { broadcaster: { user_id: 1 }, is_live: true }),
    ).toThrow(KickTypeMismatchError);
  });
});

describe('freshness and dedupe', () => {
  const t = Date.UTC(2026, 11, 7, 20, 0, 0);

  it('accepts a delivery exactly 10 minutes old and refuses one a millisecond older', () => {
    expect(isFresh(t, t + webhookFreshnessMs)).toBe(true);
    expect(isFresh(t, t + webhookFreshnessMs + 1)).toBe(false);
    expect(isFresh(t + webhookFreshnessMs, t)).toBe(true);
    expect(isFresh(t + webhookFreshnessMs + 1, t)).toBe(false);
  });

  it('keeps message ids at least as long as the freshness window, both ways', () => {
    expect(dedupeRetentionMs()).toBeGreaterThanOrEqual(2 * webhookFreshnessMs);
  });

  it('parses Twitch nanosecond timestamps and Kick numeric ones', () => {
    expect(parseRfc3339Ms('2019-11-16T10:11:12.634234626Z')).toBe(
      Date.UTC(2019, 10, 16, 10, 11, 12, 634),
    );
    expect(parseRfc3339Ms('2019-11-16T10:11:12Z')).toBe(Date.UTC(2019, 10, 16, 10, 11, 12));
    expect(parseRfc3339Ms('yesterday')).toBeUndefined();
    expect(parseKickTimestampMs('1765137600')).toBe(1765137600000);
    expect(parseKickTimestampMs('1765137600123')).toBe(1765137600123);
  });

  it('answers verdicts with the contract status codes', () => {
    expect(verdictStatus('accepted')).toBe(200);
    expect(verdictStatus('replayed')).toBe(204);
    expect(verdictStatus('bad_signature')).toBe(403);
    expect(verdictStatus('unsigned')).toBe(403);
    expect(verdictStatus('stale')).toBe(403);
    expect(verdictStatus('wrong_content_type')).toBe(415);
  });
});

describe('Twitch notification bodies (shapes from the EventSub reference)', () => {
  const sub = (type: string) => ({
    id: 'f1c2a387-161a-49f9-a165-0f21d7a4e1c4',
    status: 'enabled',
    type,
    version: '1',
    condition: { broadcaster_user_id: '1337' },
  });

  it('stream.online and stream.offline', () => {
    const online = parseTwitchBody({
      subscription: sub('stream.online'),
      event: {
        id: '9001',
        broadcaster_user_id: '1337',
        broadcaster_user_login: 'cool_user',
        type: 'live',
        started_at: '2020-10-11T10:11:12.123Z',
      },
    });
    expect(twitchEffect(online)).toEqual({
      kind: 'online',
      platformChannelId: '1337',
      platformStreamId: '9001',
      startedAtMs: Date.UTC(2020, 9, 11, 10, 11, 12, 123),
      title: '',
    });
    const offline = parseTwitchBody({
      subscription: sub('stream.offline'),
      event: { broadcaster_user_id: '1337', broadcaster_user_login: 'cool_user' },
    });
    expect(twitchEffect(offline)).toMatchObject({ kind: 'offline', endedAtMs: undefined });
  });

  it('channel.prediction.begin, lock and end (resolved and canceled)', () => {
    const begin = twitchEffect(
      parseTwitchBody({
        subscription: sub('channel.prediction.begin'),
        event: {
          id: '1243456',
          broadcaster_user_id: '1337',
          title: 'Aren’t shoes just really hard socks?',
          outcomes: [
            { id: '1243456', title: 'Yeah!', color: 'blue' },
            { id: '2243456', title: 'No!', color: 'pink' },
          ],
          started_at: '2020-07-15T17:16:03.17106713Z',
          locks_at: '2020-07-15T17:21:03.17106713Z',
        },
      }),
    );
    expect(begin).toMatchObject({
      kind: 'prediction_began',
      predictionId: '1243456',
      outcomes: [
        { id: '1243456', title: 'Yeah!', color: 'blue' },
        { id: '2243456', title: 'No!', color: 'pink' },
      ],
      locksAtMs: Date.UTC(2020, 6, 15, 17, 21, 3, 171),
    });
    const end = (status: string) =>
      twitchEffect(
        parseTwitchBody({
          subscription: sub('channel.prediction.end'),
          event: {
            id: '1243456',
            broadcaster_user_id: '1337',
            winning_outcome_id: '12345',
            status,
            ended_at: '2020-07-15T17:16:11.17106713Z',
          },
        }),
      );
    expect(end('resolved')).toMatchObject({ status: 'resolved', winningOutcomeId: '12345' });
    expect(end('canceled')).toMatchObject({ status: 'canceled', winningOutcomeId: '' });
  });
});

describe('PKCE', () => {
  it('matches RFC 7636 appendix B', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
});
