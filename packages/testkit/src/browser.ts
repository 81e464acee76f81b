/**
 * What every browser test of the web apps shares: Debian's chromium driven by playwright-core
 * (offline flags), building an app from its sources into a folder of its own, serving that folder
 * on one origin with the gateway (Connect paths and `/socket.io/` passed on, WebSocket upgrades
 * included), axe-core checks at a desktop and a phone width, keyboard helpers and screenshots.
 *
 * Each spec builds into its own temporary folder, so specs running in parallel workers never
 * read a half-written `dist`.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConnectError } from '@connectrpc/connect';
import axe from 'axe-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium (`apt-get install chromium`); specs skip when it is missing. */
export const chromiumPath = '/usr/bin/chromium';

/** Launch flags for chromium in a sandboxless CI container, quiet and offline. */
export const chromiumArgs: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long a browser test waits for something the page should show. */
export const waitMs = 20_000;
export const desktop = { width: 1280, height: 900 } as const;
export const phone = { width: 390, height: 844 } as const;

/**
 * Builds the Vite app in `appDir` (its own vite.config.ts) into a new temporary folder and
 * returns that folder; the caller removes it (or leaves it to the OS's temp cleaner).
 */
export async function buildApp(appDir: string): Promise<string> {
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), `streambet-${path.basename(appDir)}-`));
  const { build } = await import('vite');
  await build({
    root: appDir,
    configFile: path.join(appDir, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** A running static server. */
export interface AppServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@link startAppServer}. */
export interface AppServerOptions {
  /**
   * Path prefixes passed on to the gateway besides the Connect services (`/streambet.*`,
   * `/grpc.*`) and `/socket.io/`, e.g. `/dev/` for the dev mailbox or `/oauth/`.
   */
  readonly passPrefixes?: readonly string[];
}

/**
 * Serves `distDir` with SPA fallback and passes API calls and `/socket.io/` (long-polling and
 * the WebSocket upgrade) on to the gateway: the app sees one origin, as in production.
 */
export async function startAppServer(
  distDir: string,
  gatewayUrl: string,
  options: AppServerOptions = {},
): Promise<AppServer> {
  const gateway = new URL(gatewayUrl);
  const passed = ['/streambet.', '/grpc.', '/socket.io/', ...(options.passPrefixes ?? [])];
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://app').pathname;
    if (passed.some((prefix) => pathname.startsWith(prefix))) {
      const upstream = http.request(
        {
          host: gateway.hostname,
          port: gateway.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: gateway.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
      return;
    }
    const file = path.join(distDir, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    void fs
      .stat(file)
      .then((s) => (s.isFile() ? file : path.join(distDir, 'index.html')))
      .catch(() => path.join(distDir, 'index.html'))
      .then(async (chosen) => {
        const body = await fs.readFile(chosen);
        res.writeHead(200, {
          'content-type': contentTypes[path.extname(chosen)] ?? 'application/octet-stream',
        });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const upstream = net.connect(Number(gateway.port), gateway.hostname, () => {
      const headers = Object.entries(req.headers)
        .map(
          ([k, v]) =>
            `${k}: ${k === 'host' ? gateway.host : Array.isArray(v) ? v.join(', ') : (v ?? '')}`,
        )
        .join('\r\n');
      upstream.write(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n${headers}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A persistent Chromium context in a fresh profile folder, and how to dispose of both. */
export interface BrowserSession {
  readonly context: BrowserContext;
  /** Messages of uncaught errors in any page opened through {@link BrowserSession.newPage}. */
  readonly pageErrors: string[];
  /** Opens `url` in a new tab; `fakeClock` lets the test move the page's wall clock. */
  newPage(url: string, options?: { fakeClock?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Debian's chromium headless with {@link chromiumArgs} at the desktop size. */
export async function launchBrowser(): Promise<BrowserSession> {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'streambet-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs],
    viewport: desktop,
  });
  const pageErrors: string[] = [];
  return {
    context,
    pageErrors,
    async newPage(url, options = {}) {
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      if (options.fakeClock === true) await page.clock.install();
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close();
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Writes a full-page PNG named `name` when WEB_TEST_SCREENSHOTS=<dir> is set; else nothing. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.WEB_TEST_SCREENSHOTS;
  if (dir === undefined || dir === '') return;
  await fs.mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** The Connect error a call ended with, or undefined when it succeeded. */
export async function codeOf(call: Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error);
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails with `what`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = waitMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const why =
    last === undefined ? '' : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`;
  throw new Error(`timed out waiting for ${what}${why}`);
}

/** What axe-core reports of one violation (enough to find and fix it). */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

/** Runs axe-core on the page as it is now (injected once per document). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) await page.addScriptTag({ content: axe.source });
  return page.evaluate(async () => {
    const g = globalThis as unknown as {
      document: unknown;
      axe: {
        run(
          context: unknown,
          options: object,
        ): Promise<{
          violations: Array<{
            id: string;
            impact?: string | null;
            help: string;
            nodes: Array<{ target: unknown[] }>;
          }>;
        }>;
      };
    };
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.map(String).join(' ')),
    }));
  });
}

/**
 * Fails on axe violations of the screen `page` shows, at a desktop and at a phone width: serious
 * and critical ones (contrast, names, labels) and also the moderate ones such as a skipped
 * heading level — every screen is clean today, so any violation is a regression.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  for (const viewport of [desktop, phone]) {
    await page.setViewportSize(viewport);
    const violations = await axeViolations(page);
    expect(violations, `axe on ${screen} at ${viewport.width}×${viewport.height}`).toEqual([]);
  }
  await page.setViewportSize(desktop);
}

/**
 * Presses Tab until the element matching `selector` has the focus (and shows a focus ring), as a
 * keyboard user would reach it; fails when it is not reachable.
 */
export async function tabTo(page: Page, selector: string, maxTabs = 120): Promise<void> {
  for (let i = 0; i < maxTabs; i += 1) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate((wanted) => {
      const g = globalThis as unknown as {
        document: { activeElement: { matches(s: string): boolean } | null };
        getComputedStyle(element: unknown): { outlineStyle: string };
      };
      const active = g.document.activeElement;
      if (active === null || !active.matches(wanted)) return undefined;
      return { outline: g.getComputedStyle(active).outlineStyle };
    }, selector);
    if (focus !== undefined) {
      expect(focus.outline, `focus ring on ${selector}`).not.toBe('none');
      return;
    }
  }
  throw new Error(`${selector} is not reachable with the Tab key`);
}

/** True when the element matching `selector` has the keyboard focus. */
export async function hasFocus(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((wanted) => {
    const g = globalThis as unknown as {
      document: { activeElement: { matches(s: string): boolean } | null };
    };
    return g.document.activeElement?.matches(wanted) ?? false;
  }, selector);
}
