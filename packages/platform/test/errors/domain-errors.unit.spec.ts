import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DomainError,
  ResourceExhaustedError,
  UnavailableError,
  ValidationError,
  retryAfterSeconds,
} from '../../src/errors/domain-errors.js';

describe('domain errors', () => {
  it('carry their kind and an actionable message', () => {
    const error = new ValidationError('bet request is invalid', [
      { field: 'stake_minor', description: 'must be positive' },
    ]);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.kind).toBe('validation');
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('bet request is invalid: stake_minor: must be positive');
    expect(error.violations).toEqual([{ field: 'stake_minor', description: 'must be positive' }]);
  });

  it('round retry-after up to whole seconds, never below 1', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(new ResourceExhaustedError('slow down', { retryAfterMs: 1500 }).message).toBe(
      'slow down (retry after 2s)',
    );
    expect(new UnavailableError('ledger down').message).toBe('ledger down');
  });

  it('stay pure: the module imports nothing (no Connect, no node:*)', () => {
    const source = readFileSync(
      new URL('../../src/errors/domain-errors.ts', import.meta.url),
      'utf8',
    );
    expect(source).not.toMatch(/^\s*import\s/m);
  });
});
