import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * Thrown when a data folder is already in use by a live process. Two PGlite instances writing the
 * same folder corrupt it silently (PGlite has no guard of its own), so the second opener must stop.
 */
export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError';
  constructor(
    /** The folder that is in use. */
    readonly folder: string,
    /** What the lock file says about its owner. */
    readonly owner: LockOwner,
  ) {
    super(
      `The data folder ${folder} is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.acquiredAt}). ` +
        'Stop that process first, or point this one at another folder. ' +
        `If that process is gone and the host is different, delete ${path.join(folder, LOCK_FILE_NAME)}.`,
    );
  }
}

/** Who holds a folder lock, as written in the lock file. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
  /** Random per acquisition, so a release never deletes a lock someone else took over. */
  readonly token: string;
}

/** An exclusive claim on a folder, held until {@link FolderLock.release} or process exit. */
export interface FolderLock {
  readonly folder: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** The lock file's name inside the locked folder. */
export const LOCK_FILE_NAME = 'streambet.lock';

/**
 * Claims `folder` for this process: creates `<folder>/streambet.lock` holding our pid. A lock whose
 * pid is dead (the process crashed or was killed) is taken over; a live one throws
 * {@link FolderLockedError}. The lock is removed on release and on normal process exit; after a
 * SIGKILL it stays behind and the next opener takes it over.
 */
export function acquireFolderLock(folder: string): FolderLock {
  const absolute = path.resolve(folder);
  fs.mkdirSync(absolute, { recursive: true });
  const lockPath = path.join(absolute, LOCK_FILE_NAME);
  const mine: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    acquiredAt: new Date().toISOString(),
    token: randomUUID(),
  };
  const content = JSON.stringify(mine);

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(lockPath, content, { flag: 'wx' });
      return holdLock(absolute, lockPath, mine.token);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const existing = readOwner(lockPath);
    if (existing === undefined) {
      // Gone since our attempt, being written by a contender, or left unreadable by a crash mid-write.
      if (isOldUnreadableLock(lockPath)) fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (!isStale(existing)) throw new FolderLockedError(absolute, existing);
    takeOverStale(lockPath, existing);
  }
  const owner = readOwner(lockPath);
  if (owner !== undefined) throw new FolderLockedError(absolute, owner);
  throw new Error(`Could not acquire the lock on ${absolute}: the lock file keeps changing.`);
}

function holdLock(folder: string, lockPath: string, token: string): FolderLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    if (readOwner(lockPath)?.token === token) {
      try {
        fs.unlinkSync(lockPath);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
  };
  process.on('exit', release);
  return { folder, release };
}

/**
 * Moves the stale lock aside atomically (only one contender's rename succeeds on a given file),
 * then checks that what we moved is the stale lock we judged; if a contender had already replaced
 * it with a live lock, that lock is put back.
 */
function takeOverStale(lockPath: string, stale: LockOwner): void {
  const aside = `${lockPath}.stale-${process.pid}-${randomUUID()}`;
  try {
    fs.renameSync(lockPath, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  const moved = readOwner(aside);
  if (moved !== undefined && moved.token !== stale.token) {
    try {
      fs.linkSync(aside, lockPath);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
  }
  fs.rmSync(aside, { force: true });
}

function readOwner(lockPath: string): LockOwner | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.token !== 'string') return undefined;
    return {
      pid: parsed.pid,
      hostname: typeof parsed.hostname === 'string' ? parsed.hostname : 'unknown host',
      acquiredAt: typeof parsed.acquiredAt === 'string' ? parsed.acquiredAt : 'unknown time',
      token: parsed.token,
    };
  } catch {
    return undefined;
  }
}

/** An unparsable lock file older than a few seconds is debris from a crash between create and write. */
function isOldUnreadableLock(lockPath: string): boolean {
  try {
    const ageMs = Date.now() - fs.statSync(lockPath).mtimeMs;
    return ageMs > 5_000 && readOwner(lockPath) === undefined;
  } catch {
    return false;
  }
}

/** A lock is stale when its process is gone. Locks from another host are never judged stale. */
function isStale(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return false;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return isErrno(error, 'ESRCH');
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
