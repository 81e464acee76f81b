import { create } from '@bufbuild/protobuf';
import { ListValueSchema, StructSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { maxTextChars, stringLengthViolations } from '../../src/rpc/input-limits.js';

describe('stringLengthViolations', () => {
  it('given strings within their limits, then there is nothing to refuse', () => {
    const struct = create(StructSchema, {
      fields: { title: { kind: { case: 'stringValue', value: 'x'.repeat(maxTextChars) } } },
    });
    expect(stringLengthViolations(StructSchema, struct)).toEqual([]);
  });

  it('given an over-long string in a map value, a oneof and a list, then each is named by its path, never quoted', () => {
    const long = 'y'.repeat(maxTextChars + 1);
    const struct = create(StructSchema, {
      fields: { note: { kind: { case: 'stringValue', value: long } } },
    });
    expect(stringLengthViolations(StructSchema, struct)).toEqual([
      {
        field: 'fields value.string_value',
        description: `is ${maxTextChars + 1} characters long; at most ${maxTextChars} are accepted`,
      },
    ]);
    const list = create(ListValueSchema, {
      values: [
        { kind: { case: 'stringValue', value: 'short' } },
        { kind: { case: 'stringValue', value: long } },
      ],
    });
    expect(stringLengthViolations(ListValueSchema, list).map((v) => v.field)).toEqual([
      'values[1].string_value',
    ]);
  });

  it('given an over-long map key, then the key is named', () => {
    const struct = create(StructSchema, {
      fields: { ['k'.repeat(maxTextChars + 1)]: { kind: { case: 'boolValue', value: true } } },
    });
    expect(stringLengthViolations(StructSchema, struct).map((v) => v.field)).toEqual([
      'fields key',
    ]);
  });

  it('given thousands of over-long entries, then at most three are listed (the message stays short)', () => {
    const long = 'z'.repeat(maxTextChars + 1);
    const list = create(ListValueSchema, {
      values: Array.from({ length: 5000 }, () => ({
        kind: { case: 'stringValue' as const, value: long },
      })),
    });
    expect(stringLengthViolations(ListValueSchema, list)).toHaveLength(3);
  });
});
