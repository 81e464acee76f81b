import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  ChatMessageSchema,
  type ChatMessage,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { addChatMessages, chatLogLimit, emptyChatLog, removeChatUser } from '../src/chat-log.js';

function message(n: number, userId = 'u1', channelId = 'c1'): ChatMessage {
  return create(ChatMessageSchema, {
    messageId: `01J${n.toString().padStart(10, '0')}`,
    channelId,
    userId,
    text: `message ${n}`,
    sentAtMs: BigInt(n),
  });
}

describe('the chat log', () => {
  it('given a history and a push that repeats one of it, then each message shows once, in id order', () => {
    let log = addChatMessages(emptyChatLog('c1'), [message(1), message(3)]);
    log = addChatMessages(log, [message(2)]);
    log = addChatMessages(log, [message(3)]);
    expect(log.messages.map((m) => m.text)).toEqual(['message 1', 'message 2', 'message 3']);
  });

  it('given messages of another channel, then the log is unchanged', () => {
    const log = emptyChatLog('c1');
    expect(addChatMessages(log, [message(1, 'u1', 'c2')])).toBe(log);
  });

  it('given a ban, then the banned user messages disappear and the others stay', () => {
    let log = addChatMessages(emptyChatLog('c1'), [message(1, 'u1'), message(2, 'u2')]);
    log = removeChatUser(log, 'c1', 'u1');
    expect(log.messages.map((m) => m.userId)).toEqual(['u2']);
    expect(removeChatUser(log, 'c2', 'u2')).toBe(log);
  });

  it('given more messages than the limit, then only the newest are kept', () => {
    const many = Array.from({ length: chatLogLimit + 25 }, (_, i) => message(i + 1));
    const log = addChatMessages(emptyChatLog('c1'), many);
    expect(log.messages).toHaveLength(chatLogLimit);
    expect(log.messages[0]!.text).toBe('message 26');
  });
});
