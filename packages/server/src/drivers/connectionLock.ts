/**
 * One connection at a time for a Handle that is a single connection (a pg Client, a mysql2
 * Connection): a transaction must not interleave with another call's statements on it.
 * `acquire()` resolves with the function that lets the next caller in.
 */
export function createConnectionLock(): () => Promise<() => void> {
  let tail: Promise<void> = Promise.resolve();
  return () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const granted = tail.then(() => release);
    tail = tail.then(() => released);
    return granted;
  };
}
