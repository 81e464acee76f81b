/**
 * Small React hooks shared by the screens: a polling interval that can be switched off, a clock
 * that ticks, and the text of an error for people.
 */
import { useEffect, useEffectEvent, useState } from 'react';
import { Code, ConnectError } from '@connectrpc/connect';

/** Calls `tick` every `periodMs` (not at all when undefined), always the latest `tick`. */
export function useInterval(tick: () => void, periodMs: number | undefined): void {
  const onTick = useEffectEvent(tick);
  useEffect(() => {
    if (periodMs === undefined) return undefined;
    const timer = setInterval(() => onTick(), periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
}

/** The wall clock in ms, updated every `periodMs` (countdowns, betting windows). */
export function useNow(periodMs = 1_000): number {
  const [nowMs, setNowMs] = useState(() => Date.now());
  useInterval(() => setNowMs(Date.now()), periodMs);
  return nowMs;
}

/** An error as a sentence: the server's message for Connect errors (never a stack trace). */
export function errorText(error: unknown): string {
  const connect = ConnectError.from(error);
  if (connect.code === Code.Unavailable || connect.code === Code.Unknown) {
    return `The server could not be reached (${connect.rawMessage}). Retrying…`;
  }
  return connect.rawMessage;
}
