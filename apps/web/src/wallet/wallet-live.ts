/**
 * The signed-in user's wallet balances, live: loaded by GetWallet (on mount, on `refreshKey`, and
 * by polling, slower while pushes arrive) and updated by the ledger's wallet.* pushes, each applied
 * only when its ledger sequence is higher than the one shown (`applyWalletPush`). Pushes reach the
 * page through {@link publishWalletPushes}, so every balance display on it (the header's
 * WalletPanel, the wallet screen) follows the same rule from the same socket.
 */
import { useCallback, useEffect, useEffectEvent, useRef, useState } from 'react';
import type { Api } from '@streambet/client';
import {
  applyLoadedWallet,
  applyWalletPush,
  emptyWalletBook,
  type WalletBook,
  type WalletSnapshot,
} from '@streambet/client/view';
import { errorText, useInterval } from '../hooks.js';

type Listener = (snapshots: readonly WalletSnapshot[]) => void;
const listeners = new Set<Listener>();

/** Hands pushed wallet snapshots to every balance display on the page. */
export function publishWalletPushes(snapshots: readonly WalletSnapshot[]): void {
  if (snapshots.length === 0) return;
  for (const listener of listeners) listener(snapshots);
}

/** What {@link useWalletBook} answers. */
export interface LiveWallet {
  readonly book: WalletBook;
  readonly error: string | undefined;
  /** Reloads by RPC now (after a payment changed). */
  readonly reload: () => Promise<void>;
}

/** The live balances (see the file comment); `live` = a socket is delivering pushes. */
export function useWalletBook(api: Api, refreshKey: number, live: boolean): LiveWallet {
  const [book, setBook] = useState<WalletBook>(emptyWalletBook);
  const [error, setError] = useState<string>();
  const bookRef = useRef(book);
  useEffect(() => {
    bookRef.current = book;
  }, [book]);
  const reload = useCallback(async () => {
    const pushesAtStart = bookRef.current.pushes;
    try {
      const { balances } = await api.users.getWallet({});
      setBook((current) => applyLoadedWallet(current, balances, pushesAtStart));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api]);
  useEffect(() => {
    void reload();
  }, [reload, refreshKey]);
  useInterval(() => void reload(), live ? 15_000 : 3_000);
  useEffect(() => {
    const listener: Listener = (snapshots) =>
      setBook((current) => applyWalletPush(current, snapshots));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return { book, error, reload };
}

/** Runs `run` (its latest version) on mount and whenever `key` changes, e.g. on a push. */
export function useOnKey(run: () => void, key: number): void {
  const onKey = useEffectEvent(run);
  useEffect(() => {
    onKey();
  }, [key]);
}
