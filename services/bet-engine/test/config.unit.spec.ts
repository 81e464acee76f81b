/** The bet engine's own configuration variables (the platform's are tested with the platform). */
import { describe, expect, it } from 'vitest';
import { betEngineConfigSpec } from '../src/config.js';

const batchesInFlight = betEngineConfigSpec.BET_ENGINE_BATCHES_IN_FLIGHT;

describe('bet-engine config', () => {
  it('runs 3 placement batches at once unless BET_ENGINE_BATCHES_IN_FLIGHT says otherwise', () => {
    expect(batchesInFlight.schema.parse(batchesInFlight.default)).toBe(3);
    expect(batchesInFlight.schema.parse('6')).toBe(6);
  });

  it('refuses a count outside 1-64 or not a whole number', () => {
    for (const bad of ['0', '65', 'three', '2.5', '']) {
      expect(batchesInFlight.schema.safeParse(bad).success).toBe(false);
    }
  });
});
