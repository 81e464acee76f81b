/**
 * Fraud: flags the fraud rules raised, open ones first, with their evidence and links to the
 * users and the market involved; confirm or dismiss with a note (audited). Confirming acts on
 * nothing by itself: freeze the accounts or void the market from their pages.
 */
import { useCallback, useState } from 'react';
import {
  FraudFlagStatus,
  FraudRule,
  type FraudFlag,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { ActionForm } from './action.js';
import type { PageProps } from './app.js';
import { enumName, errorText, routeHref, when } from './format.js';
import { useLoad } from './hooks.js';

export function FraudPage({ api }: PageProps) {
  const [status, setStatus] = useState<string>(String(FraudFlagStatus.OPEN));
  const [flags, setFlags] = useState<FraudFlag[]>([]);
  const [error, setError] = useState<string>();

  const load = useCallback(async () => {
    try {
      const res = await api.analytics.listFraudFlags({
        statuses: status === '' ? [] : [Number(status)],
        page: { pageSize: 50 },
      });
      setFlags(res.flags);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, status]);
  useLoad(load, 10_000);
  /** Shows a resolved flag in place (with its resolution) until the next refresh. */
  const replace = (updated: FraudFlag | undefined) => {
    if (updated === undefined) return;
    setFlags((list) => list.map((f) => (f.flagId === updated.flagId ? updated : f)));
  };

  return (
    <>
      <div className="row wrap filters">
        <label htmlFor="flag-status">
          Status
          <select
            id="flag-status"
            value={status}
            onChange={(e) => setStatus(e.target.value)}
            data-testid="flag-status"
          >
            <option value={FraudFlagStatus.OPEN}>open</option>
            <option value={FraudFlagStatus.CONFIRMED}>confirmed</option>
            <option value={FraudFlagStatus.DISMISSED}>dismissed</option>
            <option value="">all</option>
          </select>
        </label>
      </div>
      {error !== undefined && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {flags.length === 0 && <p className="muted">No flags.</p>}
      {flags.map((flag) => (
        <article
          key={flag.flagId}
          className="panel flag"
          aria-labelledby={`flag-${flag.flagId}`}
          data-testid={`flag-${enumName(FraudRule, flag.rule).replaceAll(' ', '-')}`}
        >
          <h2 id={`flag-${flag.flagId}`}>
            {enumName(FraudRule, flag.rule)}{' '}
            <span className="muted small">
              {enumName(FraudFlagStatus, flag.status)} · raised {when(flag.raisedAtMs)}
            </span>
          </h2>
          <p>{flag.summary}</p>
          <p className="links">
            Users:{' '}
            {flag.userIds.map((id) => (
              <a key={id} href={routeHref('users', { id })}>
                {id}
              </a>
            ))}
            {flag.marketId !== '' && (
              <>
                {' '}
                · Market: <a href={routeHref('markets', { id: flag.marketId })}>{flag.marketId}</a>
              </>
            )}
          </p>
          <details>
            <summary>Evidence</summary>
            <pre className="evidence" tabIndex={0} aria-label="Evidence (JSON)">
              {pretty(flag.evidenceJson)}
            </pre>
          </details>
          {flag.status === FraudFlagStatus.OPEN ? (
            <div className="actions">
              <ActionForm
                label="Confirm"
                testId="flag-confirm"
                destructive
                reasonHint="note: what was found"
                run={async (note) => {
                  const res = await api.analytics.resolveFraudFlag({
                    flagId: flag.flagId,
                    resolution: FraudFlagStatus.CONFIRMED,
                    note,
                  });
                  replace(res.flag);
                  return 'Confirmed';
                }}
              />
              <ActionForm
                label="Dismiss"
                testId="flag-dismiss"
                reasonHint="note: why it is benign"
                run={async (note) => {
                  const res = await api.analytics.resolveFraudFlag({
                    flagId: flag.flagId,
                    resolution: FraudFlagStatus.DISMISSED,
                    note,
                  });
                  replace(res.flag);
                  return 'Dismissed';
                }}
              />
            </div>
          ) : (
            <p className="small" role="status" data-testid="flag-resolution">
              {enumName(FraudFlagStatus, flag.status)} by{' '}
              <a href={routeHref('users', { id: flag.resolvedByUserId })}>
                {flag.resolvedByUserId}
              </a>{' '}
              at {when(flag.resolvedAtMs)}: {flag.resolutionNote}
            </p>
          )}
        </article>
      ))}
    </>
  );
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
