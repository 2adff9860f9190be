import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SessionError } from '@isosession/core';
import { withFileLock } from '../fileLock.js';
import type { DsnArgs, IdGenerator } from '../types.js';

function integerArg(args: DsnArgs, name: string, fallback: number): number {
  const value = args[name] ?? fallback;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw new SessionError('ID_GENERATION', `id:incr: ${name} must be an integer, got ${String(value)}`);
  }
  return number;
}

/**
 * Sequential ids (S82): IDFile holds the last id as decimal text; each id is the last plus
 * IDIncr (first: IDInit + IDIncr). A lock file makes this atomic across processes.
 */
export const incrIdGenerator: IdGenerator = {
  guessable: true,
  async generateId(args) {
    const file = args.IDFile;
    if (typeof file !== 'string' || file === '') {
      throw new SessionError('ID_GENERATION', 'id:incr needs dsnArgs.IDFile, the path of the file that keeps the last id');
    }
    const init = integerArg(args, 'IDInit', 0);
    const step = integerArg(args, 'IDIncr', 1);
    await mkdir(dirname(file), { recursive: true });
    return withFileLock(`${file}.lock`, async () => {
      let last = init;
      try {
        const text = (await readFile(file, 'utf8')).trim();
        if (text !== '') {
          if (!/^-?\d+$/.test(text)) {
            throw new SessionError('CORRUPT', `id:incr: ${file} does not hold a number ("${text.slice(0, 40)}")`);
          }
          last = Number(text);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const next = last + step;
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temp, String(next), { mode: 0o600 });
      await rename(temp, file);
      return String(next);
    });
  },
  isValidId(id) {
    return /^-?\d{1,19}$/.test(id);
  },
};
