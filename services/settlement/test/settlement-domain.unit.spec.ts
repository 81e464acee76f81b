/** The pure rules of a settlement run: derived ids, system commands, the reversal plan, backoff. */
import { describe, expect, it } from 'vitest';
import { settlePool } from '@streambet/parimutuel/settlement';
import {
  chunk,
  linkAll,
  planReversal,
  retryDelayMs,
  systemCommands,
  transferIds,
} from '../src/domain/settlement.js';

const M = '01JMARKET00000000000000000';

describe('settlement domain', () => {
  it('derives every transfer id from the market and user ids only', () => {
    expect(transferIds.payout(M, 'U1')).toBe(`settle:${M}:payout:U1`);
    expect(transferIds.refund(M, 'U1')).toBe(`settle:${M}:refund:U1`);
    expect(transferIds.commission(M)).toBe(`settle:${M}:rake`);
  });

  it('sends commission to rake, the share to the streamer and breakage to house, skipping zeros', () => {
    const commands = systemCommands(M, 'BRL', 'S', [
      { code: 'COMMISSION', amountMinor: 29n },
      { code: 'STREAMER_SHARE', amountMinor: 0n },
      { code: 'BREAKAGE', amountMinor: 2n },
    ]);
    expect(commands.map((c) => [c.creditAccountId, c.amountMinor])).toEqual([
      ['rake:BRL', 29n],
      ['house:BRL', 2n],
    ]);
  });

  it('plans a reversal whose inflows equal its outflows, so escrow ends at zero', () => {
    const bets = Array.from({ length: 40 }, (_, i) => ({
      betId: `B${String(i).padStart(3, '0')}`,
      userId: `U${i % 7}`,
      outcomeId: i % 3 === 0 ? 'lose' : 'win',
      stakeMinor: BigInt(17 + i * 13),
    }));
    const result = settlePool(bets, {
      outcomeIds: ['win', 'lose'],
      winningOutcomeId: 'win',
      commissionBps: 700,
      streamerShareBps: 2500,
    });
    const plan = planReversal({
      marketId: M,
      currency: 'BRL',
      streamerUserId: 'S',
      rakeMinor: result.figures.rakeMinor,
      streamerShareMinor: result.figures.streamerShareMinor,
      breakageMinor: result.figures.breakageMinor,
      bettors: result.users,
    });
    const sum = (commands: readonly { amountMinor: bigint }[]) =>
      commands.reduce((total, c) => total + c.amountMinor, 0n);
    expect(sum(plan.inflows)).toBe(sum(plan.outflows));
    expect(plan.debits.has('house:BRL')).toBe(false);
    expect(plan.debits.get('rake:BRL')).toBe(result.figures.rakeMinor);
    const linked = linkAll([...plan.inflows, ...plan.outflows]);
    expect(linked.at(-1)?.linked).toBe(false);
    expect(linked.slice(0, -1).every((c) => c.linked)).toBe(true);
  });

  it('backs off 1 s doubling up to 5 min and splits ledger calls at 1000', () => {
    expect([1, 2, 3, 10, 30].map((n) => retryDelayMs(n))).toEqual([
      1000, 2000, 4000, 300_000, 300_000,
    ]);
    expect(chunk(Array.from({ length: 2001 }, (_, i) => i)).map((c) => c.length)).toEqual([
      1000, 1000, 1,
    ]);
  });
});
