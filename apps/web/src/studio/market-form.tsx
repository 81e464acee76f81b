/**
 * The market form: question, outcomes, currency, window, stake limits and auto-lock, checked with
 * CreateMarket's rules as the streamer types (checkMarketForm), then either opened at once
 * (CreateMarket with open_now) or saved as a template. The server checks everything again; its
 * refusal is shown under the form.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { Market, MarketTemplate } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  checkMarketForm,
  createMarketRequest,
  emptyMarketForm,
  marketLimits,
  saveTemplateRequest,
  templateNameError,
  templateToForm,
  type FormErrors,
  type MarketForm,
} from '@streambet/client/studio';
import { errorText } from '../hooks.js';

/** Props of {@link MarketFormPanel}. */
export interface MarketFormPanelProps {
  readonly api: Api;
  readonly channelId: string;
  /** A template to start from (the parent remounts the form to load another). */
  readonly template: MarketTemplate | undefined;
  readonly onOpened: (market: Market) => void;
  readonly onTemplateSaved: () => void;
}

function newKey(): string {
  return crypto.randomUUID();
}

/** Field error text with the id inputs point at through aria-describedby. */
function FieldError({ id, text }: { readonly id: string; readonly text: string | undefined }) {
  if (text === undefined) return null;
  return (
    <span className="error small" id={id} data-testid={`error-${id}`}>
      {text}
    </span>
  );
}

