/**
 * The wallet screen's realtime connection (the channel page has its own): the user's room is
 * joined at the handshake, so it receives the user's wallet.* and payment.* pushes. Wallet
 * snapshots go to every balance display ({@link publishWalletPushes}); payment events make the
 * screen reload the payment they name.
 */
import { useEffect, useEffectEvent, useState } from 'react';
import { connectRealtime } from '@streambet/client/realtime';
import { walletSnapshotsOf } from '@streambet/client/view';
import { publishWalletPushes } from './wallet-live.js';

/** Connects while `token` is set; answers whether the socket is connected. */
export function useWalletSocket(
  origin: string,
  token: string | undefined,
  userId: string | undefined,
  onUserEvent: (eventName: string) => void,
): boolean {
  const [live, setLive] = useState(false);
  const onEvent = useEffectEvent(onUserEvent);
  useEffect(() => {
    if (token === undefined || userId === undefined) return undefined;
    const connection = connectRealtime(
      origin,
      { token, userId },
      {
        onUpdate(update) {
          if (update.kind !== 'user') return;
          publishWalletPushes(walletSnapshotsOf(update.eventName, update.payload, userId));
          onEvent(update.eventName);
        },
        onConnectedChange: setLive,
      },
    );
    return () => {
      connection.close();
      setLive(false);
    };
    // A refreshed token of the same user keeps the socket (the server keeps its room).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [origin, userId]);
  return live;
}
