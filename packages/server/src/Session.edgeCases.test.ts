import { describe, expect, it } from 'vitest';
import { Session } from './index.js';
import type { Driver, SessionParams } from './index.js';
import { recordingDriver } from './testing/recordingDriver.js';
import { registerDriver, createMemoryDriver, registerIdGenerator } from './index.js';
import { randomBytes } from 'node:crypto';

// Adversarial review of the server core: flush recovery, one object flushed concurrently,
// prototype-named params, and removals that must not destroy a copy refreshed meanwhile.

const T0 = 1_700_000_000;

function clock(start = T0) {
  const state = { ms: start * 1000 };
  return { state, params: { now: () => state.ms } satisfies SessionParams };
}

async function storedSession(dsn: string, params: Record<string, unknown>): Promise<string> {
  const s = await Session.new(dsn, null, {});
  s.param(params);
  await s.flush();
  return s.id() as string;
}

describe('regenerate() + a failed flush', () => {
  it('S53: a flush that fails storing the new id keeps the data; the next flush stores it under the new id', async () => {
    const rec = recordingDriver();
    const oldId = await storedSession(rec.dsn, { user: 'alice' });
    const s = await Session.load(rec.dsn, oldId, {});
    s.regenerate();
    const newId = s.id() as string;
    rec.failOn.add('store');
    await expect(s.flush()).rejects.toMatchObject({ code: 'STORE_ERROR' });
    rec.failOn.delete('store');
    await s.flush();
    expect(s.id()).toBe(newId);
    const moved = await Session.load(rec.dsn, newId, {});
    expect(moved.isEmpty()).toBe(false);
    expect(moved.param('user')).toBe('alice');
    expect((await Session.load(rec.dsn, oldId, {})).isEmpty()).toBe(true);
  });
});

describe('one object flushed twice at once', () => {
  it('S54: two concurrent flush() of a regenerated session both resolve; the session lives under the new id', async () => {
    const rec = recordingDriver();
    const oldId = await storedSession(rec.dsn, { user: 'alice' });
    const s = await Session.load(rec.dsn, oldId, {});
    s.regenerate();
    const newId = s.id() as string;
    await Promise.all([s.flush(), s.flush()]);
    expect(s.id()).toBe(newId);
    expect((await Session.load(rec.dsn, newId, {})).param('user')).toBe('alice');
    expect((await Session.load(rec.dsn, oldId, {})).isEmpty()).toBe(true);
  });

  it('S54: a param set while a flush is in flight is kept and written by the next flush', async () => {
    const rec = recordingDriver();
    const id = await storedSession(rec.dsn, { a: 1 });
    const s = await Session.load(rec.dsn, id, {});
    s.param('a', 2);
    const first = s.flush();
    s.param('b', 3);
    await first;
    expect(s.param('b')).toBe(3);
    await s.flush();
    const loaded = await Session.load(rec.dsn, id, {});
    expect(loaded.param('a')).toBe(2);
    expect(loaded.param('b')).toBe(3);
  });
});

describe('prototype-named params', () => {
  it('S39: paramExpiresAt() lists a param named "__proto__" like any other', async () => {
    const { params } = clock();
    const s = await Session.new('driver:memory', null, { Namespace: `review_${randomBytes(4).toString('hex')}` }, params);
    s.param('__proto__', 'x');
    s.expire('__proto__', 10);
    s.expire('constructor', 20);
    const at = s.paramExpiresAt();
    expect(Object.hasOwn(at, '__proto__')).toBe(true);
    expect(at['__proto__' as keyof typeof at]).toBe(T0 + 10);
    expect(at.constructor).toBe(T0 + 20);
    expect(Object.getPrototypeOf(at)).toBe(Object.prototype);
  });
});

