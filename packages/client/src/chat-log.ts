/**
 * A channel's chat as the screen shows it: the history a join sends, then pushed messages, in
 * server order (message ids are time-ordered ULIDs), each once (a history and a push may carry the
 * same message after a reconnect), without the messages of users banned meanwhile, and bounded so
 * a long stream never grows the page's memory. Pure; web and React Native share it.
 */
import type { ChatMessage } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';

/** Messages kept on screen; older ones scroll away for good. */
export const chatLogLimit = 200;

/** The chat of one channel. */
export interface ChatLog {
  readonly channelId: string;
  /** Oldest first. */
  readonly messages: readonly ChatMessage[];
}

/** An empty chat of `channelId`. */
export function emptyChatLog(channelId: string): ChatLog {
  return { channelId, messages: [] };
}

function mergeSorted(
  held: readonly ChatMessage[],
  incoming: readonly ChatMessage[],
): ChatMessage[] {
  const byId = new Map<string, ChatMessage>();
  for (const m of held) byId.set(m.messageId, m);
  for (const m of incoming) byId.set(m.messageId, m);
  const merged = [...byId.values()].sort((a, b) =>
    a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0,
  );
  return merged.length > chatLogLimit ? merged.slice(merged.length - chatLogLimit) : merged;
}

/** Adds messages (a history or one push) of the log's channel; others are ignored. */
export function addChatMessages(log: ChatLog, messages: readonly ChatMessage[]): ChatLog {
  const mine = messages.filter((m) => m.channelId === log.channelId);
  if (mine.length === 0) return log;
  return { ...log, messages: mergeSorted(log.messages, mine) };
}

/** Hides every message of `userId` (a ban in the log's channel). */
export function removeChatUser(log: ChatLog, channelId: string, userId: string): ChatLog {
  if (channelId !== log.channelId) return log;
  const messages = log.messages.filter((m) => m.userId !== userId);
  return messages.length === log.messages.length ? log : { ...log, messages };
}
