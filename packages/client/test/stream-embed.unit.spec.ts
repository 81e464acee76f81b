import { describe, expect, it } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { streamEmbed, streamEmbeds, type StreamLink } from '../src/stream-embed.js';

const twitch: StreamLink = {
  platform: Platform.TWITCH,
  handle: 'DemoStreamer',
  platformChannelId: '141981764',
  displayName: 'Demo Streamer',
};
const kick: StreamLink = {
  platform: Platform.KICK,
  handle: 'demo-streamer',
  platformChannelId: '668',
  displayName: 'Demo Streamer',
};
const youtube: StreamLink = {
  platform: Platform.YOUTUBE,
  handle: '@demo',
  platformChannelId: 'UC_x5XG1OV2P6uZZ5FSM9Ttw',
  displayName: 'Demo',
};

describe('stream players', () => {
  it('given a Twitch link, then the player names the login in lower case and the page host as parent, muted', () => {
    const embed = streamEmbed(twitch, 'streambet.example');
    expect(embed).toBeDefined();
    const url = new URL(embed!.src);
    expect(url.origin + url.pathname).toBe('https://player.twitch.tv/');
    expect(url.searchParams.get('channel')).toBe('demostreamer');
    expect(url.searchParams.get('parent')).toBe('streambet.example');
    expect(url.searchParams.get('muted')).toBe('true');
  });

  it('given a Kick link, then the player path is the slug', () => {
    const url = new URL(streamEmbed(kick, 'streambet.example')!.src);
    expect(url.origin + url.pathname).toBe('https://player.kick.com/demo-streamer');
    expect(url.searchParams.get('muted')).toBe('true');
  });

  it('given a YouTube link, then the player shows the channel live stream from the no-cookie domain, muted', () => {
    const url = new URL(streamEmbed(youtube, 'streambet.example')!.src);
    expect(url.origin + url.pathname).toBe('https://www.youtube-nocookie.com/embed/live_stream');
    expect(url.searchParams.get('channel')).toBe('UC_x5XG1OV2P6uZZ5FSM9Ttw');
    expect(url.searchParams.get('mute')).toBe('1');
  });

  it('given handles or ids of the wrong shape, then nothing is embedded (never pasted into a URL)', () => {
    expect(
      streamEmbed({ ...twitch, handle: 'a b&parent=evil.example' }, 'x.example'),
    ).toBeUndefined();
    expect(streamEmbed({ ...kick, handle: '../admin' }, 'x.example')).toBeUndefined();
    expect(streamEmbed({ ...youtube, platformChannelId: 'UCshort' }, 'x.example')).toBeUndefined();
    expect(streamEmbed({ ...twitch, platform: Platform.UNSPECIFIED }, 'x.example')).toBeUndefined();
    expect(streamEmbed(twitch, '')).toBeUndefined();
  });

  it('given several links, then one player per platform in the links order', () => {
    const embeds = streamEmbeds([kick, twitch, { ...twitch, handle: 'other' }, youtube], 'h');
    expect(embeds.map((e) => e.platformName)).toEqual(['Kick', 'Twitch', 'YouTube']);
    expect(new URL(embeds[1]!.src).searchParams.get('channel')).toBe('demostreamer');
  });
});