describe('expired and refused sessions are removed only while still expired', () => {
  /** A memory driver whose next retrieve hands back its copy, then waits for `release()`. */
  function pausingDriver() {
    const name = `pause_${randomBytes(6).toString('hex')}`;
    const inner = createMemoryDriver({ Namespace: name });
    let pause: { reached: () => void; gate: Promise<void> } | undefined;
    const driver: Driver = {
      async retrieve(id) {
        const copy = await inner.retrieve(id);
        const p = pause;
        pause = undefined;
        if (p) {
          p.reached();
          await p.gate;
        }
        return copy;
      },
      store: (id, data, meta) => inner.store(id, data, meta),
      remove: (id) => inner.remove(id),
      traverse: (visit) => inner.traverse(visit),
      update: (id, merge) => inner.update!(id, merge),
      touch: (id, meta) => inner.touch!(id, meta),
    };
    registerDriver(name, () => driver);
    return {
      dsn: `driver:${name}`,
      /** Pauses the next retrieve after it read; resolves when it got there. */
      pauseNextRetrieve(): { reached: Promise<void>; release: () => void } {
        let release!: () => void;
        let reached!: () => void;
        const gate = new Promise<void>((resolve) => { release = resolve; });
        const reachedPromise = new Promise<void>((resolve) => { reached = resolve; });
        pause = { reached, gate };
        return { reached: reachedPromise, release };
      },
    };
  }

  it('S40/S44: a load that finds a stale expired copy does not remove the copy another request refreshed meanwhile', async () => {
    const store = pausingDriver();
    const { state, params } = clock();
    const created = await Session.new(store.dsn, null, {}, params);
    created.expire(10);
    created.param('cart', [1]);
    await created.flush();
    const id = created.id() as string;

    // B loads one second before the expiry and will flush a fresh atime.
    state.ms = (T0 + 9) * 1000;
    const b = await Session.load(store.dsn, id, {}, params);
    b.param('cart', [1, 2]);
    // A, with a clock at the expiry second, reads the old copy, then waits.
    const late = clock(T0 + 10);
    const pause = store.pauseNextRetrieve();
    const a = Session.load(store.dsn, id, {}, late.params);
    await pause.reached;
    await b.flush();
    pause.release();
    expect((await a).isExpired()).toBe(true);
    // B's refreshed copy (atime T0+9, expires at T0+19) survives A's stale verdict.
    state.ms = (T0 + 11) * 1000;
    const after = await Session.load(store.dsn, id, {}, params);
    expect(after.isEmpty()).toBe(false);
    expect(after.param('cart')).toEqual([1, 2]);
  });
});

describe('regenerate() with an id generator that fails', () => {
  it('S53: no unhandled rejection while the flush is not called yet; flush rejects with the failure, and the next flush tries a new id', async () => {
    const name = `flaky_${randomBytes(4).toString('hex')}`;
    let calls = 0;
    registerIdGenerator(name, {
      async generateId() {
        calls += 1;
        if (calls === 2) throw new Error('id file unwritable');
        return randomBytes(16).toString('hex');
      },
    });
    const rec = recordingDriver();
    const dsn = `${rec.dsn};id:${name}`;
    const created = await Session.new(dsn, null, {});
    created.param('user', 'alice');
    await created.flush();
    const oldId = created.id() as string;
    const s = await Session.load(dsn, oldId, {});
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => { unhandled.push(reason); };
    process.on('unhandledRejection', onUnhandled);
    try {
      s.regenerate();
      // Other work of the request before it flushes: a macrotask or two.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    await expect(s.flush()).rejects.toThrow(/id file unwritable/);
    await s.flush();
    const newId = s.id() as string;
    expect(newId).not.toBe(oldId);
    expect((await Session.load(dsn, newId, {})).param('user')).toBe('alice');
    expect((await Session.load(dsn, oldId, {})).isEmpty()).toBe(true);
  });
});

describe('dataref()', () => {
  it('S30: is read-only all the way to _SESSION_EXPIRE_LIST: changing it does not change the session', async () => {
    const s = await Session.new('driver:memory', null, { Namespace: `review_${randomBytes(4).toString('hex')}` });
    s.param('p', 1);
    s.expire('p', 30);
    const list = s.dataref()._SESSION_EXPIRE_LIST as Record<string, number>;
    try {
      list.q = 5;
    } catch {
      // frozen: fine
    }
    expect(s.dataref()._SESSION_EXPIRE_LIST).toEqual({ p: 30 });
    expect(Object.keys(s.paramExpiresAt())).toEqual(['p']);
  });
});

describe('failures are SessionErrors, and errstr() says what failed', () => {
  it('S2: an id generator that throws a plain Error rejects new() with SessionError ID_GENERATION, cause kept', async () => {
    const name = `broken_${randomBytes(4).toString('hex')}`;
    const cause = new Error('entropy pool on fire');
    registerIdGenerator(name, { generateId() { throw cause; } });
    const error = await Session.new(`driver:memory;id:${name}`, null, { Namespace: `review_${randomBytes(4).toString('hex')}` }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ID_GENERATION', cause });
    expect((error as Error).message).toContain('entropy pool on fire');
    expect(Session.errstr()).toBe((error as Error).message);
  });

  it('S2: Session.update whose fn throws rejects with that error, runs fn once, writes nothing, and errstr() says so', async () => {
    const rec = recordingDriver();
    const id = await storedSession(rec.dsn, { n: 1 });
    let runs = 0;
    const error = await Session.update(id, (s) => {
      runs += 1;
      s.param('n', 2);
      throw new Error('cart is full');
    }, { dsn: rec.dsn }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('cart is full');
    expect(runs).toBe(1);
    expect(Session.errstr()).toBe('cart is full');
    expect((await Session.load(rec.dsn, id, {})).param('n')).toBe(1);
  });
});

describe('Session.update options', () => {
  it.each([Number.NaN, -1, 1.5, '3'])('retries: %s is refused up front with INVALID_ARGUMENT (NaN retried without end)', async (retries) => {
    const error = await Session.update('a'.repeat(32), () => {}, { dsn: 'driver:memory', retries: retries as number }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/retries/);
  });
});
