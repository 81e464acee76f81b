/**
 * Market templates (pool.proto MarketTemplate): a streamer's saved market definition, re-opened in
 * one call or when the stream goes online. Pure rules: the template's name, its definition checked
 * by the very rules of CreateMarket (so a template that saves is a template that opens, as long as
 * the channel's settings do not change underneath), the merge of a save into an existing template,
 * and the CreateMarket command a template opens.
 */
import {
  ConcurrencyError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import {
  decideCreate,
  type Actor,
  type CreateMarketCommand,
  type MarketDefaults,
  type MarketKind,
  type StakeLimits,
} from './market.js';

/** Most templates one channel may keep (the console lists them all on one screen). */
export const MAX_TEMPLATES_PER_CHANNEL = 50;
/** Longest template name, in characters after trimming. */
export const MAX_TEMPLATE_NAME_LENGTH = 60;

/** What a template opens: CreateMarket's definition without channel, mirroring or open-now. */
export interface TemplateDefinition {
  readonly title: string;
  readonly outcomeTitles: readonly string[];
  readonly currency: string;
  /** UNSPECIFIED when the request left it unset (refused by validation). */
  readonly kind: MarketKind | 'UNSPECIFIED';
  readonly stakeLimits: StakeLimits | undefined;
  readonly bettingWindowSeconds: number | undefined;
  readonly commissionBps: number | undefined;
  readonly autoLockOnOffline: boolean | undefined;
}

/** A stored template. */
export interface MarketTemplate {
  readonly templateId: string;
  readonly channelId: string;
  readonly name: string;
  readonly definition: TemplateDefinition;
  readonly openOnStreamOnline: boolean;
  readonly createdByUserId: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
  /** The market most recently opened from it ('' if none) and when (0 if none). */
  readonly lastMarketId: string;
  readonly lastOpenedAtMs: number;
}

/** The name as compared for uniqueness: trimmed and lower-cased. */
export function foldName(name: string): string {
  return name.trim().toLowerCase();
}

/** The CreateMarket command opening a market from `definition` (OPEN at once). */
export function templateCommand(definition: TemplateDefinition): CreateMarketCommand {
  return {
    title: definition.title,
    outcomes: definition.outcomeTitles.map((title) => ({ title, twitchOutcomeId: '' })),
    currency: definition.currency,
    kind: definition.kind,
    stakeLimits: definition.stakeLimits,
    bettingWindowSeconds: definition.bettingWindowSeconds,
    commissionBps: definition.commissionBps,
    autoLockOnOffline: definition.autoLockOnOffline,
    twitchPredictionId: '',
    openNow: true,
  };
}

/** Facts a save is checked against. */
export interface SaveTemplateContext {
  readonly actor: Actor;
  readonly channelId: string;
  readonly channelOwnerUserId: string;
  readonly defaults: MarketDefaults;
  readonly realCurrency: string;
  readonly nowMs: number;
}

/**
 * Checks a template's name and definition: the name is 1–60 characters after trimming, and the
 * definition must pass CreateMarket's decision as the caller on this channel now (ownership,
 * every field constraint, the commission floor for streamers). Returns the trimmed name and the
 * definition with trimmed texts. Throws the same errors CreateMarket would.
 */
export function validateTemplate(
  name: string,
  definition: TemplateDefinition,
  context: SaveTemplateContext,
): { name: string; definition: TemplateDefinition } {
  const trimmed = name.trim();
  const violations: FieldViolation[] = [];
  const length = [...trimmed].length;
  if (length < 1 || length > MAX_TEMPLATE_NAME_LENGTH) {
    violations.push({
      field: 'name',
      description: `must be 1–${MAX_TEMPLATE_NAME_LENGTH} characters after trimming`,
    });
  }
  // The definition's own checks are CreateMarket's: decide a throwaway market and keep nothing
  // but the verdict (ids and time do not influence it).
  let definitionViolations: readonly FieldViolation[] = [];
  try {
    decideCreate(templateCommand(definition), {
      actor: context.actor,
      channelId: context.channelId,
      channelOwnerUserId: context.channelOwnerUserId,
      defaults: context.defaults,
      realCurrency: context.realCurrency,
      nowMs: context.nowMs,
      marketId: 'template-check',
      outcomeIds: definition.outcomeTitles.map((_, index) => `outcome-${index}`),
    });
  } catch (error) {
    // Field violations are reported together with the name's; any other refusal (ownership,
    // commission floor, EXCHANGE not offered) is CreateMarket's, unchanged.
    if (!(error instanceof ValidationError)) throw error;
    definitionViolations = error.violations.map((violation) => ({
      ...violation,
      field: violation.field.replace(/^outcomes\[(\d+)\]\.title$/, 'outcome_titles[$1]'),
    }));
  }
  if (violations.length > 0 || definitionViolations.length > 0) {
    throw new ValidationError('invalid template', [...violations, ...definitionViolations]);
  }
  return {
    name: trimmed,
    definition: {
      ...definition,
      title: definition.title.trim(),
      outcomeTitles: definition.outcomeTitles.map((title) => title.trim()),
    },
  };
}

/** A non-zero expected version must equal the template's (optimistic concurrency → ABORTED). */
export function assertTemplateVersion(template: MarketTemplate, expectedVersion: number): void {
  if (expectedVersion !== 0 && expectedVersion !== template.version) {
    throw new ConcurrencyError(
      `template ${template.templateId} is at version ${template.version}, not ${expectedVersion}: re-read it and save again`,
    );
  }
}

/** True when a save would change nothing (the version then stays). */
export function sameTemplate(
  template: MarketTemplate,
  name: string,
  definition: TemplateDefinition,
  openOnStreamOnline: boolean,
): boolean {
  return (
    template.name === name &&
    template.openOnStreamOnline === openOnStreamOnline &&
    canonical(template.definition) === canonical(definition)
  );
}

function canonical(definition: TemplateDefinition): string {
  return JSON.stringify(
    {
      title: definition.title,
      outcomeTitles: definition.outcomeTitles,
      currency: definition.currency,
      kind: definition.kind,
      stakeLimits:
        definition.stakeLimits === undefined
          ? null
          : [
              definition.stakeLimits.minStakeMinor.toString(),
              definition.stakeLimits.maxStakePerBetMinor.toString(),
              definition.stakeLimits.maxStakePerUserMinor.toString(),
            ],
      bettingWindowSeconds: definition.bettingWindowSeconds ?? null,
      commissionBps: definition.commissionBps ?? null,
      autoLockOnOffline: definition.autoLockOnOffline ?? null,
    },
    undefined,
  );
}
