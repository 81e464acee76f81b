/**
 * OAuth state rules (bound to the user and platform, single use, 10 minutes) and a channel's live
 * state across linked platforms (live on any; offline auto-lock on the first or the last).
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { describe, expect, it } from 'vitest';
import { decideLiveChange, type LinkLive } from '../src/domain/live-state.js';
import { decideStateUse, issueState, oauthStateTtlMs } from '../src/domain/oauth-state.js';

describe('OAuth state', () => {
  const now = 1_000_000;
  const state = issueState({
    state: 's',
    userId: 'alice',
    platform: 'TWITCH',
    redirectUri: 'http://localhost/cb',
    codeVerifier: undefined,
    nowMs: now,
  });

  it('is accepted by its user until its expiry instant, and not a millisecond after', () => {
    expect(
      decideStateUse(state, { userId: 'alice', platform: 'TWITCH', nowMs: now + oauthStateTtlMs })
        .kind,
    ).toBe('exchange');
    expect(() =>
      decideStateUse(state, {
        userId: 'alice',
        platform: 'TWITCH',
        nowMs: now + oauthStateTtlMs + 1,
      }),
    ).toThrow(/expired/);
  });

  it('refuses an unknown state, another user and another platform', () => {
    expect(() =>
      decideStateUse(undefined, { userId: 'alice', platform: 'TWITCH', nowMs: now }),
    ).toThrow(ValidationError);
    expect(() =>
      decideStateUse(state, { userId: 'mallory', platform: 'TWITCH', nowMs: now }),
    ).toThrow(/another user/);
    expect(() => decideStateUse(state, { userId: 'alice', platform: 'KICK', nowMs: now })).toThrow(
      /TWITCH/,
    );
  });

  it('once used, returns the linked channel to its user (idempotent) and still refuses others', () => {
    const used = { ...state, usedForChannelId: 'ch1' };
    expect(
      decideStateUse(used, {
        userId: 'alice',
        platform: 'TWITCH',
        nowMs: now + 2 * oauthStateTtlMs,
      }),
    ).toEqual({
      kind: 'already-linked',
      channelId: 'ch1',
    });
    expect(() =>
      decideStateUse(used, { userId: 'mallory', platform: 'TWITCH', nowMs: now }),
    ).toThrow(/another user/);
  });
});

describe('live state across platforms', () => {
  const both: LinkLive[] = [
    { platform: 'TWITCH', state: 'LIVE' },
    { platform: 'KICK', state: 'LIVE' },
  ];

  it('is live on any platform; with `last`, going offline fires when the last one ends', () => {
    const first = decideLiveChange(both, { platform: 'TWITCH', live: false }, 'last');
    expect(first).toMatchObject({ after: 'LIVE', offline: false, online: false });
    const second = decideLiveChange(first.links, { platform: 'KICK', live: false }, 'last');
    expect(second).toMatchObject({ after: 'OFFLINE', offline: true });
  });

  it('with `first`, fires on the first platform to go offline, once', () => {
    const first = decideLiveChange(both, { platform: 'TWITCH', live: false }, 'first');
    expect(first).toMatchObject({ after: 'LIVE', offline: true });
    const repeat = decideLiveChange(first.links, { platform: 'TWITCH', live: false }, 'first');
    expect(repeat).toMatchObject({ unchanged: true, offline: false });
  });

  it('goes online on the first platform to go live, not again on the second', () => {
    const unknown: LinkLive[] = [{ platform: 'TWITCH', state: 'UNKNOWN' }];
    const on = decideLiveChange(unknown, { platform: 'TWITCH', live: true }, 'last');
    expect(on).toMatchObject({ before: 'UNKNOWN', after: 'LIVE', online: true });
    const kick = decideLiveChange(on.links, { platform: 'KICK', live: true }, 'last');
    expect(kick).toMatchObject({ online: false, after: 'LIVE' });
  });
});
