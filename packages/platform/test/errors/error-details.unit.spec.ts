/**
 * A domain error's structured details reach the client's status as they were built, in order;
 * an error without details sends none.
 */
import { create } from '@bufbuild/protobuf';
import { DurationSchema, StringValueSchema } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { IllegalStateError, NotFoundError } from '@streambet/platform/errors/domain-errors';
import { toClientError } from '@streambet/platform/errors/error-interceptor';
import { createLogger } from '@streambet/platform/log/logger';

const context = {
  logger: createLogger({ service: 'test', level: 'silent' }),
  requestId: 'req-1',
  procedure: 'test.v1.Test/Do',
};

describe('domain error details', () => {
  it('given an error with details, then the status carries each detail and keeps code and message', () => {
    const error = new IllegalStateError('cooling off until tomorrow', {
      details: [
        { desc: DurationSchema, value: create(DurationSchema, { seconds: 86_400n }) },
        { desc: StringValueSchema, value: create(StringValueSchema, { value: 'COOL_OFF' }) },
      ],
    });
    const sent = toClientError(error, context);
    expect(sent.code).toBe(Code.FailedPrecondition);
    expect(sent.rawMessage).toBe('cooling off until tomorrow');
    expect(sent.findDetails(DurationSchema).map((d) => d.seconds)).toEqual([86_400n]);
    expect(sent.findDetails(StringValueSchema).map((d) => d.value)).toEqual(['COOL_OFF']);
    expect(sent.cause).toBe(error);
  });

  it('given an error without details, then the status has none', () => {
    const sent = toClientError(new NotFoundError('no user with id "x"'), context);
    expect(sent.code).toBe(Code.NotFound);
    expect(sent.details).toEqual([]);
  });
});
