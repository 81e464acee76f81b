/**
 * A FIFO async mutex. The embedded engine has exactly one backend, so every statement and every
 * transaction of every schema must take turns; FIFO order keeps a busy service from starving
 * another one.
 */
export interface Mutex {
  /** Resolves with a release function once the caller owns the lock. Release exactly once. */
  acquire(): Promise<() => void>;
  /** Runs `fn` while holding the lock; releases it whatever `fn` does. */
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** Creates an unlocked {@link Mutex}. */
export function createMutex(): Mutex {
  let tail: Promise<void> = Promise.resolve();

  async function acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = tail;
    tail = previous.then(() => released);
    await previous;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  }

  async function runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const release = await acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  return { acquire, runExclusive };
}
