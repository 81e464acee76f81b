/** A failed payment call as a sentence for people (see paymentErrorSentence). */
import { ConnectError } from '@connectrpc/connect';
import { paymentErrorSentence } from '@streambet/client/view';

/** The sentence for `error` of a payment RPC in `currency`. */
export function paymentErrorText(error: unknown, currency: string): string {
  const connect = ConnectError.from(error);
  return paymentErrorSentence(connect.code, connect.rawMessage, currency);
}
