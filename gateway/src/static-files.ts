/**
 * The web app's built files (and the admin console's, under /admin/), served by the gateway so a
 * viewer needs one address: hashed assets
 * (`/assets/index-<hash>.js`, Vite's layout) are cached for a year, everything else is revalidated
 * (ETag), and paths that are not files fall back to index.html so client-side routes survive a
 * reload.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Logger } from '@streambet/platform/log/logger';
import { writeHead } from '@streambet/platform/rpc/http-response';

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Content types by file extension (what a Vite build emits, plus the usual web files). */
const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/** The content type of a file name; unknown extensions are opaque bytes. */
function contentTypeOf(fileName: string): string {
  return contentTypes[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Vite puts content-hashed files under `assets/` as `<name>-<8+ char hash>.<ext>`: a new build
 * gives them new names, so they may be cached forever. Anything else may change in place.
 */
export function isHashedAsset(relativePath: string): boolean {
  return /^assets\/(?:.*\/)?[^/]+-[A-Za-z0-9_-]{8,}(?:\.[a-z0-9]+)+$/.test(relativePath);
}

const gzip = promisify(gzipCallback);

/** Types worth compressing (text and text-like); images and fonts are compressed already. */
const compressible = /^(?:text\/|application\/(?:json|manifest\+json|xml|wasm)|image\/svg\+xml)/;
/** Below this, gzip saves too little to be worth a header; above, the file is sent as is. */
const compressMinBytes = 1024;
const compressMaxBytes = 16 * 1024 * 1024;
/** Compressed copies kept in memory (the built app is a few files; a cap keeps it bounded). */
const compressedCacheMaxBytes = 64 * 1024 * 1024;

function acceptsGzip(req: Request): boolean {
  const value = req.headers['accept-encoding'];
  if (typeof value !== 'string') return false;
  return value.split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(';');
    const refused = params.some((param) => /^\s*q=0(?:\.0{0,3})?\s*$/.test(param));
    return (coding === 'gzip' || coding === '*') && !refused;
  });
}

/**
 * Gzipped copies of served files, keyed by file and version (size + mtime), so each version is
 * compressed once however often it is asked for; oldest copies go first past the byte cap.
 */
function createCompressedCache() {
  const entries = new Map<string, Promise<Buffer>>();
  const sizes = new Map<string, number>();
  let totalBytes = 0;
  return (file: string, version: string): Promise<Buffer> => {
    const key = `${version} ${file}`;
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = fs.promises.readFile(file).then((raw) => gzip(raw, { level: 9 }));
      entries.set(key, entry);
      entry.then(
        (compressed) => {
          sizes.set(key, compressed.length);
          totalBytes += compressed.length;
          for (const oldest of entries.keys()) {
            if (totalBytes <= compressedCacheMaxBytes || oldest === key) break;
            totalBytes -= sizes.get(oldest) ?? 0;
            sizes.delete(oldest);
            entries.delete(oldest);
          }
        },
        () => entries.delete(key),
      );
    }
    return entry;
  };
}

type CompressedCache = ReturnType<typeof createCompressedCache>;

const immutable = 'public, max-age=31536000, immutable';
const revalidate = 'no-cache';

/** Where the built web app is by default: `apps/web/dist` of this repository. */
const defaultWebDir = fileURLToPath(new URL('../../apps/web/dist', import.meta.url));

/**
 * The folder to serve from the WEB_DIR setting: `none` → none; empty → the repo's
 * `apps/web/dist` when it holds an index.html; a path → that folder, which must hold one.
 */
export function resolveWebDir(setting: string): string | undefined {
  if (setting === 'none') return undefined;
  if (setting === '') {
    return fs.existsSync(path.join(defaultWebDir, 'index.html')) ? defaultWebDir : undefined;
  }
  const dir = path.resolve(setting);
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    throw new Error(
      `WEB_DIR: ${JSON.stringify(setting)} has no index.html (build the web app, or set WEB_DIR=none)`,
    );
  }
  return dir;
}

/** Where the built admin console is by default: `apps/admin/dist` of this repository. */
const defaultAdminDir = fileURLToPath(new URL('../../apps/admin/dist', import.meta.url));

/** The URL prefix of the admin console (apps/admin), served next to the web app. */
export const adminPrefix = '/admin/';

/**
 * The admin console's folder for a web app served from `webRoot`: its `admin/` subfolder when a
 * deployment put the console there, else the repo's `apps/admin/dist`; undefined when neither
 * holds an index.html (the console is not built: `/admin/` then answers 404).
 */
