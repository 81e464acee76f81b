/**
 * Small pieces the account forms share: a labelled input, the outcome line of a form (an error as
 * an alert, a success as a status), and a hook running a form's submit with busy and outcome
 * state.
 */
import { useEffect, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { errorText } from '../hooks.js';

/** A label wrapping its input (so the label names it for screen readers). */
export function Field(
  props: { readonly label: string; readonly hint?: string } & InputHTMLAttributes<HTMLInputElement>,
) {
  const { label, hint, ...input } = props;
  return (
    <label className="account-field">
      {label}
      <input {...input} />
      {hint !== undefined && <span className="muted small">{hint}</span>}
    </label>
  );
}

/** What a form says after a submit. */
export type Outcome = { readonly ok: boolean; readonly text: string } | undefined;

/** The outcome line under a form. */
export function OutcomeLine({ outcome, testId }: { outcome: Outcome; testId: string }) {
  if (outcome === undefined) return null;
  return outcome.ok ? (
    <p className="ok" role="status" data-testid={testId}>
      {outcome.text}
    </p>
  ) : (
    <p className="error" role="alert" data-testid={testId}>
      {outcome.text}
    </p>
  );
}

/**
 * Runs `action` on submit: busy while it runs, then its success text or the error's sentence.
 * `onError` sees the error first (e.g. to reveal the code field).
 */
export function useSubmit(
  action: () => Promise<string>,
  onError?: (error: unknown) => void,
): {
  busy: boolean;
  outcome: Outcome;
  setOutcome: (o: Outcome) => void;
  submit: (e: FormEvent) => void;
} {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(undefined);
    action()
      .then((text) => setOutcome({ ok: true, text }))
      .catch((error: unknown) => {
        onError?.(error);
        setOutcome({ ok: false, text: errorText(error) });
      })
      .finally(() => setBusy(false));
  };
  return { busy, outcome, setOutcome, submit };
}

/** Runs `load` now and whenever `key` changes. */
export function useLoadOn(load: () => Promise<void>, key: number): void {
  useEffect(() => {
    void load();
  }, [load, key]);
}
