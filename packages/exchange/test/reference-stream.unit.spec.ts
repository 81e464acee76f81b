import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { describe, expect, it } from 'vitest';
import { createOrderBook } from '../src/order-book.js';
import { parseReferenceStream, replayReferenceStream } from '../src/reference-stream.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The Rust reference, outside this repository: shared/bench/orderbook-ref next to it. */
const REFERENCE = path.resolve(
  process.env.BENCH_ORDERBOOK_REF ??
    path.join(here, '..', '..', '..', '..', 'shared', 'bench', 'orderbook-ref'),
);
const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
const canBuildReference = hasCargo && fs.existsSync(path.join(REFERENCE, 'src', 'main.rs'));

interface ReferenceSummary {
  trades: number;
  volume: number;
  checksum: string;
}

describe('the Rust reference stream', () => {
  it('replays the committed fixture (made by the reference: gen 3000 7) to its trades and checksum', () => {
    const stream = parseReferenceStream(
      fs.readFileSync(path.join(here, 'fixtures', 'orderbook-ref-3000-seed7.txt'), 'utf8'),
    );
    const expected = JSON.parse(
      fs.readFileSync(path.join(here, 'fixtures', 'orderbook-ref-3000-seed7.json'), 'utf8'),
    ) as ReferenceSummary & { commands: number };
    expect(stream.length).toBe(expected.commands);
    const summary = replayReferenceStream(stream, createOrderBook({ selfTradePrevention: 'off' }));
    expect(summary).toEqual({
      trades: expected.trades,
      volume: expected.volume,
      checksum: BigInt(expected.checksum),
    });
  });

  it('differs from the reference with self-trade prevention on, where users trade with themselves', () => {
    const stream = parseReferenceStream(
      fs.readFileSync(path.join(here, 'fixtures', 'orderbook-ref-3000-seed7.txt'), 'utf8'),
    );
    // Two users instead of 10,000, so many trades would be self-trades.
    const fewUsers = { ...stream, users: stream.users.map((user) => user % 2) };
    const off = replayReferenceStream(fewUsers, createOrderBook({ selfTradePrevention: 'off' }));
    const on = replayReferenceStream(
      fewUsers,
      createOrderBook({ selfTradePrevention: 'cancel-resting' }),
    );
    expect(off.checksum).toBe(276_261_274_169n);
    expect(on.checksum).not.toBe(off.checksum);
    expect(on.volume).toBeLessThan(off.volume);
  });

  it('refuses a malformed line, naming it', () => {
    expect(() => parseReferenceStream('P 0 B 10 5 1\nX 1\n')).toThrow(ValidationError);
    expect(() => parseReferenceStream('P 0 Q 10 5 1\n')).toThrow(/line 1/);
  });

  it.skipIf(!canBuildReference)(
    'matches the reference built now on a fresh stream (skipped without cargo or the reference source)',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exchange-ref-'));
      try {
        for (const entry of ['Cargo.toml', 'Cargo.lock', 'src']) {
          const from = path.join(REFERENCE, entry);
          if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
        }
        execFileSync('cargo', ['build', '--release', '--offline', '--quiet'], {
          cwd: dir,
          stdio: 'ignore',
        });
        const binary = path.join(dir, 'target', 'release', 'orderbook-ref');
        const streamFile = path.join(dir, 'stream.txt');
        fs.writeFileSync(
          streamFile,
          execFileSync(binary, ['gen', '20000', '11'], { encoding: 'utf8' }),
        );
        const out = execFileSync(binary, ['run', streamFile], { encoding: 'utf8' });
        const field = (key: string): string => new RegExp(`"${key}":([0-9]+)`).exec(out)![1]!;
        const summary = replayReferenceStream(
          parseReferenceStream(fs.readFileSync(streamFile, 'utf8')),
          createOrderBook({ selfTradePrevention: 'off' }),
        );
        expect(summary).toEqual({
          trades: Number(field('trades')),
          volume: Number(field('volume')),
          checksum: BigInt(field('checksum')),
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
