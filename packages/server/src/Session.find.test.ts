import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createMemoryDriver, registerDriver } from '@isosession/server';
import { recordingDriver } from './testing/recordingDriver.js';

const T0 = 1_700_000_000;
let dir: string;
let clock: { ms: number };
let params: { now: () => number };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-find-'));
  clock = { ms: T0 * 1000 };
  params = { now: () => clock.ms };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stored(values: Record<string, unknown>, setup?: (s: Session) => void): Promise<string> {
  const s = await Session.new(null, null, { Directory: dir }, params);
  s.param(values);
  setup?.(s);
  await s.flush();
  return s.id()!;
}

describe('find', () => {
  it('S55: calls code once per stored session, each loaded as load() would, and resolves after the last', async () => {
    const ids = [await stored({ n: 1 }), await stored({ n: 2 }), await stored({ n: 3 })];
    const seen: { id: string | undefined; n: unknown; isNew: boolean; isEmpty: boolean }[] = [];
    let running = 0;
    let maxRunning = 0;
    const report = await Session.find(null, async (s) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => setImmediate(resolve));
      seen.push({ id: s.id(), n: s.param('n'), isNew: s.isNew(), isEmpty: s.isEmpty() });
      running -= 1;
    }, { Directory: dir }, params);
    expect(seen).toHaveLength(3);
    expect(seen.map((entry) => entry.id).sort()).toEqual([...ids].sort());
    for (const entry of seen) {
      expect(entry.isNew).toBe(false);
      expect(entry.isEmpty).toBe(false);
      expect(entry.n).toBe(ids.indexOf(entry.id!) + 1);
    }
    expect(maxRunning).toBe(1);
    expect(report.visited).toBe(3);
  });

  it('S55: find(code) uses the default DSN (file store in the private directory under the OS temp directory)', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const s = await Session.new();
      s.param('here', true);
      await s.flush();
      expect(existsSync(join(dir, `isosession-${process.getuid!()}`, `cgisess_${s.id()}`))).toBe(true);
      const seen: (string | undefined)[] = [];
      await Session.find((found) => {
        seen.push(found.id());
      });
      expect(seen).toEqual([s.id()]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it('S55: find on an empty store resolves without calling code', async () => {
    let calls = 0;
    await Session.find(null, () => { calls += 1; }, { Directory: join(dir, 'missing') });
    expect(calls).toBe(0);
  });

  it('S56: an expired session is handed over expired and empty, and removed', async () => {
    const live = await stored({ n: 'live' });
    const doomed = await stored({ n: 'doomed' }, (s) => s.expire(10));
    clock.ms += 10_000;
    const seen: { expired: boolean; empty: boolean; id: string | undefined; params: string[] }[] = [];
    const report = await Session.find(null, (s) => {
      seen.push({ expired: s.isExpired(), empty: s.isEmpty(), id: s.id(), params: s.param() });
    }, { Directory: dir }, params);
    expect(seen).toHaveLength(2);
    expect(seen.filter((entry) => entry.expired)).toEqual([{ expired: true, empty: true, id: undefined, params: [] }]);
    expect(seen.find((entry) => !entry.expired)?.id).toBe(live);
    expect(report.purged).toBe(1);
    expect(existsSync(join(dir, `cgisess_${doomed}`))).toBe(false);
    expect(existsSync(join(dir, `cgisess_${live}`))).toBe(true);
  });

  it('S56: find(() => {}) purges expired sessions', async () => {
    const doomed = await stored({ n: 1 }, (s) => s.expire('1m'));
    clock.ms += 3600_000;
    await Session.find(null, () => {}, { Directory: dir }, params);
    expect(existsSync(join(dir, `cgisess_${doomed}`))).toBe(false);
    clock.ms = T0 * 1000; // even an earlier clock finds nothing now
    expect((await Session.load(null, doomed, { Directory: dir }, params)).isEmpty()).toBe(true);
  });

  it('S57: find does not touch atime; a code that changes nothing writes nothing', async () => {
    const id = await stored({ n: 1 });
    const file = join(dir, `cgisess_${id}`);
    const bytesBefore = await readFile(file);
    const mtimeBefore = (await stat(file)).mtimeMs;
    clock.ms += 500_000;
    const atimes: (number | undefined)[] = [];
    await Session.find(null, (s) => {
      atimes.push(s.atime());
      s.param('n');
    }, { Directory: dir }, params);
    expect(atimes).toEqual([T0]);
    expect(await readFile(file)).toEqual(bytesBefore);
    expect((await stat(file)).mtimeMs).toBe(mtimeBefore);

    // A second walk still sees the original atime.
    const again: (number | undefined)[] = [];
    await Session.find(null, (s) => { again.push(s.atime()); }, { Directory: dir }, params);
    expect(again).toEqual([T0]);
  });

  it('S57: a read-only find makes no write calls to the driver', async () => {
    const rec = recordingDriver();
    for (let i = 0; i < 3; i++) {
      const s = await Session.new(rec.dsn, null, {}, params);
      s.param('i', i);
      await s.flush();
    }
    clock.ms += 100_000;
    const before = rec.writes().length;
    await Session.find(rec.dsn, (s) => { s.param('i'); }, {}, params);
    expect(rec.writes().length).toBe(before);
  });

  it('S58: changes made in code persist', async () => {
    const id = await stored({ n: 1 });
    await Session.find(null, (s) => {
      s.param('n', 2);
      s.param('visited', true);
    }, { Directory: dir }, params);
    const loaded = await Session.load(null, id, { Directory: dir }, params);
    expect(loaded.param('n')).toBe(2);
    expect(loaded.param('visited')).toBe(true);
  });

  it('S58: delete() + flush() in code removes the session', async () => {
    const gone = await stored({ drop: true });
    const kept = await stored({ drop: false });
    await Session.find(null, async (s) => {
      if (s.param('drop')) {
        s.delete();
        await s.flush();
      }
    }, { Directory: dir }, params);
    expect(existsSync(join(dir, `cgisess_${gone}`))).toBe(false);
    expect((await Session.load(null, kept, { Directory: dir }, params)).param('drop')).toBe(false);
  });

  it('S58: delete() alone in code removes the session too (find flushes what code changed)', async () => {
    const gone = await stored({ n: 1 });
    await Session.find(null, (s) => s.delete(), { Directory: dir }, params);
    expect(existsSync(join(dir, `cgisess_${gone}`))).toBe(false);
  });

  it('S59: with ipMatch, find skips sessions of other addresses and never deletes them', async () => {
    const mine = await Session.new(null, null, { Directory: dir }, { ...params, remoteAddr: '10.0.0.1' });
    await mine.flush();
    const theirs = await Session.new(null, null, { Directory: dir }, { ...params, remoteAddr: '10.0.0.2' });
    await theirs.flush();
    const seen: (string | undefined)[] = [];
    await Session.find(null, (s) => { seen.push(s.id()); }, { Directory: dir }, { ...params, ipMatch: true, remoteAddr: '10.0.0.1' });
    expect(seen).toEqual([mine.id()]);
    expect(existsSync(join(dir, `cgisess_${theirs.id()}`))).toBe(true);
    const loaded = await Session.load(null, theirs.id()!, { Directory: dir }, { ...params, remoteAddr: '10.0.0.2' });
    expect(loaded.id()).toBe(theirs.id());
  });

  it('S60: a code that is not a function rejects with SessionError', async () => {
    const notFunctions: unknown[] = ['code', 42, null, undefined, {}];
    for (const code of notFunctions) {
      const error = await (Session.find as (...args: unknown[]) => Promise<unknown>)(null, code, { Directory: dir }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('INVALID_ARGUMENT');
    }
    await expect((Session.find as (...args: unknown[]) => Promise<unknown>)()).rejects.toBeInstanceOf(SessionError);
  });
});

describe('find report', () => {
  it('S55: a session that fails to load is reported in failed and the walk goes on (DESIGN FindReport)', async () => {
    const good = await stored({ n: 1 });
    const corruptId = 'b'.repeat(32);
    await writeFile(join(dir, `cgisess_${corruptId}`), 'not json at all');
    const seen: (string | undefined)[] = [];
    const report = await Session.find(null, (s) => { seen.push(s.id()); }, { Directory: dir }, params);
    expect(seen).toEqual([good]);
    expect(report.visited).toBe(1);
    expect(report.failed.map((entry) => entry.id)).toEqual([corruptId]);
    expect(report.failed[0]!.error).toBeInstanceOf(SessionError);
    expect((report.failed[0]!.error as SessionError).code).toBe('CORRUPT');
    // The corrupt copy is kept for inspection, not deleted.
    expect(await readFile(join(dir, `cgisess_${corruptId}`), 'utf8')).toBe('not json at all');
  });
});

describe('find on a large store', () => {
  /** A memory store whose traverse logs each id it yields, and whose retrieve logs each load. */
  function loggingStore() {
    const name = `walk_${Math.random().toString(16).slice(2)}`;
    const inner = createMemoryDriver({ Namespace: name });
    const log: string[] = [];
    registerDriver(name, () => ({
      retrieve: (id) => {
        log.push(`load ${id}`);
        return inner.retrieve(id);
      },
      store: (id, data, meta) => inner.store(id, data, meta),
      remove: (id) => inner.remove(id),
      async traverse(visit) {
        await inner.traverse(async (id) => {
          log.push(`yield ${id}`);
          await visit(id);
        });
      },
    }));
    return { dsn: `driver:${name}`, log };
  }

  it('handles each session as the walk yields it, never gathering every id first (memory stays one page)', async () => {
    const store = loggingStore();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await Session.new(store.dsn, null, {}, params);
      s.param('n', i);
      await s.flush();
      ids.push(s.id()!);
    }
    store.log.length = 0;
    await Session.find(store.dsn, () => {}, {}, params);
    expect(store.log.slice(0, 4)).toEqual([`yield ${ids[0]}`, `load ${ids[0]}`, `yield ${ids[1]}`, `load ${ids[1]}`]);
  });

  it('an error thrown by code ends the walk and rejects with that error as it is (not as a store failure)', async () => {
    const store = loggingStore();
    for (let i = 0; i < 3; i++) {
      const s = await Session.new(store.dsn, null, {}, params);
      s.param('n', i);
      await s.flush();
    }
    const mine = new Error('the callback broke');
    let calls = 0;
    const outcome = await Session.find(store.dsn, () => {
      calls += 1;
      throw mine;
    }, {}, params).then(() => undefined, (error: unknown) => error);
    expect(outcome).toBe(mine);
    expect(calls).toBe(1);
  });
});
