import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { UserSchema } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  CompleteLoginResponseSchema,
  LoginResponseSchema,
  SessionSchema,
  TokenPairSchema,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  cleanCode,
  groupSecret,
  isCodeShaped,
  loginOutcome,
  needsSecondFactor,
  sessionLabel,
  sinceText,
  svgDataUrl,
} from '@streambet/client/account';

describe('account logic', () => {
  it('given a login answer, then it is a session, a second step, or nothing', () => {
    const user = create(UserSchema, { userId: 'u1' });
    const tokens = create(TokenPairSchema, { accessToken: 'a' });
    expect(loginOutcome(create(LoginResponseSchema, { user, tokens }))).toEqual({
      kind: 'session',
      session: { user, tokens },
    });
    expect(
      loginOutcome(
        create(LoginResponseSchema, { secondStepToken: 'sbls_x', secondStepExpiresAtMs: 5n }),
      ),
    ).toEqual({ kind: 'second-step', token: 'sbls_x', expiresAtMs: 5 });
    expect(loginOutcome(create(CompleteLoginResponseSchema, {}))).toEqual({ kind: 'none' });
  });

  it('given a refusal, then only a missing second-factor code asks for the code field', () => {
    const missing = new ConnectError(
      'second factor refused: second_factor_code: is required: two-step verification is on',
      Code.InvalidArgument,
    );
    expect(needsSecondFactor(missing)).toBe(true);
    expect(
      needsSecondFactor(
        new ConnectError(
          'second factor refused: second_factor_code: is not the current code',
          Code.InvalidArgument,
        ),
      ),
    ).toBe(false);
    expect(needsSecondFactor(new ConnectError('is required', Code.Internal))).toBe(false);
  });

  it('given typed codes, then spaces go and only code shapes pass', () => {
    expect(cleanCode(' 123 456 ')).toBe('123456');
    expect(isCodeShaped('123 456')).toBe(true);
    expect(isCodeShaped('ABCDE-FGH23')).toBe(true);
    expect(isCodeShaped('abcdefgh23')).toBe(true);
    expect(isCodeShaped('12345')).toBe(false);
    expect(isCodeShaped('abcde-fgh1')).toBe(false);
  });

  it('given a secret and an SVG, then they display', () => {
    expect(groupSecret('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
    expect(svgDataUrl('<svg a="1"/>')).toBe(
      'data:image/svg+xml;charset=utf-8,%3Csvg%20a%3D%221%22%2F%3E',
    );
  });

  it('given sessions, then each reads as app, device and last use', () => {
    const nowMs = 10 * 86_400_000;
    const s = create(SessionSchema, {
      clientApp: 'web',
      deviceId: 'abcdef123456',
      lastUsedAtMs: BigInt(nowMs - 5 * 60_000),
    });
    expect(sessionLabel(s, nowMs)).toBe('web (device abcdef12), used 5 min ago');
    expect(sessionLabel(create(SessionSchema, { lastUsedAtMs: BigInt(nowMs) }), nowMs)).toBe(
      'Unknown app, used just now',
    );
    expect(sinceText(3 * 3_600_000)).toBe('used 3 h ago');
    expect(sinceText(86_400_000)).toBe('used 1 day ago');
    expect(sinceText(2 * 86_400_000)).toBe('used 2 days ago');
  });
});