/** Opens a market, or saves it as a template. */
export function MarketFormPanel(props: MarketFormPanelProps) {
  const { api, channelId, template } = props;
  const [currencies, setCurrencies] = useState<readonly string[]>(['PTS']);
  const [form, setForm] = useState<MarketForm>(() =>
    template === undefined ? emptyMarketForm('PTS') : templateToForm(template),
  );
  const [errors, setErrors] = useState<FormErrors>({});
  const [templateName, setTemplateName] = useState(template?.name ?? '');
  const [openOnOnline, setOpenOnOnline] = useState(template?.openOnStreamOnline ?? false);
  const [status, setStatus] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);
  // One key per form content: a retried submit is answered with the same market.
  const [key, setKey] = useState(newKey);

  useEffect(() => {
    let stale = false;
    api.users
      .getWallet({})
      .then((res) => {
        if (!stale && res.balances.length > 0) setCurrencies(res.balances.map((b) => b.currency));
      })
      .catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [api]);

  function change(next: Partial<MarketForm>) {
    setForm((f) => ({ ...f, ...next }));
    setKey(newKey());
    setStatus(undefined);
  }

  function setOutcome(index: number, title: string) {
    change({ outcomes: form.outcomes.map((o, i) => (i === index ? title : o)) });
  }

  async function open(event: FormEvent) {
    event.preventDefault();
    const check = checkMarketForm(form, currencies);
    if (!check.ok) {
      setErrors(check.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const res = await api.pool.createMarket(
        createMarketRequest(channelId, check.definition, key),
      );
      if (res.market !== undefined) props.onOpened(res.market);
      setStatus(`Opened “${check.definition.title}”.`);
      setFailure(undefined);
      setForm(emptyMarketForm(form.currency));
      setKey(newKey());
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function saveTemplate() {
    const check = checkMarketForm(form, currencies);
    const nameError = templateNameError(templateName);
    if (!check.ok || nameError !== undefined) {
      setErrors({
        ...(check.ok ? {} : check.errors),
        ...(nameError ? { templateName: nameError } : {}),
      });
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await api.pool.saveMarketTemplate(
        saveTemplateRequest(channelId, templateName, check.definition, openOnOnline),
      );
      setStatus(`Saved the template “${templateName.trim()}”.`);
      setFailure(undefined);
      props.onTemplateSaved();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const described = (field: string) =>
    errors[field] === undefined
      ? {}
      : { 'aria-invalid': true as const, 'aria-describedby': `field-${field}` };

  return (
    <form
      className="panel studio-form"
      aria-labelledby="market-form-title"
      onSubmit={(e) => void open(e)}
      noValidate
      data-testid="market-form"
    >
      <h2 id="market-form-title">Open a market</h2>
      <label>
        Question
        <input
          value={form.title}
          maxLength={marketLimits.titleMax + 20}
          onChange={(e) => change({ title: e.target.value })}
          data-testid="form-title"
          {...described('title')}
        />
        <FieldError id="field-title" text={errors.title} />
      </label>
      <fieldset>
        <legend>Outcomes</legend>
        {form.outcomes.map((outcome, index) => (
          <div className="row" key={index}>
            <label className="grow">
              <span className="visually-hidden">Outcome {index + 1}</span>
              <input
                value={outcome}
                placeholder={`Outcome ${index + 1}`}
                onChange={(e) => setOutcome(index, e.target.value)}
                data-testid="form-outcome"
                {...described(`outcomes.${index}`)}
              />
            </label>
            {form.outcomes.length > marketLimits.outcomesMin && (
              <button
                type="button"
                aria-label={`Remove outcome ${index + 1}`}
                onClick={() => change({ outcomes: form.outcomes.filter((_, i) => i !== index) })}
              >
                ✕
              </button>
            )}
            <FieldError id={`field-outcomes.${index}`} text={errors[`outcomes.${index}`]} />
          </div>
        ))}
        <FieldError id="field-outcomes" text={errors.outcomes} />
        {form.outcomes.length < marketLimits.outcomesMax && (
          <button
            type="button"
            onClick={() => change({ outcomes: [...form.outcomes, ''] })}
            data-testid="form-add-outcome"
          >
            Add outcome
          </button>
        )}
      </fieldset>
      <div className="studio-form-grid">
        <label>
          Currency
          <select
            value={form.currency}
            onChange={(e) => change({ currency: e.target.value })}
            data-testid="form-currency"
            {...described('currency')}
          >
            {currencies.map((c) => (
              <option key={c} value={c}>
                {c === 'PTS' ? 'Points (PTS)' : c}
              </option>
            ))}
          </select>
          <FieldError id="field-currency" text={errors.currency} />
        </label>
        <label>
          Betting window (s)
          <input
            inputMode="numeric"
            value={form.windowSeconds}
            placeholder="Channel default"
            onChange={(e) => change({ windowSeconds: e.target.value })}
            data-testid="form-window"
            {...described('windowSeconds')}
          />
          <FieldError id="field-windowSeconds" text={errors.windowSeconds} />
        </label>
        <label>
          Lock when the stream ends
          <select
            value={form.autoLock}
            onChange={(e) => change({ autoLock: e.target.value as MarketForm['autoLock'] })}
          >
            <option value="default">Channel default</option>
            <option value="on">Yes</option>
            <option value="off">No</option>
          </select>
        </label>
      </div>
      <details>
        <summary>Stake limits (blank: the channel’s defaults)</summary>
        <div className="studio-form-grid">
          {(
            [
              ['minStake', 'Smallest stake'],
              ['maxStakePerBet', 'Most per bet'],
              ['maxStakePerUser', 'Most per viewer'],
            ] as const
          ).map(([field, label]) => (
            <label key={field}>
              {label}
              <input
                inputMode="decimal"
                value={form[field]}
                onChange={(e) => change({ [field]: e.target.value })}
                {...described(field)}
              />
              <FieldError id={`field-${field}`} text={errors[field]} />
            </label>
          ))}
        </div>
        <FieldError id="field-stakes" text={errors.stakes} />
      </details>
      <div className="row">
        <button type="submit" className="primary" disabled={busy} data-testid="form-open">
          Open market
        </button>
      </div>
      <fieldset className="studio-template-save">
        <legend>Save as a template</legend>
        <div className="row">
          <label className="grow">
            Template name
            <input
              value={templateName}
              onChange={(e) => setTemplateName(e.target.value)}
              data-testid="template-name"
              {...described('templateName')}
            />
            <FieldError id="field-templateName" text={errors.templateName} />
          </label>
          <label className="row">
            <input
              type="checkbox"
              checked={openOnOnline}
              onChange={(e) => setOpenOnOnline(e.target.checked)}
              data-testid="template-on-online"
            />
            Open when the stream goes live
          </label>
          <button
            type="button"
            disabled={busy}
            onClick={() => void saveTemplate()}
            data-testid="template-save"
          >
            Save template
          </button>
        </div>
      </fieldset>
      {status !== undefined && (
        <p className="ok" role="status" data-testid="form-status">
          {status}
        </p>
      )}
      {failure !== undefined && (
        <p className="error" role="alert" data-testid="form-error">
          {failure}
        </p>
      )}
    </form>
  );
}
