/**
 * `npm run bench -- [name ...]`: runs bench/<name>.ts for each name (every bench in this folder
 * when none is given), one after the other, each in its own process so one bench's pools and
 * memory never skew the next. Every bench prints exactly one JSON line
 * `{"bench":"NAME","results":[...]}` as its last line; this runner passes output through and exits
 * non-zero when a bench fails to run (a missed target is reported in the JSON, not as a failure).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { platformNodeFlags } from './lib/node-flags.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = fs
  .readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();
const requested = process.argv.slice(2).filter((arg) => arg !== '--');
const names = requested.length === 0 ? available : requested;

let failed = false;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown bench "${name}"; available: ${available.join(', ')}`);
    failed = true;
    continue;
  }
  const result = spawnSync(
    process.execPath,
    [...platformNodeFlags, '--import', 'tsx', path.join(here, `${name}.ts`)],
    {
      stdio: 'inherit',
      env: process.env,
    },
  );
  if (result.status !== 0) {
    console.error(`bench ${name} failed (exit ${result.status ?? result.signal})`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
