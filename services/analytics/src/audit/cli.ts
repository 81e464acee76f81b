/**
 * The audit log's command line, what an auditor runs (`npm run audit -- <command>`):
 *
 *   npm run audit -- verify <export.jsonl>
 *     Recomputes the hash chain of an export; prints the range and its head hash and exits 0, or
 *     names the first altered line and exits 1. Compare the head hash with the live one.
 *   npm run audit -- export --database-url postgres://… --partition bet [--from-seq 1] [--to-seq N]
 *     Writes a consecutive range of one partition (a subject type) as an export to stdout.
 *   npm run audit -- head --database-url postgres://… --partition bet
 *     Prints the partition's last seq and hash.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import { formatExport, verifyExport } from './chain.js';
import { auditHead, readAuditRange } from './store.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify') {
    const file = rest[0];
    if (file === undefined) {
      process.stderr.write('usage: npm run audit -- verify <export.jsonl>\n');
      return 2;
    }
    const result = verifyExport(fs.readFileSync(file, 'utf8'));
    if (!result.ok) {
      process.stdout.write(`NOT VERIFIED: ${result.problem}\n`);
      return 1;
    }
    process.stdout.write(
      `verified: partition ${result.partition}, seq ${result.fromSeq}–${result.toSeq} (${result.entries} entries), head hash ${result.headHash}\n`,
    );
    return 0;
  }
  if (command === 'export' || command === 'head') {
    const { values } = parseArgs({
      args: rest,
      options: {
        'database-url': { type: 'string' },
        partition: { type: 'string' },
        'from-seq': { type: 'string', default: '1' },
        'to-seq': { type: 'string' },
      },
    });
    const url = values['database-url'];
    const partition = values.partition;
    if (url === undefined || partition === undefined) {
      process.stderr.write(
        `usage: npm run audit -- ${command} --database-url postgres://… --partition <subject type>\n`,
      );
      return 2;
    }
    const sql = createPostgresSql({ connectionString: url, applicationName: 'audit-cli' });
    try {
      const head = await auditHead(sql, partition);
      if (command === 'head') {
        process.stdout.write(`${partition}: seq ${head.seq}, hash ${head.hash}\n`);
        return 0;
      }
      const toSeq = values['to-seq'] === undefined ? head.seq : Number(values['to-seq']);
      const entries = await readAuditRange(sql, partition, Number(values['from-seq']), toSeq);
      if (entries.length === 0) {
        process.stderr.write(`no entries in ${partition} for that range\n`);
        return 1;
      }
      process.stdout.write(formatExport(entries));
      return 0;
    } finally {
      await sql.close();
    }
  }
  process.stderr.write('usage: npm run audit -- verify <file> | export … | head …\n');
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
