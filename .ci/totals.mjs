// Sums vitest JSON reports (and the gate checks) into the one line CI reads:
// "N passed, N failed[, N skipped]". Exits non-zero when anything failed or a report is missing.
import { existsSync, readFileSync } from 'node:fs';

const [gatesPassed, gatesFailed, ...reports] = process.argv.slice(2);
let passed = Number(gatesPassed);
let failed = Number(gatesFailed);
let skipped = 0;
for (const file of reports) {
  if (!existsSync(file)) {
    console.log(`missing test report ${file}: that suite did not run to the end`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // A file that failed to load (syntax error, failing beforeAll) has no failed test but is a failure.
  const brokenFiles = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && t.assertionResults.every((a) => a.status !== 'failed'),
  );
  for (const t of brokenFiles)
    console.log(
      `test file failed outside any test: ${t.name}: ${(t.message ?? '').split('\n')[0]}`,
    );
  failed += brokenFiles.length;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
