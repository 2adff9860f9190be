import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, createFileDriver, registerDriver } from './index.js';
import type { DsnArgs, Query, SessionParams } from './index.js';
import { signId } from './signedId.js';
import { spyStore } from './testing/spyDriver.js';

// Bad input: whatever a client sends — huge, malformed, duplicated cookies, ids of
// the wrong shape, URL-encoded path tricks, forged signatures — ends as "no claimed id" and a
// fresh session: never an exception, never a well-formedness surprise for the store.

const MD5 = /^[0-9a-f]{32}$/;
const SECRET = 'property-test-secret-of-more-than-32-chars';
const RUNS = 150;

const tricks = fc.constantFrom('%2F..%2F', '..%2F', '%2e%2e%2f', '%2E%2E%5C', '/../', '..\\', '%00', '\u0000', '%252F..', 'cgisess_', '....//');
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  tricks.chain((trick) => fc.string({ maxLength: 40 }).map((rest) => `${trick}${rest}`)),
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.stringMatching(/^[0-9A-Fa-f]{31,33}$/),
);
const cookieValue = fc.oneof(anyText, anyText.map((value) => encodeURIComponent(value)));
const cookieHeader = fc.oneof(
  anyText,
  cookieValue.map((value) => `CGISESSID=${value}`),
  fc.array(fc.oneof(anyText, cookieValue.map((value) => `CGISESSID=${value}`)), { maxLength: 8 }).map((parts) => parts.join('; ')),
  fc.integer({ min: 8_000, max: 40_000 }).map((size) => `CGISESSID=${'a'.repeat(size)}`),
  fc.integer({ min: 16_000, max: 20_000 }).map((size) => `pad=${'x'.repeat(size)}; CGISESSID=${'0'.repeat(32)}`),
);

/** A Node request as far as a session cares; no header validation, so anything gets in. */
function nodeRequest(cookie: string | string[] | undefined): Query {
  return { headers: { cookie }, socket: { remoteAddress: '127.0.0.1' }, url: '/' } as unknown as Query;
}

async function expectFresh(dsn: string, query: Query, dsnArgs: DsnArgs, params: SessionParams = {}): Promise<void> {
  const session = await Session.new(dsn, query, dsnArgs, params);
  expect(session.isNew()).toBe(true);
  expect(session.id()).toMatch(MD5);
}

