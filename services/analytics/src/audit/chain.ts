/**
 * The audit log's hash chain and its export format. Each entry's hash is
 * sha256(previous entry's hash + "\n" + the entry's canonical JSON), per partition (the subject
 * type), starting from 64 zeros; changing, removing or reordering any entry changes every hash
 * after it. An export is JSON Lines: a header naming the partition, the sequence range, the hash
 * before it and the hash of its last entry, then one line per entry in canonical form. `verifyExport`
 * recomputes the chain; an auditor compares the reported head hash with the live head
 * (QueryAuditLog / the operator's published value) to prove nothing was cut from the end either.
 */
import { createHash } from 'node:crypto';

/** prev_hash of the first entry of a partition. */
export const GENESIS_HASH = '0'.repeat(64);

/** An entry as stored and exported. Field order is the canonical order. */
export interface ChainedEntry {
  readonly partition: string;
  readonly seq: number;
  readonly entryId: string;
  readonly occurredAtMs: number;
  /** 1 user, 2 service (ActorType). */
  readonly actorType: number;
  readonly actorUserId: string;
  readonly actorRole: number;
  readonly actorService: string;
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId: string;
  readonly reason: string;
  readonly detailsJson: string;
  readonly sourceEventId: string;
  readonly traceId: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hashed content of an entry (everything but its own hash). */
function canonicalContent(entry: Omit<ChainedEntry, 'hash'>): string {
  return JSON.stringify([
    entry.partition,
    entry.seq,
    entry.entryId,
    entry.occurredAtMs,
    entry.actorType,
    entry.actorUserId,
    entry.actorRole,
    entry.actorService,
    entry.action,
    entry.subjectType,
    entry.subjectId,
    entry.reason,
    entry.detailsJson,
    entry.sourceEventId,
    entry.traceId,
  ]);
}

/** The hash of `entry` chained to `entry.prevHash`. */
export function chainHash(entry: Omit<ChainedEntry, 'hash'>): string {
  return createHash('sha256')
    .update(`${entry.prevHash}\n${canonicalContent(entry)}`)
    .digest('hex');
}

/** First line of an export. */
export interface ExportHeader {
  readonly format: 'streambet-audit-export/1';
  readonly partition: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Hash of the entry before fromSeq (GENESIS_HASH when fromSeq is 1). */
  readonly prevHash: string;
  /** Hash of the entry at toSeq. */
  readonly headHash: string;
}

const HEADER_KEYS = ['format', 'partition', 'fromSeq', 'toSeq', 'prevHash', 'headHash'] as const;
const ENTRY_KEYS = [
  'partition',
  'seq',
  'entryId',
  'occurredAtMs',
  'actorType',
  'actorUserId',
  'actorRole',
  'actorService',
  'action',
  'subjectType',
  'subjectId',
  'reason',
  'detailsJson',
  'sourceEventId',
  'traceId',
  'prevHash',
  'hash',
] as const;

function canonicalLine(value: Record<string, unknown>, keys: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, value[key]])));
}

/** The export text of `entries` (consecutive, oldest first, one partition). */
export function formatExport(entries: readonly ChainedEntry[]): string {
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) throw new Error('nothing to export');
  const header: ExportHeader = {
    format: 'streambet-audit-export/1',
    partition: first.partition,
    fromSeq: first.seq,
    toSeq: last.seq,
    prevHash: first.prevHash,
    headHash: last.hash,
  };
  const lines = [
    canonicalLine(header as unknown as Record<string, unknown>, HEADER_KEYS),
    ...entries.map((entry) =>
      canonicalLine(entry as unknown as Record<string, unknown>, ENTRY_KEYS),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** What {@link verifyExport} found. */
export type VerifyResult =
  | {
      readonly ok: true;
      readonly partition: string;
      readonly fromSeq: number;
      readonly toSeq: number;
      readonly entries: number;
      readonly headHash: string;
    }
  | { readonly ok: false; readonly problem: string };

/**
 * Checks an export byte for byte: every line in canonical form, the header's range matching its
 * entries, each entry's sequence number and prev_hash following the one before, and each hash
 * recomputed from the entry's content.
 */
export function verifyExport(text: string): VerifyResult {
  const fail = (problem: string): VerifyResult => ({ ok: false, problem });
  if (!text.endsWith('\n')) return fail('the file does not end with a newline: truncated?');
  const lines = text.slice(0, -1).split('\n');
  const parse = (line: string, index: number): Record<string, unknown> | string => {
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return `line ${index + 1} is not a JSON object`;
      }
      return value as Record<string, unknown>;
    } catch {
      return `line ${index + 1} is not valid JSON`;
    }
  };
  const header = parse(lines[0] ?? '', 0);
  if (typeof header === 'string') return fail(header);
  if (
    canonicalLine(header, HEADER_KEYS) !== lines[0] ||
    header.format !== 'streambet-audit-export/1'
  ) {
    return fail('line 1 is not an audit export header (streambet-audit-export/1)');
  }
  const h = header as unknown as ExportHeader;
  let expectedPrev = h.prevHash;
  let expectedSeq = h.fromSeq;
  for (let i = 1; i < lines.length; i += 1) {
    const parsed = parse(lines[i]!, i);
    if (typeof parsed === 'string') return fail(parsed);
    if (canonicalLine(parsed, ENTRY_KEYS) !== lines[i]) {
      return fail(`line ${i + 1} is not in canonical form (a field was added, removed or changed)`);
    }
    const entry = parsed as unknown as ChainedEntry;
    const where = `line ${i + 1} (seq ${String(entry.seq)})`;
    if (entry.partition !== h.partition)
      return fail(`${where}: partition differs from the header's`);
    if (entry.seq !== expectedSeq) return fail(`${where}: expected seq ${expectedSeq}`);
    if (entry.prevHash !== expectedPrev) {
      return fail(`${where}: prev_hash does not match the previous entry's hash`);
    }
    if (chainHash(entry) !== entry.hash) {
      return fail(`${where}: hash does not match the entry's contents (altered)`);
    }
    expectedPrev = entry.hash;
    expectedSeq += 1;
  }
  if (expectedSeq - 1 !== h.toSeq) {
    return fail(
      `the header announces seq ${h.fromSeq}–${h.toSeq} but the entries end at ${expectedSeq - 1}`,
    );
  }
  if (expectedPrev !== h.headHash)
    return fail("the last entry's hash is not the header's head hash");
  return {
    ok: true,
    partition: h.partition,
    fromSeq: h.fromSeq,
    toSeq: h.toSeq,
    entries: lines.length - 1,
    headHash: h.headHash,
  };
}
