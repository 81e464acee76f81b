/**
 * The fraud rules of product.md, each a small pure function over facts the fraud consumer keeps
 * from the event stream; thresholds come from config. A rule returns the flags to raise, each with
 * its evidence and a dedupe key (the same suspicion is raised once, however often its events are
 * redelivered or re-trigger the rule).
 */

/** Rule names, as FraudRule in the contract. */
export type FraudRuleName =
  | 'STREAMER_ALT_BETTING'
  | 'LATE_BET_CLUSTER'
  | 'DEPOSIT_WITHDRAW_CYCLING'
  | 'VELOCITY_SPIKE'
  | 'REPEATED_RETROACTIVE_VOIDS';

/** Thresholds of every rule (config: ANALYTICS_FRAUD_*). */
export interface FraudThresholds {
  /** Bets this long before a manual or retroactive lock's effective instant are "late", ms. */
  readonly lateBetWindowMs: number;
  /** Distinct accounts on one device or network among late bets that make a cluster. */
  readonly lateBetMinAccounts: number;
  /** How far back deposits and stakes count for a withdrawal, ms. */
  readonly cyclingLookbackMs: number;
  /** Deposits below this (minor units) are not looked at. */
  readonly cyclingMinDepositMinor: bigint;
  /** "Little betting": stakes below this share of the deposits, basis points. */
  readonly cyclingMaxStakeBps: number;
  /** The withdrawal takes at least this share of the deposits back out, basis points. */
  readonly cyclingMinWithdrawBps: number;
  /** Window of the velocity rule, ms. */
  readonly velocityWindowMs: number;
  /** Bets by one user within the window that make a spike. */
  readonly velocityMaxBets: number;
  /** How far back retroactive-lock voids count, ms. */
  readonly retroVoidLookbackMs: number;
  /** Retroactive-lock voids of one user within the lookback that raise a flag. */
  readonly retroVoidMinCount: number;
}

/** A flag a rule wants raised. */
export interface FlagDraft {
  readonly rule: FraudRuleName;
  readonly userIds: readonly string[];
  readonly channelId: string;
  readonly marketId: string;
  readonly summary: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  /** One flag per key: a repeated trigger of the same suspicion raises nothing new. */
  readonly dedupeKey: string;
}

/** A device or network an account was seen on (keyed hashes from the gateway). */
export interface Link {
  readonly kind: 'device' | 'network';
  readonly id: string;
}

/** STREAMER_ALT_BETTING: a bettor sharing a device or network with the channel's owner. */
export function streamerAltBetting(input: {
  readonly betId: string;
  readonly bettorId: string;
  readonly marketId: string;
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly stakeMinor: bigint;
  readonly bettorLinks: readonly Link[];
  readonly ownerLinks: readonly Link[];
}): FlagDraft[] {
  if (input.ownerUserId === '' || input.bettorId === input.ownerUserId) return [];
  const owner = new Set(input.ownerLinks.map((l) => `${l.kind}:${l.id}`));
  const shared = input.bettorLinks.filter((l) => l.id !== '' && owner.has(`${l.kind}:${l.id}`));
  if (shared.length === 0) return [];
  const kinds = [...new Set(shared.map((l) => l.kind))].sort();
  return [
    {
      rule: 'STREAMER_ALT_BETTING',
      userIds: [input.bettorId, input.ownerUserId],
      channelId: input.channelId,
      marketId: input.marketId,
      summary: `account ${input.bettorId} shares a ${kinds.join(' and ')} with the channel's owner and bet on the owner's market`,
      evidence: {
        betId: input.betId,
        stakeMinor: input.stakeMinor.toString(),
        sharedLinks: shared.map((l) => ({ kind: l.kind, id: l.id })),
      },
      dedupeKey: `alt:${input.marketId}:${input.bettorId}`,
    },
  ];
}

/** One bet as the late-bet rule sees it. */
export interface LateBet {
  readonly betId: string;
  readonly userId: string;
  readonly placedAtMs: number;
  readonly deviceId: string;
  readonly networkId: string;
}

/**
 * LATE_BET_CLUSTER: at a manual or retroactive lock, the bets placed from `window` before the
 * effective instant up to the lock, grouped by device and by network; a group of at least
 * `lateBetMinAccounts` distinct accounts is a cluster.
 */
