// Fails when packages/contracts/src/gen is not exactly what `npm run generate` produces from proto/.
// Generates into a temporary directory with the same buf.gen.yaml and compares byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const committed = 'packages/contracts/src/gen';
const scratch = mkdtempSync(join(tmpdir(), 'sb-gen-'));
try {
  execFileSync('npx', ['buf', 'generate', '-o', scratch], { stdio: 'inherit' });
  const fresh = join(scratch, committed);
  const list = (dir) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((p) => statSync(join(dir, p)).isFile())
      .sort();
  const a = list(committed);
  const b = list(fresh);
  const problems = [];
  for (const p of new Set([...a, ...b])) {
    if (!a.includes(p)) problems.push(`missing from the repo: ${p}`);
    else if (!b.includes(p)) problems.push(`stale file (no proto produces it): ${p}`);
    else if (!readFileSync(join(committed, p)).equals(readFileSync(join(fresh, p))))
      problems.push(`differs from proto/: ${p}`);
  }
  if (problems.length > 0) {
    console.error(
      `Generated code is stale; run \`npm run generate\` and commit.\n${problems.join('\n')}`,
    );
    process.exit(1);
  }
  console.log(`generated code is fresh (${a.length} files, ${relative('.', committed)})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
