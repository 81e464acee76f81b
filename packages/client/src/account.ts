/**
 * Account screens' logic, framework-free (web and React Native): what a Login answered (a session,
 * or the second step of two-step verification), whether a refused call wants a second-factor
 * code, how codes are typed, and how sessions read in a list.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import type { Session as SignedInSession } from './session.js';
import type {
  LoginResponse,
  CompleteLoginResponse,
  Session as DeviceSession,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';

/** What a Login (or CompleteLogin) answer means for the client. */
export type LoginOutcome =
  | { readonly kind: 'session'; readonly session: SignedInSession }
  | { readonly kind: 'second-step'; readonly token: string; readonly expiresAtMs: number }
  | { readonly kind: 'none' };

/** Reads a LoginResponse or CompleteLoginResponse. */
export function loginOutcome(res: LoginResponse | CompleteLoginResponse): LoginOutcome {
  if (res.user !== undefined && res.tokens !== undefined) {
    return { kind: 'session', session: { user: res.user, tokens: res.tokens } };
  }
  if ('secondStepToken' in res && res.secondStepToken !== '') {
    return {
      kind: 'second-step',
      token: res.secondStepToken,
      expiresAtMs: Number(res.secondStepExpiresAtMs),
    };
  }
  return { kind: 'none' };
}

/**
 * True when the server refused a call because two-step verification is on and no code came with
 * it (the screen then shows the code field).
 */
export function needsSecondFactor(error: unknown): boolean {
  const e = ConnectError.from(error);
  return (
    e.code === Code.InvalidArgument && /(second_factor_code|code): is required/.test(e.rawMessage)
  );
}

/** A typed code as sent: spaces dropped; recovery codes keep their letters and dash. */
export function cleanCode(input: string): string {
  return input.replace(/\s+/g, '');
}

/** True when `input` looks like a 6-digit code or a recovery code (xxxxx-xxxxx). */
export function isCodeShaped(input: string): boolean {
  const code = cleanCode(input).toLowerCase();
  return /^\d{6}$/.test(code) || /^[a-z2-7]{5}-?[a-z2-7]{5}$/.test(code);
}

/** The QR code SVG of BeginTwoStep as an image URL. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** The secret in groups of 4, easier to type into an app. */
export function groupSecret(secretBase32: string): string {
  return secretBase32.replace(/(.{4})(?=.)/g, '$1 ');
}

/** A session as one line: the app, the device, and when it was last used. */
export function sessionLabel(session: DeviceSession, nowMs: number): string {
  const app = session.clientApp === '' ? 'Unknown app' : session.clientApp;
  const device = session.deviceId === '' ? '' : ` (device ${session.deviceId.slice(0, 8)})`;
  return `${app}${device}, ${sinceText(nowMs - Number(session.lastUsedAtMs))}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function sinceText(agoMs: number): string {
  if (agoMs < 60_000) return 'used just now';
  if (agoMs < 3_600_000) return `used ${Math.floor(agoMs / 60_000)} min ago`;
  if (agoMs < 86_400_000) return `used ${Math.floor(agoMs / 3_600_000)} h ago`;
  const days = Math.floor(agoMs / 86_400_000);
  return `used ${days} day${days === 1 ? '' : 's'} ago`;
}
