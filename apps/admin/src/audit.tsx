/**
 * Audit: search the append-only audit log by subject, actor and time; export one partition's
 * range with its hash chain — the file `npm run audit -- verify` checks — and the live head to
 * compare its head hash with.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type {
  AuditEntry,
  ExportAuditLogResponse,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { PageProps } from './app.js';
import { useLoad } from './hooks.js';
import { enumName, errorText, fromLocalInput, toLocalInput, when } from './format.js';

const subjectTypes = [
  'user',
  'bet',
  'market',
  'transfer',
  'payment',
  'kyc_case',
  'limit',
  'channel',
  'fraud_flag',
];

export function AuditPage({ api, route }: PageProps) {
  const [subjectType, setSubjectType] = useState(route.params.get('type') ?? '');
  const [subjectId, setSubjectId] = useState(route.params.get('subject') ?? '');
  const [actor, setActor] = useState('');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 86_400_000));
  const [to, setTo] = useState('');
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [error, setError] = useState<string>();

  const search = useCallback(async () => {
    try {
      const res = await api.analytics.queryAuditLog({
        subjectType,
        subjectId: subjectId.trim(),
        actorUserId: actor.trim(),
        fromMs: BigInt(fromLocalInput(from) ?? 0),
        toMs: BigInt(fromLocalInput(to) ?? 0),
        page: { pageSize: 100 },
      });
      setEntries(res.entries);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, subjectType, subjectId, actor, from, to]);
  useLoad(search);

  return (
    <>
      <form
        className="row wrap filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label htmlFor="audit-type">
          Subject type
          <select
            id="audit-type"
            value={subjectType}
            onChange={(e) => setSubjectType(e.target.value)}
            data-testid="audit-type"
          >
            <option value="">any</option>
            {subjectTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="audit-subject">
          Subject id
          <input
            id="audit-subject"
            value={subjectId}
            onChange={(e) => setSubjectId(e.target.value)}
            data-testid="audit-subject"
          />
        </label>
        <label htmlFor="audit-actor">
          Actor user id
          <input id="audit-actor" value={actor} onChange={(e) => setActor(e.target.value)} />
        </label>
        <label htmlFor="audit-from">
          From
          <input
            id="audit-from"
            type="datetime-local"
            step={1}
            value={from}
            onChange={(e) => setFrom(e.target.value)}
          />
        </label>
        <label htmlFor="audit-to">
          To
          <input
            id="audit-to"
            type="datetime-local"
            step={1}
            value={to}
            onChange={(e) => setTo(e.target.value)}
          />
        </label>
        <button type="submit" data-testid="audit-search">
          Search
        </button>
      </form>
      {error !== undefined && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="scroll" tabIndex={0} role="region" aria-label="Audit entries">
        <table data-testid="audit-entries">
          <caption>Entries, newest first (up to 100)</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Subject</th>
              <th scope="col">Actor</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.entryId}>
                <td>{when(e.occurredAtMs)}</td>
                <td>{e.action.replace('streambet.events.v1.', '')}</td>
                <td>
                  {e.subjectType} <span className="mono small">{e.subjectId}</span>
                </td>
                <td>
                  {e.actorUserId !== ''
                    ? `${e.actorUserId} (${enumName(Role, e.actorRole)})`
                    : e.actorService}
                </td>
                <td>{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <AuditExport api={api} subjectType={subjectType} from={from} to={to} />
    </>
  );
}

function AuditExport(props: {
  api: PageProps['api'];
  subjectType: string;
  from: string;
  to: string;
}) {
  const [partition, setPartition] = useState(props.subjectType || 'user');
  const [result, setResult] = useState<ExportAuditLogResponse>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const href = useMemo(
    () =>
      result === undefined
        ? undefined
        : URL.createObjectURL(new Blob([result.exportJsonl], { type: 'application/jsonl' })),
    [result],
  );
  useEffect(() => () => (href === undefined ? undefined : URL.revokeObjectURL(href)), [href]);
  const fileName = result
    ? `audit-${partition}-${result.fromSeq}-${result.toSeq}.jsonl`
    : 'audit.jsonl';

  async function run() {
    setBusy(true);
    setError(undefined);
    try {
      setResult(
        await props.api.analytics.exportAuditLog({
          partition,
          fromMs: BigInt(fromLocalInput(props.from) ?? 0),
          toMs: BigInt(fromLocalInput(props.to) ?? Date.now() + 1000),
        }),
      );
    } catch (e) {
      setResult(undefined);
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel" aria-labelledby="export-title">
      <h2 id="export-title">Export with chain proof</h2>
      <p className="muted small">
        Exports one partition&apos;s entries between From and To (the filters above; To empty =
        now), every entry between the first and the last included so the hash chain is unbroken.
      </p>
      <div className="row wrap">
        <label htmlFor="export-partition">
          Partition
          <select
            id="export-partition"
            value={partition}
            onChange={(e) => setPartition(e.target.value)}
            data-testid="export-partition"
          >
            {subjectTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={busy} onClick={() => void run()} data-testid="export-run">
          {busy ? 'Exporting…' : 'Export'}
        </button>
      </div>
      {error !== undefined && (
        <p role="alert" className="error" data-testid="export-error">
          {error}
        </p>
      )}
      {result !== undefined && href !== undefined && (
        <div data-testid="export-result" role="status">
          <p>
            Seq {result.fromSeq.toString()}–{result.toSeq.toString()}, head hash{' '}
            <code className="mono" data-testid="export-head">
              {result.headHash}
            </code>
            .{' '}
            {result.headHash === result.liveHeadHash
              ? 'This is the live head.'
              : `The live head is seq ${result.liveHeadSeq} (${result.liveHeadHash.slice(0, 16)}…).`}
          </p>
          <p>
            <a href={href} download={fileName} data-testid="export-download">
              Download {fileName}
            </a>{' '}
            then run <code className="mono">npm run audit -- verify {fileName}</code>
          </p>
          <details>
            <summary>Show the export</summary>
            <label htmlFor="export-text">
              Export (JSON Lines)
              <textarea
                id="export-text"
                readOnly
                rows={8}
                value={result.exportJsonl}
                data-testid="export-text"
              />
            </label>
          </details>
        </div>
      )}
    </section>
  );
}
