/**
 * The channel's chat next to the markets: the history sent on joining, new messages live, and a
 * box to write in (signed-in viewers). A refusal (rate limit, slow mode, ban, chat off) is shown
 * as the server's sentence and the text stays in the box. The channel's owner and admins moderate
 * here: time a user out or ban them from a message, and switch slow mode.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type {
  ChatMessage,
  ChatSettings,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import type { Api } from '@streambet/client';
import type { ChatSendAck } from '@streambet/client/realtime';
import type { ChatLog } from '@streambet/client/view';
import { errorText } from '../hooks.js';
import './channel.css';

/** Props of {@link ChatPanel}. */
export interface ChatPanelProps {
  readonly api: Api;
  readonly channelId: string;
  readonly chat: ChatLog;
  /** The last pushed settings; the panel loads them once itself. */
  readonly pushedSettings: ChatSettings | undefined;
  readonly signedIn: boolean;
  /** The channel's owner or an admin: moderation controls are shown (the server checks). */
  readonly moderator: boolean;
  readonly live: boolean;
  readonly send: (text: string, clientMessageId: string) => Promise<ChatSendAck>;
}

const maxChars = 500;
const slowModeChoices = [0, 5, 30, 120] as const;

function newClientMessageId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function badge(message: ChatMessage): string | undefined {
  if (message.isChannelOwner) return 'Streamer';
  if (message.roles.includes(Role.ADMIN)) return 'Admin';
  return undefined;
}

/** The chat column of a channel page. */
export function ChatPanel(props: ChatPanelProps) {
  const { api, channelId, chat, signedIn, moderator } = props;
  const [text, setText] = useState('');
  const [pendingId, setPendingId] = useState<string>();
  const [sending, setSending] = useState(false);
  const [refusal, setRefusal] = useState<string>();
  const [loadedSettings, setLoadedSettings] = useState<ChatSettings>();
  const [modNote, setModNote] = useState<string>();
  const listRef = useRef<HTMLDivElement>(null);
  const settings = props.pushedSettings ?? loadedSettings;

  useEffect(() => {
    let stale = false;
    api.chat
      .getChatSettings({ channelId })
      .then((res) => {
        if (!stale) setLoadedSettings(res.settings);
      })
      .catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [api, channelId]);

  // Keep the newest message in view as messages arrive.
  useEffect(() => {
    const list = listRef.current;
    if (list !== null) list.scrollTop = list.scrollHeight;
  }, [chat.messages.length]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const trimmed = text.trim();
    if (trimmed === '' || sending) return;
    // A resend of the same text after a timeout reuses its id, so it is delivered once.
    const clientMessageId = pendingId ?? newClientMessageId();
    setPendingId(clientMessageId);
    setSending(true);
    const ack = await props.send(trimmed, clientMessageId);
    setSending(false);
    if (ack.ok) {
      setText('');
      setPendingId(undefined);
      setRefusal(undefined);
    } else {
      if (ack.code !== 'UNAVAILABLE') setPendingId(undefined);
      setRefusal(ack.message);
    }
  }

  async function ban(message: ChatMessage, durationSeconds: bigint) {
    const what = durationSeconds === 0n ? 'Ban' : 'Time out';
    if (!window.confirm(`${what} ${message.displayName || 'this user'} in this channel's chat?`)) {
      return;
    }
    try {
      await api.chat.banChatUser({
        channelId,
        userId: message.userId,
        durationSeconds,
        reason: `from chat: "${message.text.slice(0, 80)}"`,
      });
      setModNote(
        `${message.displayName || 'The user'} ${durationSeconds === 0n ? 'is banned' : 'is timed out for 10 minutes'}.`,
      );
    } catch (e) {
      setModNote(errorText(e));
    }
  }

  async function setSlowMode(seconds: number) {
    try {
      const res = await api.chat.setChatSettings({ channelId, slowModeSeconds: seconds });
      setLoadedSettings(res.settings);
      setModNote(
        seconds === 0 ? 'Slow mode is off.' : `Slow mode: one message every ${seconds} s.`,
      );
    } catch (e) {
      setModNote(errorText(e));
    }
  }

  const chatOff = settings !== undefined && !settings.chatEnabled;
  return (
    <section className="panel chat" aria-labelledby="chat-title" data-testid="chat">
      <h2 id="chat-title">Chat</h2>
      {settings !== undefined && settings.slowModeSeconds > 0 && (
        <p className="muted" data-testid="chat-slow-mode">
          Slow mode: one message every {settings.slowModeSeconds} s.
        </p>
      )}
      <div
        className="chat-messages"
        ref={listRef}
        role="log"
        aria-live="polite"
        aria-label="Chat messages"
        tabIndex={0}
        data-testid="chat-messages"
      >
        <ol>
          {chat.messages.length === 0 && <li className="muted">No messages yet.</li>}
          {chat.messages.map((m) => (
            <li key={m.messageId} data-testid="chat-message" data-user-id={m.userId}>
              <span className="chat-author">
                {m.displayName || 'viewer'}
                {badge(m) !== undefined && <span className="chat-badge"> {badge(m)}</span>}
              </span>{' '}
              <span className="chat-text">{m.text}</span>
              {moderator && !m.isChannelOwner && (
                <span className="chat-mod">
                  <button
                    type="button"
                    data-testid="chat-timeout"
                    aria-label={`Time out ${m.displayName || 'this user'} for 10 minutes`}
                    onClick={() => void ban(m, 600n)}
                  >
                    10 min
                  </button>
                  <button
                    type="button"
                    data-testid="chat-ban"
                    aria-label={`Ban ${m.displayName || 'this user'}`}
                    onClick={() => void ban(m, 0n)}
                  >
                    Ban
                  </button>
                </span>
              )}
            </li>
          ))}
        </ol>
      </div>
      {signedIn ? (
        <form className="chat-form" onSubmit={(e) => void onSubmit(e)}>
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <input
            id="chat-input"
            data-testid="chat-input"
            value={text}
            maxLength={maxChars}
            placeholder={chatOff ? 'Chat is off' : 'Say something'}
            disabled={chatOff}
            autoComplete="off"
            onChange={(e) => {
              setText(e.target.value);
              setPendingId(undefined);
            }}
          />
          <button type="submit" data-testid="chat-send" disabled={sending || chatOff}>
            Send
          </button>
        </form>
      ) : (
        <p className="muted">Log in to chat.</p>
      )}
      {refusal !== undefined && (
        <p className="error" role="alert" data-testid="chat-refusal">
          {refusal}
        </p>
      )}
      {moderator && (
        <div className="chat-moderation" role="group" aria-label="Slow mode">
          <span className="muted">Slow mode:</span>
          {slowModeChoices.map((s) => (
            <button
              key={s}
              type="button"
              aria-pressed={(settings?.slowModeSeconds ?? 0) === s}
              data-testid={`chat-slow-${s}`}
              onClick={() => void setSlowMode(s)}
            >
              {s === 0 ? 'Off' : `${s} s`}
            </button>
          ))}
        </div>
      )}
      {modNote !== undefined && (
        <p className="notice" role="status" data-testid="chat-mod-note">
          {modNote}
        </p>
      )}
    </section>
  );
}
