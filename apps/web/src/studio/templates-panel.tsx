/**
 * The channel's market templates: open a market from one in one click (OpenMarketFromTemplate,
 * one idempotency key per click), load one into the form to adjust it, delete one (confirmed).
 */
import { useState } from 'react';
import type { Market, MarketTemplate } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import { errorText } from '../hooks.js';

/** Props of {@link TemplatesPanel}. */
export interface TemplatesPanelProps {
  readonly api: Api;
  readonly templates: readonly MarketTemplate[];
  readonly error: string | undefined;
  readonly onOpened: (market: Market) => void;
  readonly onLoad: (template: MarketTemplate) => void;
  readonly onChanged: () => void;
}

/** Saved market definitions, each a button away from an open market. */
export function TemplatesPanel(props: TemplatesPanelProps) {
  const { api, templates } = props;
  const [busy, setBusy] = useState<string>();
  const [confirming, setConfirming] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [failure, setFailure] = useState<string>();

  async function open(template: MarketTemplate) {
    setBusy(template.templateId);
    try {
      const res = await api.pool.openMarketFromTemplate({
        templateId: template.templateId,
        idempotencyKey: crypto.randomUUID(),
      });
      if (res.market !== undefined) props.onOpened(res.market);
      setStatus(`Opened “${template.title}” from ${template.name}.`);
      setFailure(undefined);
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(undefined);
    }
  }

  async function remove(template: MarketTemplate) {
    setBusy(template.templateId);
    try {
      await api.pool.deleteMarketTemplate({ templateId: template.templateId });
      setConfirming(undefined);
      setStatus(`Deleted the template ${template.name}.`);
      props.onChanged();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <section className="panel" aria-labelledby="templates-title" data-testid="templates">
      <h2 id="templates-title">Templates</h2>
      {props.error !== undefined && <p className="error">{props.error}</p>}
      {templates.length === 0 && (
        <p className="muted small">Save a market as a template to open it again in one click.</p>
      )}
      <ul className="studio-templates">
        {templates.map((template) => (
          <li key={template.templateId} data-testid="template" data-template-name={template.name}>
            <div className="grow">
              <strong>{template.name}</strong>
              <span className="muted small">
                {' '}
                · {template.title} ({template.outcomeTitles.join(' / ')})
                {template.openOnStreamOnline ? ' · opens when live' : ''}
              </span>
            </div>
            {confirming === template.templateId ? (
              <span className="row" role="group" aria-label={`Confirm deleting ${template.name}`}>
                <button
                  type="button"
                  className="danger"
                  disabled={busy !== undefined}
                  onClick={() => void remove(template)}
                  data-testid="template-delete-confirm"
                >
                  Delete
                </button>
                <button type="button" onClick={() => setConfirming(undefined)}>
                  Keep
                </button>
              </span>
            ) : (
              <span className="row">
                <button
                  type="button"
                  className="primary"
                  disabled={busy !== undefined}
                  onClick={() => void open(template)}
                  data-testid="template-open"
                  aria-label={`Open a market from ${template.name}`}
                >
                  Open
                </button>
                <button
                  type="button"
                  onClick={() => props.onLoad(template)}
                  aria-label={`Edit ${template.name}`}
                  data-testid="template-load"
                >
                  Edit
                </button>
                <button
                  type="button"
                  onClick={() => setConfirming(template.templateId)}
                  aria-label={`Delete ${template.name}`}
                  data-testid="template-delete"
                >
                  Delete
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {status !== undefined && (
        <p className="ok small" role="status" data-testid="templates-status">
          {status}
        </p>
      )}
      {failure !== undefined && (
        <p className="error small" role="alert">
          {failure}
        </p>
      )}
    </section>
  );
}