describe('bad input: properties', () => {
  it('any Cookie header on a Node request gives a fresh session; the store sees only md5-shaped ids', async () => {
    const store = spyStore();
    await fc.assert(
      fc.asyncProperty(fc.oneof(cookieHeader, fc.array(cookieHeader, { maxLength: 4 })), async (cookie) => {
        await expectFresh(store.dsn, nodeRequest(cookie), store.dsnArgs);
      }),
      { numRuns: RUNS },
    );
    expect(store.recorder.ids().every((id) => MD5.test(id))).toBe(true);
  });

  it('any Cookie header a WHATWG Request accepts gives a fresh session', async () => {
    const store = spyStore();
    await fc.assert(
      fc.asyncProperty(cookieHeader, async (cookie) => {
        let request: Request;
        try {
          request = new Request('http://localhost/', { headers: { cookie } });
        } catch {
          return; // not a header value at all: the runtime refuses it before we ever see it
        }
        await expectFresh(store.dsn, request, store.dsnArgs);
      }),
      { numRuns: RUNS },
    );
    expect(store.recorder.ids().every((id) => MD5.test(id))).toBe(true);
  });

  it('S17, S18: any URL param, form field or CGI-like value with idFrom query gives a fresh session', async () => {
    const store = spyStore();
    const params: SessionParams = { idFrom: ['cookie', 'query'] };
    const query = fc.oneof(
      cookieValue.map((value) => new URLSearchParams([['CGISESSID', value], ['CGISESSID', '0'.repeat(32)]]) as Query),
      cookieValue.map((value) => new Request(`http://localhost/?CGISESSID=${encodeURIComponent(value)}`) as Query),
      cookieValue.map((value) => new Request(`http://localhost/?CGISESSID=${value.replace(/[#?]/g, '')}`) as Query),
      cookieValue.map((value) => {
        const form = new FormData();
        form.append('CGISESSID', value);
        return form as Query;
      }),
      fc.anything().map((value) => ({ cookie: () => value, param: () => value }) as Query),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        await expectFresh(store.dsn, q, store.dsnArgs, params);
      }),
      { numRuns: RUNS },
    );
    expect(store.recorder.ids().every((id) => MD5.test(id))).toBe(true);
  });

  it('S11: a well-formed id the store does not hold is never adopted', async () => {
    const store = spyStore();
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[0-9a-f]{32}$/), async (id) => {
        const session = await Session.new(store.dsn, nodeRequest(`CGISESSID=${id}`), store.dsnArgs);
        expect(session.isNew()).toBe(true);
        expect(session.id()).not.toBe(id);
      }),
      { numRuns: 50 },
    );
  });

  it('signed ids: a forged signature never verifies, and the store is never asked', async () => {
    const store = spyStore();
    const live = await Session.new(store.dsn, null, store.dsnArgs, { secret: SECRET });
    await live.flush();
    const id = live.id() as string;
    store.recorder.calls.length = 0;
    const forged = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((signature) => `${id}.${signature}`),
      fc.string({ minLength: 32, maxLength: 64 }).map((secret) => signId(id, secret)),
      anyText.map((tail) => `${id}.${tail}`),
      anyText,
    );
    await fc.assert(
      fc.asyncProperty(forged, async (value) => {
        fc.pre(value !== signId(id, SECRET));
        await expectFresh(store.dsn, nodeRequest(`CGISESSID=${encodeURIComponent(value)}`), store.dsnArgs, { secret: SECRET });
      }),
      { numRuns: RUNS },
    );
    expect(store.recorder.calls.filter((call) => call.op === 'retrieve')).toEqual([]);
  });
});

describe('bad input: the file store never leaves its directory', () => {
  let root: string;
  const seen: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'isosession-traversal-'));
    await mkdir(join(root, 'sessions'));
    await writeFile(join(root, 'cgisess_canary'), 'canary');
    await writeFile(join(root, 'secret'), 'secret');
    // The real file driver, recording every id it is asked for.
    registerDriver('recordedfile', (args) => {
      const inner = createFileDriver(args);
      const record = (id: string) => seen.push(id);
      return {
        retrieve: (id) => (record(id), inner.retrieve(id)),
        store: (id, data, meta) => (record(id), inner.store(id, data, meta)),
        remove: (id) => (record(id), inner.remove(id)),
        traverse: (visit) => inner.traverse(visit),
        update: (id, merge) => (record(id), inner.update!(id, merge)),
        touch: (id, meta) => (record(id), inner.touch!(id, meta)),
      };
    });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('S75: cookies with path tricks, flushed, touch nothing outside Directory (md5 and static ids)', async () => {
    const dsnArgs = { Directory: join(root, 'sessions'), Id: 'fallback' };
    await fc.assert(
      fc.asyncProperty(cookieHeader, fc.constantFrom('md5', 'static'), async (cookie, idKind) => {
        // id:static with a request needs a secret (a client could otherwise choose its id).
        const session = await Session.new(`driver:recordedfile;id:${idKind}`, nodeRequest(cookie), dsnArgs, idKind === 'static' ? { secret: SECRET } : {});
        session.param('x', 1);
        await session.flush();
      }),
      { numRuns: RUNS },
    );
    expect((await readdir(root)).sort()).toEqual(['cgisess_canary', 'secret', 'sessions']);
    expect(await readFile(join(root, 'cgisess_canary'), 'utf8')).toBe('canary');
    const files = await readdir(join(root, 'sessions'));
    expect(files.every((name) => /^(?:cgisess_[A-Za-z0-9_-]{1,128}|isosession-lock_[A-Za-z0-9_-]{1,128}\.lock)$/.test(name))).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((id) => /^[A-Za-z0-9_-]{1,128}$/.test(id))).toBe(true);
  });
});
