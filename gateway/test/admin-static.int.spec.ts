/**
 * The admin console under /admin/: its own files and SPA fallback (its index.html, not the web
 * app's), `/admin` redirected to `/admin/`, a deployment's `<WEB_DIR>/admin` preferred, and
 * nothing escaping the console's folder.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@streambet/platform/log/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticFiles, resolveAdminDir } from '../src/static-files.js';

describe('admin console static files', () => {
  let webDir: string;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    webDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-admin-'));
    await fs.promises.mkdir(path.join(webDir, 'admin', 'assets'), { recursive: true });
    await fs.promises.writeFile(path.join(webDir, 'index.html'), '<p>viewer</p>');
    await fs.promises.writeFile(path.join(webDir, 'admin', 'index.html'), '<p>admin</p>');
    await fs.promises.writeFile(
      path.join(webDir, 'admin', 'assets', 'index-Ab12Cd34.js'),
      'console.log("admin")',
    );
    await fs.promises.writeFile(path.join(webDir, 'secret.txt'), 'viewer file');
    const handle = createStaticFiles(webDir, createLogger({ service: 'test', level: 'silent' }));
    server = http.createServer((req, res) => {
      if (!handle(req, res)) {
        res.statusCode = 418;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await fs.promises.rm(webDir, { recursive: true, force: true });
  });

  it("serves the console's files, its SPA fallback and a redirect from /admin", async () => {
    expect(resolveAdminDir(webDir)).toBe(path.join(webDir, 'admin'));
    const index = await fetch(`${base}/admin/`);
    expect([index.status, await index.text()]).toEqual([200, '<p>admin</p>']);
    const deep = await fetch(`${base}/admin/users`);
    expect(await deep.text()).toBe('<p>admin</p>');
    const asset = await fetch(`${base}/admin/assets/index-Ab12Cd34.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${base}/admin/assets/nope-12345678.js`);
    expect(missing.status).toBe(404);
    const bare = await fetch(`${base}/admin?x=1`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/admin/?x=1']);
    const viewer = await fetch(`${base}/`);
    expect(await viewer.text()).toBe('<p>viewer</p>');
    // The console's root is its own folder: the viewer app's files are not reachable through it.
    // (a raw request: fetch would normalize the dots away before sending)
    const escapeStatus = await new Promise<number | undefined>((resolve, reject) =>
      http
        .get(`${base}/admin/..%2fsecret.txt`, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', reject),
    );
    expect(escapeStatus).toBe(404);
    const rpc = await fetch(`${base}/streambet.user.v1.UserService/Login`);
    expect(rpc.status).toBe(418);
  });
});
