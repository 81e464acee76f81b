import { describe, expect, it } from 'vitest';
import {
  applySettingsChange,
  assertNotBanned,
  decideBan,
  defaultChatSettings,
  parseChatSend,
  slowModeBucket,
  userRateBucket,
} from '../src/domain/chat.js';
import { parseJoinableRoom } from '../src/domain/rooms.js';
import { validatePublish } from '../src/domain/publish.js';

const channel = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
const bytes = (s: string) => Buffer.byteLength(s);

describe('chat rules', () => {
  it('trims text and counts characters as code points', () => {
    expect(parseChatSend({ channelId: channel, text: '  hi  ', clientMessageId: 'a' }).text).toBe(
      'hi',
    );
    expect(() =>
      parseChatSend({ channelId: channel, text: '😀'.repeat(500), clientMessageId: 'a' }),
    ).not.toThrow();
    expect(() =>
      parseChatSend({ channelId: channel, text: '😀'.repeat(501), clientMessageId: 'a' }),
    ).toThrow(/text/);
    expect(() => parseChatSend({ channelId: 'nope', text: 'hi', clientMessageId: '' })).toThrow(
      /channelId[\s\S]*clientMessageId/,
    );
    expect(() => parseChatSend(null)).toThrow(/chat:send needs/);
  });

  it('applies partial settings changes within range', () => {
    expect(applySettingsChange(defaultChatSettings, { slowModeSeconds: 10 })).toEqual({
      ...defaultChatSettings,
      slowModeSeconds: 10,
    });
    expect(() =>
      applySettingsChange(defaultChatSettings, {
        userRateLimitMessages: 0,
        userRateLimitWindowSeconds: 301,
      }),
    ).toThrow(/user_rate_limit_messages[\s\S]*user_rate_limit_window_seconds/);
  });

  it('turns slow mode and the rate into token buckets', () => {
    expect(slowModeBucket(defaultChatSettings)).toBeUndefined();
    expect(slowModeBucket({ ...defaultChatSettings, slowModeSeconds: 4 })).toEqual({
      capacity: 1,
      refillPerSecond: 0.25,
    });
    expect(userRateBucket(defaultChatSettings)).toEqual({ capacity: 5, refillPerSecond: 0.5 });
  });

  it('bans for a time or forever, never the owner or an admin', () => {
    const actor = { userId: 'owner', role: 'streamer' as const };
    const target = { ownerUserId: 'owner', targetIsAdmin: false };
    const ban = decideBan(
      { channelId: channel, userId: 'u', durationSeconds: 60n, reason: '' },
      actor,
      target,
      1000,
    );
    expect(ban.untilMs).toBe(61_000n);
    expect(() => assertNotBanned(ban, 60_999)).toThrow(/until 1970-01-01T00:01:01.000Z/);
    expect(() => assertNotBanned(ban, 61_000)).not.toThrow();
    const forever = decideBan(
      { channelId: channel, userId: 'u', durationSeconds: 0n, reason: '' },
      actor,
      target,
      1000,
    );
    expect(() => assertNotBanned(forever, 10 ** 12)).toThrow(/permanently/);
    expect(() =>
      decideBan(
        { channelId: channel, userId: 'owner', durationSeconds: 0n, reason: '' },
        actor,
        target,
        0,
      ),
    ).toThrow(/cannot be banned/);
    expect(() =>
      decideBan(
        { channelId: channel, userId: 'u', durationSeconds: 0n, reason: '' },
        actor,
        { ...target, targetIsAdmin: true },
        0,
      ),
    ).toThrow(/cannot be banned/);
  });
});

describe('rooms and Publish validation', () => {
  it('accepts channel and market rooms only', () => {
    expect(parseJoinableRoom({ room: `market:${channel}` })).toEqual({
      kind: 'market',
      id: channel,
    });
    for (const bad of [
      { room: `user:${channel}` },
      { room: 'market:x' },
      { room: 'x'.repeat(1000) },
      'market',
      null,
    ]) {
      expect(() => parseJoinableRoom(bad)).toThrow();
    }
  });

  it('refuses reserved names, non-object payloads, oversized payloads and empty batches', () => {
    const ok = {
      roomKind: 'market' as const,
      roomId: channel,
      eventName: 'x',
      payloadJson: '{}',
      conflationKey: '',
    };
    expect(validatePublish([ok], bytes)).toHaveLength(1);
    expect(() => validatePublish([], bytes)).toThrow(/1–1000/);
    expect(() => validatePublish([{ ...ok, eventName: 'auth:expired' }], bytes)).toThrow(
      /event_name/,
    );
    expect(() => validatePublish([{ ...ok, payloadJson: 'null' }], bytes)).toThrow(/JSON object/);
    expect(() =>
      validatePublish([{ ...ok, payloadJson: `{"a":"${'x'.repeat(65 * 1024)}"}` }], bytes),
    ).toThrow(/64 KiB/);
    expect(() => validatePublish([{ ...ok, roomKind: undefined }], bytes)).toThrow(/room/);
  });
});