export function resolveAdminDir(webRoot: string): string | undefined {
  for (const dir of [path.join(webRoot, 'admin'), defaultAdminDir]) {
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/**
 * A path the RPC router owns: `/<package>.<Service>/<Method>` (Connect GET calls use GET too),
 * internal services included, so they keep answering as Connect decides (404) and never as files.
 */
function isRpcPath(pathname: string): boolean {
  return /^\/[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+\/[^/]+$/.test(pathname);
}

/** Paths the gateway serves itself; never files. */
const reservedPrefixes = ['/webhooks/', '/socket.io/', '/health/'];

/**
 * Creates the static route for `webRoot` (an absolute folder with an index.html), and for the
 * admin console at `/admin/` from `adminRoot` (default {@link resolveAdminDir}). It takes GET and
 * HEAD requests that are not RPCs: an existing file is sent, a missing path without a file
 * extension gets its app's index.html (SPA routes), a missing file with an extension is 404.
 */
export function createStaticFiles(
  webRoot: string,
  logger: Logger,
  adminRoot: string | undefined = resolveAdminDir(webRoot),
): (req: Request, res: Response) => boolean {
  const compressed = createCompressedCache();
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const [urlPath = '/', query] = (req.url ?? '/').split('?');
    if (isRpcPath(urlPath) || reservedPrefixes.some((prefix) => urlPath.startsWith(prefix))) {
      return false;
    }
    // The admin console (its own Vite build, hash routes) under /admin/; `/admin` gets the slash
    // so the console's relative asset URLs resolve under /admin/.
    if (urlPath === adminPrefix.slice(0, -1)) {
      writeHead(res, 308, { location: `${adminPrefix}${query === undefined ? '' : `?${query}`}` });
      res.end();
      return true;
    }
    const inAdmin = adminRoot !== undefined && urlPath.startsWith(adminPrefix);
    const root = inAdmin ? adminRoot : webRoot;
    const rawPath = inAdmin ? urlPath.slice(adminPrefix.length - 1) : urlPath;
    const rootWithSep = root.endsWith(path.sep) ? root : root + path.sep;
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return false;
    }
    if (decoded.includes('\0')) return false;
    const relative = path.posix.normalize(decoded).replace(/^\/+/, '');
    const file = path.resolve(root, relative === '' ? 'index.html' : relative);
    if (file !== root && !file.startsWith(rootWithSep)) {
      writeHead(res, 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return true;
    }
    void serve(file, relative, root, compressed, req, res).catch((error: unknown) => {
      logger.warn({ err: error, path: rawPath }, 'serving a web app file failed');
      if (!res.headersSent) {
        writeHead(res, 500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('could not read the file');
      } else {
        res.destroy();
      }
    });
    return true;
  };
}

async function statFile(file: string): Promise<fs.Stats | undefined> {
  try {
    const stats = await fs.promises.stat(file);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

async function serve(
  file: string,
  relative: string,
  root: string,
  compressed: CompressedCache,
  req: Request,
  res: Response,
): Promise<void> {
  let target = file;
  let stats = await statFile(file);
  let cacheControl = isHashedAsset(relative) ? immutable : revalidate;
  if (stats === undefined) {
    if (path.posix.extname(relative) !== '') {
      writeHead(res, 404, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': revalidate,
      });
      res.end('not found');
      return;
    }
    target = path.join(root, 'index.html');
    stats = await statFile(target);
    cacheControl = revalidate;
    if (stats === undefined) {
      writeHead(res, 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the web app is not built');
      return;
    }
  }
  const contentType = contentTypeOf(target);
  const version = `${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}`;
  const canCompress =
    compressible.test(contentType) &&
    stats.size >= compressMinBytes &&
    stats.size <= compressMaxBytes;
  const gzipped = canCompress && acceptsGzip(req);
  const etag = `W/"${version}${gzipped ? '-gz' : ''}"`;
  const headers: Record<string, string> = {
    'content-type': contentType,
    'cache-control': cacheControl,
    etag,
    'last-modified': stats.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
    ...(canCompress ? { vary: 'Accept-Encoding' } : {}),
  };
  const ifNoneMatch = req.headers['if-none-match'];
  if (
    typeof ifNoneMatch === 'string' &&
    ifNoneMatch.split(',').some((tag) => tag.trim() === etag)
  ) {
    writeHead(res, 304, headers);
    res.end();
    return;
  }
  if (gzipped) {
    const body = await compressed(target, version);
    writeHead(res, 200, {
      ...headers,
      'content-encoding': 'gzip',
      'content-length': String(body.length),
    });
    if (req.method === 'HEAD') res.end();
    else res.end(body);
    return;
  }
  writeHead(res, 200, { ...headers, 'content-length': String(stats.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(target);
    stream.once('error', reject);
    stream.once('end', resolve);
    stream.pipe(res as NodeJS.WritableStream);
  });
}
