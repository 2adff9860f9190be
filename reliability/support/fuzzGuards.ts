import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import fc from 'fast-check';
import { isSessionError } from '@isosession/server';
import type { SessionErrorCode } from '@isosession/server';

/** Fails a case that neither settles nor fails within `ms`: a hang is a finding too. */
export async function noHang<T>(work: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles `work`: its value, or the error it rejected with. */
export async function outcome<T>(work: Promise<T>, what: string): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await noHang(work, what) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hang:')) throw error;
    return { ok: false, error };
  }
}

/** A clear error: a SessionError with one of `codes` and a message that says something. */
export function expectClearError(error: unknown, codes: SessionErrorCode[]): void {
  expect(isSessionError(error), `not a SessionError: ${String(error)}`).toBe(true);
  const sessionError = error as Error & { code: SessionErrorCode };
  expect(codes).toContain(sessionError.code);
  expect(sessionError.message.length).toBeGreaterThan(10);
}

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
const baseline = prototypes.map((proto) => Object.getOwnPropertyNames(proto).sort().join(','));

/** Keys fuzzed data uses to try prototype pollution, and the canary they try to plant. */
export const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'polluted', 'toString', 'hasOwnProperty'] as const;

/** No prototype gained or changed a property, and the canary is nowhere. */
export function expectNoPollution(): void {
  prototypes.forEach((proto, index) => expect(Object.getOwnPropertyNames(proto).sort().join(',')).toBe(baseline[index]));
  expect((({}) as Record<string, unknown>).polluted).toBeUndefined();
  expect(({}).toString).toBe(Object.prototype.toString);
  expect(({}).hasOwnProperty).toBe(Object.prototype.hasOwnProperty);
}

/** JSON-like values whose keys are often the polluting ones, nested. */
export const pollutingValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/**
 * A sandbox directory with the store three levels down (sandbox/a/b/store), so that a path
 * trick climbing out of the store lands in the sandbox, where `strayFiles` sees it.
 */
export async function sandbox(label: string): Promise<{ root: string; store: string }> {
  const root = await mkdtemp(join(tmpdir(), `isosession-fuzz-${label}-`));
  const store = join(root, 'a', 'b', 'store');
  await mkdir(store, { recursive: true });
  return { root, store };
}

/** Every file under `root` that is not a session file, temp file or lock of the store. */
export async function strayFiles(root: string, store: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((path) => !['a', join('a', 'b'), join('a', 'b', 'store')].includes(path))
    .filter((path) => !(path.startsWith(`${relative(root, store)}/`) && /^(?:cgisess_[A-Za-z0-9_-]+|isosession-lock_[A-Za-z0-9_-]+\.lock(?:\.break\.lock)?|isosession-tmp_[A-Za-z0-9_-]+\.[0-9a-f]+\.tmp)$/.test(path.split('/').pop()!)));
}