export function lateBetCluster(
  input: {
    readonly marketId: string;
    readonly channelId: string;
    readonly lockEffectiveAtMs: number;
    readonly lockedAtMs: number;
    readonly bets: readonly LateBet[];
  },
  t: FraudThresholds,
): FlagDraft[] {
  const from = input.lockEffectiveAtMs - t.lateBetWindowMs;
  const late = input.bets.filter((b) => b.placedAtMs >= from && b.placedAtMs <= input.lockedAtMs);
  const drafts: FlagDraft[] = [];
  for (const kind of ['device', 'network'] as const) {
    const groups = new Map<string, LateBet[]>();
    for (const bet of late) {
      const id = kind === 'device' ? bet.deviceId : bet.networkId;
      if (id === '') continue;
      groups.set(id, [...(groups.get(id) ?? []), bet]);
    }
    for (const [id, bets] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const users = [...new Set(bets.map((b) => b.userId))].sort();
      if (users.length < t.lateBetMinAccounts) continue;
      const before = bets.map((b) => input.lockEffectiveAtMs - b.placedAtMs);
      const seconds = (ms: number) => Math.round(ms / 100) / 10;
      drafts.push({
        rule: 'LATE_BET_CLUSTER',
        userIds: users,
        channelId: input.channelId,
        marketId: input.marketId,
        summary: `${users.length} accounts on ${kind} ${id.slice(0, 8)} bet ${seconds(Math.min(...before))}–${seconds(Math.max(...before))} s before the lock`,
        evidence: {
          [`${kind}Id`]: id,
          lockEffectiveAtMs: input.lockEffectiveAtMs,
          lockedAtMs: input.lockedAtMs,
          bets: bets.map((b) => ({ betId: b.betId, userId: b.userId, placedAtMs: b.placedAtMs })),
        },
        dedupeKey: `late:${input.marketId}:${kind}:${id}`,
      });
    }
  }
  return drafts;
}

/**
 * DEPOSIT_WITHDRAW_CYCLING: a withdrawal that takes most of the lookback's deposits back out after
 * little betting (money laundering through the wallet, or card testing).
 */
export function depositWithdrawCycling(
  input: {
    readonly userId: string;
    readonly paymentId: string;
    readonly withdrawalMinor: bigint;
    readonly atMs: number;
    readonly deposits: ReadonlyArray<{ readonly amountMinor: bigint; readonly atMs: number }>;
    readonly stakedMinor: bigint;
  },
  t: FraudThresholds,
): FlagDraft[] {
  const deposits = input.deposits.filter(
    (d) => d.atMs <= input.atMs && d.atMs >= input.atMs - t.cyclingLookbackMs,
  );
  const deposited = deposits.reduce((sum, d) => sum + d.amountMinor, 0n);
  if (deposited < t.cyclingMinDepositMinor || deposited === 0n) return [];
  const littleBetting = input.stakedMinor * 10_000n < deposited * BigInt(t.cyclingMaxStakeBps);
  const takesItBack =
    input.withdrawalMinor * 10_000n >= deposited * BigInt(t.cyclingMinWithdrawBps);
  if (!littleBetting || !takesItBack) return [];
  return [
    {
      rule: 'DEPOSIT_WITHDRAW_CYCLING',
      userIds: [input.userId],
      channelId: '',
      marketId: '',
      summary: `withdrawal of ${input.withdrawalMinor} after depositing ${deposited} and staking ${input.stakedMinor} within ${Math.round(t.cyclingLookbackMs / 3_600_000)} h`,
      evidence: {
        paymentId: input.paymentId,
        withdrawalMinor: input.withdrawalMinor.toString(),
        depositedMinor: deposited.toString(),
        deposits: deposits.length,
        stakedMinor: input.stakedMinor.toString(),
      },
      dedupeKey: `cycle:${input.paymentId}`,
    },
  ];
}

/** VELOCITY_SPIKE: a user placing at least `velocityMaxBets` bets within the window. */
export function velocitySpike(
  input: { readonly userId: string; readonly atMs: number; readonly betTimesMs: readonly number[] },
  t: FraudThresholds,
): FlagDraft[] {
  const recent = input.betTimesMs.filter(
    (ms) => ms <= input.atMs && ms > input.atMs - t.velocityWindowMs,
  );
  if (recent.length < t.velocityMaxBets) return [];
  return [
    {
      rule: 'VELOCITY_SPIKE',
      userIds: [input.userId],
      channelId: '',
      marketId: '',
      summary: `${recent.length} bets within ${Math.round(t.velocityWindowMs / 1000)} s`,
      evidence: { bets: recent.length, windowMs: t.velocityWindowMs, lastAtMs: input.atMs },
      dedupeKey: `velocity:${input.userId}:${Math.floor(input.atMs / t.velocityWindowMs)}`,
    },
  ];
}

/** REPEATED_RETROACTIVE_VOIDS: a user whose bets keep being voided by retroactive locks. */
export function repeatedRetroactiveVoids(
  input: {
    readonly userId: string;
    readonly atMs: number;
    readonly voids: ReadonlyArray<{
      readonly betId: string;
      readonly marketId: string;
      readonly atMs: number;
    }>;
  },
  t: FraudThresholds,
): FlagDraft[] {
  const recent = input.voids.filter(
    (v) => v.atMs <= input.atMs && v.atMs > input.atMs - t.retroVoidLookbackMs,
  );
  const markets = [...new Set(recent.map((v) => v.marketId))];
  if (markets.length < t.retroVoidMinCount) return [];
  return [
    {
      rule: 'REPEATED_RETROACTIVE_VOIDS',
      userIds: [input.userId],
      channelId: '',
      marketId: '',
      summary: `bets voided by retroactive locks on ${markets.length} markets within ${Math.round(t.retroVoidLookbackMs / 3_600_000)} h`,
      evidence: { voidedBets: recent.map((v) => ({ betId: v.betId, marketId: v.marketId })) },
      dedupeKey: `retro:${input.userId}:${Math.floor(input.atMs / t.retroVoidLookbackMs)}`,
    },
  ];
}
