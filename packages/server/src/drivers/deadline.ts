import type { SessionError } from '@isosession/core';

/** The time limit of one driver call, shared with the work it bounds. */
export interface Deadline {
  /** Set when time ran out: the work should stop at its next step and give back what it holds. */
  passed: boolean;
  /** Called once when time runs out, e.g. to destroy the connection the work is waiting on. */
  abort?: () => void;
}

/**
 * Runs `work`, rejecting with `expired()` after `ms` whatever the work is waiting on (a dead
 * socket, a lock, a pool queue). The work is not cancelled by the race alone: it is told
 * through `deadline.passed` / `deadline.abort` so it can release its connection. Every driver
 * call goes through here, so it costs one timer and one promise, no more: no Promise.race,
 * no promise for the timeout itself.
 */
export function withDeadline<T>(ms: number, expired: () => SessionError, work: (deadline: Deadline) => Promise<T>): Promise<T> {
  const deadline: Deadline = { passed: false };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      deadline.passed = true;
      reject(expired());
      try {
        deadline.abort?.();
      } catch {
        // Aborting is best effort: the caller already has its answer.
      }
    }, ms);
    const settle = <V>(answer: (value: V) => void) => (value: V) => {
      clearTimeout(timer);
      // After the deadline answered, the work's own late result (or failure) is dropped.
      answer(value);
    };
    try {
      work(deadline).then(settle(resolve), settle(reject));
    } catch (error) {
      settle(reject)(error);
    }
  });
}
