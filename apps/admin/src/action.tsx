/**
 * One admin action: a button that opens a small form asking for the reason (kept with the change
 * in the audit log) and, for a destructive action, an explicit confirmation; then runs it and shows
 * its result or the server's error. The server checks the admin role again on every call.
 */
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from './format.js';

export interface ActionFormProps {
  /** The button's text, e.g. "Freeze". */
  readonly label: string;
  /** A stable test id prefix, e.g. `freeze` → `freeze-open`, `freeze-reason`, `freeze-submit`. */
  readonly testId: string;
  /** Needs an explicit "I am sure" tick before it runs. */
  readonly destructive?: boolean;
  /** Ask for a reason (default true); false only where the contract has no place for one. */
  readonly askReason?: boolean;
  /** Placeholder of the reason field. */
  readonly reasonHint?: string;
  readonly disabled?: boolean;
  /** Extra fields (e.g. the winning outcome), rendered above the reason. */
  readonly children?: ReactNode;
  /** Runs the action; resolves to the sentence to show. */
  run(reason: string): Promise<string>;
  /**
   * Where the result goes when the action's own button may disappear with it (an action that
   * changes which actions apply, e.g. Freeze → Unfreeze): see {@link useActionResult}.
   */
  readonly onResult?: (result: ActionResult) => void;
}

/** What an action answered. */
export interface ActionResult {
  readonly ok: boolean;
  readonly text: string;
}

/**
 * A result line that outlives the action forms of a panel: `[line, report]`; pass `report` as
 * each form's `onResult` and render `line` where the result should stay.
 */
export function useActionResult(): [ReactNode, (result: ActionResult) => void] {
  const [result, setResult] = useState<ActionResult>();
  const line = (
    <p
      role="status"
      className={result?.ok === false ? 'error small' : 'ok small'}
      data-testid="action-result"
    >
      {result?.text}
    </p>
  );
  return [line, setResult];
}

/** A button opening the action's form; see {@link ActionFormProps}. */
export function ActionForm(props: ActionFormProps) {
  const { label, testId, destructive = false, askReason = true } = props;
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [sure, setSure] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const id = useId();
  const report = (r: ActionResult) =>
    props.onResult === undefined ? setResult(r) : props.onResult(r);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setResult(undefined);
    try {
      const text = await props.run(reason.trim());
      report({ ok: true, text });
      setOpen(false);
      setReason('');
      setSure(false);
    } catch (e) {
      report({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
    }
  }

  const ready = (!askReason || reason.trim() !== '') && (!destructive || sure) && !busy;
  return (
    <div className="action">
      {!open && (
        <button
          type="button"
          className={destructive ? 'danger' : ''}
          disabled={props.disabled}
          data-testid={`${testId}-open`}
          onClick={() => {
            setOpen(true);
            setResult(undefined);
            props.onResult?.({ ok: true, text: '' });
          }}
        >
          {label}…
        </button>
      )}
      {open && (
        <form className="action-form" onSubmit={(e) => void submit(e)} aria-label={label}>
          {props.children}
          {askReason && (
            <label htmlFor={`${id}-reason`}>
              Reason (kept in the audit log)
              <input
                id={`${id}-reason`}
                data-testid={`${testId}-reason`}
                value={reason}
                maxLength={500}
                required
                placeholder={props.reasonHint ?? 'why'}
                onChange={(e) => setReason(e.target.value)}
                autoFocus
              />
            </label>
          )}
          {destructive && (
            <label className="check" htmlFor={`${id}-sure`}>
              <input
                id={`${id}-sure`}
                type="checkbox"
                data-testid={`${testId}-confirm`}
                checked={sure}
                onChange={(e) => setSure(e.target.checked)}
              />
              I am sure: {label.toLowerCase()} cannot be undone from here
            </label>
          )}
          <div className="row">
            <button
              type="submit"
              className={destructive ? 'danger' : 'primary'}
              disabled={!ready}
              data-testid={`${testId}-submit`}
            >
              {busy ? 'Working…' : label}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {result !== undefined && (
        <p
          role="status"
          className={result.ok ? 'ok small' : 'error small'}
          data-testid={`${testId}-result`}
        >
          {result.text}
        </p>
      )}
    </div>
  );
}
