/**
 * The dev mailbox: the emails the user service wrote to its mail outbox, newest first, as an HTML
 * page or JSON. Served only in embedded mode without SMTP (app.ts), where the outbox is the only
 * place mail goes, so `npm start`'s demo can show the verification and reset emails it sends. The
 * gateway passes `/dev/mailbox` through to it in embedded mode (gateway/src/dev-mailbox.ts).
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { mailQueries, type MailRow } from './mail-outbox.js';

/** Where the user service serves the mailbox. */
export const mailboxPath = '/dev/mailbox';

const maxListed = 100;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page of `mails`. */
export function renderMailbox(mails: readonly MailRow[], to: string): string {
  const items = mails
    .map(
      (m) => `<article><h2>${escapeHtml(m.subject)}</h2>
<p class="meta">to <a href="?to=${encodeURIComponent(m.to)}">${escapeHtml(m.to)}</a> · ${escapeHtml(m.kind)} · ${new Date(m.createdAtMs).toISOString()} · ${m.sentAtMs === null ? 'queued' : 'delivered'} · <code>${escapeHtml(m.messageId)}</code></p>
<pre>${escapeHtml(m.text)}</pre></article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamBet dev mailbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}article{border-bottom:1px solid #ddd;padding:.5rem 0}.meta{color:#666;font-size:.9em}pre{white-space:pre-wrap}</style>
</head><body>
<h1>Dev mailbox${to === '' ? '' : ` of ${escapeHtml(to)}`}</h1>
<p>Emails the platform sent (embedded mode keeps them here instead of sending them), newest first${to === '' ? '' : ' · <a href="?">all addresses</a>'} · <a href="?format=json${to === '' ? '' : `&amp;to=${encodeURIComponent(to)}`}">JSON</a></p>
${items === '' ? '<p>No emails yet.</p>' : items}
</body></html>`;
}

/** The answer to a GET of the mailbox with `search` (`?to=<address>`, `?format=json`). */
export async function mailboxResponse(
  db: SqlExecutor,
  search: URLSearchParams,
): Promise<{ contentType: string; body: string }> {
  const to = (search.get('to') ?? '').trim().toLowerCase().slice(0, 254);
  const mails = await mailQueries.listMailbox(db, to, maxListed);
  if (search.get('format') === 'json') {
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        mails: mails.map((m) => ({
          messageId: m.messageId,
          kind: m.kind,
          to: m.to,
          subject: m.subject,
          text: m.text,
          createdAtMs: m.createdAtMs,
          sentAtMs: m.sentAtMs,
        })),
      }),
    };
  }
  return { contentType: 'text/html; charset=utf-8', body: renderMailbox(mails, to) };
}
