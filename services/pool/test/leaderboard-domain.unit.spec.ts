import { describe, expect, it } from 'vitest';
import {
  boardKey,
  boardsForPayout,
  competitionRanks,
  decodeMember,
  encodeMember,
  periodBounds,
} from '../src/domain/leaderboard.js';

describe('leaderboard periods', () => {
  it('given a Wednesday afternoon, then the day starts at 00:00 UTC and the ISO week on Monday', () => {
    const at = Date.UTC(2026, 10, 25, 15, 30);
    expect(periodBounds('DAILY', at)).toEqual({
      startsAtMs: Date.UTC(2026, 10, 25),
      endsAtMs: Date.UTC(2026, 10, 26),
    });
    expect(periodBounds('WEEKLY', at)).toEqual({
      startsAtMs: Date.UTC(2026, 10, 23),
      endsAtMs: Date.UTC(2026, 10, 30),
    });
    expect(periodBounds('WEEKLY', Date.UTC(2026, 10, 29, 23, 59))).toEqual(
      periodBounds('WEEKLY', at),
    );
    expect(periodBounds('WEEKLY', Date.UTC(2026, 10, 30)).startsAtMs).toBe(Date.UTC(2026, 10, 30));
    expect(periodBounds('ALL_TIME', at)).toEqual({ startsAtMs: 0, endsAtMs: 0 });
  });

  it('given a payout, then it counts on its channel and global boards for day, week and all time', () => {
    const keys = boardsForPayout('CH1', 'PTS', Date.UTC(2026, 10, 25, 15)).map(boardKey);
    expect(keys).toEqual([
      'PTS:c:CH1:d:2026-11-25',
      'PTS:c:CH1:w:2026-11-23',
      'PTS:c:CH1:all',
      'PTS:g:d:2026-11-25',
      'PTS:g:w:2026-11-23',
      'PTS:g:all',
    ]);
  });
});

describe('leaderboard ordering', () => {
  it('given user ids, then the encoded members sort in reverse byte order (ZREVRANGE ties come out ascending)', () => {
    const ids = ['01B', '01A', '01AB', 'a', 'Z', '0'];
    const byMemberDescending = [...ids].sort((x, y) => {
      const a = encodeMember(x);
      const b = encodeMember(y);
      return a < b ? 1 : a > b ? -1 : 0;
    });
    expect(byMemberDescending).toEqual([...ids].sort());
    for (const id of ids) expect(decodeMember(encodeMember(id))).toBe(id);
  });

  it('given tied scores, then ranks are competition ranks (1, 2, 2, 4), also when a page starts inside a tie', () => {
    expect(competitionRanks([50, 20, 20, 10], 1, 0)).toEqual([1, 2, 2, 4]);
    expect(competitionRanks([20, 20, 10], 2, 2)).toEqual([2, 2, 5]);
  });
});
