import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Session, parseDuration } from '@isosession/server';
import { withNodeSession } from '@isosession/server/node';
import { serveNode } from '@isosession/test-support/serveNode';
import { recordFigures } from './support/figures.js';
import { expectClearError, expectNoPollution, noHang, outcome, sandbox, strayFiles } from './support/fuzzGuards.js';
import { FUZZ_RUNS } from './support/scale.js';

// Reliability battery, "Bad input": what clients and configuration can throw at isosession — raw Cookie
// header bytes over a real socket, claimed session ids, DSNs, durations — must end in a
// fresh session or a clear SessionError: no crash, no hang, no file outside the store, no
// prototype pollution. The tRPC inputs and stored blobs have files of their own.

const cases: Record<string, number> = {};
const directories: string[] = [];

afterAll(async () => {
  recordFigures('fuzz: inputs', { runsPerProperty: FUZZ_RUNS, cases, total: Object.values(cases).reduce((sum, count) => sum + count, 0) });
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

function counted(name: string): void {
  cases[name] = (cases[name] ?? 0) + 1;
}

const tricks = fc.constantFrom('../', '..\\', '%2e%2e%2f', '/', '\\', '\u0000', '....//', 'cgisess_', '~', '.', '..', '%00', 'CON', '\u202e');
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 120 }),
  fc.tuple(fc.array(tricks, { maxLength: 4 }), fc.string({ maxLength: 20 })).map(([parts, rest]) => parts.join('') + rest),
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.integer({ min: 1, max: 3 }).chain((levels) => fc.stringMatching(/^[a-z]{1,8}$/).map((name) => `${'../'.repeat(levels)}${name}`)),
);

/** Sends one GET with `cookie` as the raw bytes of its Cookie header; resolves the status code. */
function rawGet(port: number, cookie: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('connect', () => {
      socket.write(Buffer.concat([Buffer.from('GET /count HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nCookie: '), cookie, Buffer.from('\r\n\r\n')]));
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(reply.slice(0, 80))}`));
    });
  });
}

describe('fuzz: bad input', () => {
  it('raw Cookie header bytes over a socket: a fresh session or the server\'s 400/431, never a 500 or a stray file', async () => {
    const { root, store } = await sandbox('cookies');
    directories.push(root);
    const server = await serveNode(withNodeSession((_req, res, session) => {
      session.param('n', ((session.param('n') as number | undefined) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(String(session.param('n')));
    }, { dsn: 'driver:file', dsnArgs: { Directory: store } }));
    const port = Number(new URL(server.url).port);
    // Any bytes but CR and LF (which would end the header, not be in it).
    const headerBytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((bytes) => bytes.map((byte) => (byte === 13 || byte === 10 ? 32 : byte))),
      anyText.map((text) => Buffer.from(`CGISESSID=${text.replace(/[\r\n]/g, ' ')}`, 'utf8')),
      anyText.map((text) => Buffer.from(`a=1; CGISESSID=${encodeURIComponent(text)}; CGISESSID=${'f'.repeat(32)}`)),
      fc.integer({ min: 1000, max: 80_000 }).map((size) => Buffer.from(`CGISESSID=${'9'.repeat(size)}`)),
    );
    const statuses = new Map<number, number>();
    try {
      await fc.assert(fc.asyncProperty(headerBytes, async (cookie) => {
        counted('raw Cookie header');
        const status = await noHang(rawGet(port, cookie), 'a request with a fuzzed Cookie header', 10_000);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // 400: Node refused the header bytes; 431: too large. Neither reaches the session.
        expect([200, 400, 431]).toContain(status);
        expectNoPollution();
      }), { numRuns: FUZZ_RUNS });
    } finally {
      await server.close();
    }
    process.stdout.write(`reliability: fuzz cookie statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect(await strayFiles(root, store)).toEqual([]);
  });

  it('claimed session ids (load, new, static ids + flush): a session or a clear error, nothing outside the store', async () => {
    const { root, store } = await sandbox('ids');
    directories.push(root);
    const dsnArgs = { Directory: store };
    await fc.assert(fc.asyncProperty(anyText, async (id) => {
      counted('claimed session id');
      const loaded = await outcome(Session.load('driver:file', id, dsnArgs), `load(${JSON.stringify(id)})`);
      if (loaded.ok) expect(loaded.value.isEmpty()).toBe(true);
      else expectClearError(loaded.error, ['INVALID_ID', 'INVALID_ARGUMENT']);
      const created = await outcome(Session.new('driver:file', id, dsnArgs), `new(${JSON.stringify(id)})`);
      if (created.ok) expect(created.value.id()).toMatch(/^[0-9a-f]{32}$/);
      else expectClearError(created.error, ['INVALID_ID', 'INVALID_ARGUMENT']);
      // id:static stores under the claimed id itself: the file driver must refuse path tricks.
      const stored = await outcome((async () => {
        const session = await Session.new('driver:file;id:static', id, dsnArgs);
        session.param('x', 1);
        await session.flush();
        return session;
      })(), `static id ${JSON.stringify(id)}`);
      if (!stored.ok) expectClearError(stored.error, ['INVALID_ID', 'INVALID_ARGUMENT', 'ID_GENERATION', 'STORE_ERROR']);
      expectNoPollution();
    }), { numRuns: FUZZ_RUNS });
    expect(await strayFiles(root, store)).toEqual([]);
  });

  it('DSNs: a working session or INVALID_DSN / INVALID_ARGUMENT naming the problem', async () => {
    const { root, store } = await sandbox('dsn');
    directories.push(root);
    const key = fc.oneof(fc.constantFrom('driver', 'd', 'DR', 'serializer', 'ser', 's', 'id', 'i', 'ID', 'Driver', ''), fc.string({ maxLength: 10 }));
    // In-process stores only: a DSN naming redis or SQL with no address is covered by the drivers' own tests.
    const value = fc.oneof(fc.constantFrom('file', 'FILE', 'memory', 'json', 'default', 'yaml', 'superjson', 'storable', 'md5', 'uuid', 'static', 'incr', 'mysq', ''), fc.string({ maxLength: 10 }).filter((text) => !/^(redis|postgres|postgresql|mysql|sqlite|pg)$/i.test(text.trim())));
    const dsn = fc.oneof(
      fc.string({ maxLength: 60 }).filter((text) => !/redis|post|mysql|sqlite/i.test(text)),
      fc.array(fc.tuple(key, fc.constantFrom(':', '=', '::', ''), value), { maxLength: 4 }).map((parts) => parts.map(([k, sep, v]) => `${k}${sep}${v}`).join(fc.sample(fc.constantFrom(';', ';;', ' ; ', ','), 1)[0])),
    );
    await fc.assert(fc.asyncProperty(dsn, async (text) => {
      counted('DSN');
      const parsed = await outcome(Promise.resolve().then(() => Session.parseDsn(text)), `parseDsn(${JSON.stringify(text)})`);
      if (!parsed.ok) expectClearError(parsed.error, ['INVALID_DSN']);
      const session = await outcome(Session.new(text, null, { Directory: store, IDFile: `${store}/cgisess_incr-id` }), `new(${JSON.stringify(text)})`);
      if (session.ok) expect(typeof session.value.id()).toBe('string');
      else expectClearError(session.error, ['INVALID_DSN', 'INVALID_ARGUMENT', 'ID_GENERATION']);
      expectNoPollution();
    }), { numRuns: FUZZ_RUNS });
    expect(await strayFiles(root, store)).toEqual([]);
  });

  it('durations (parseDuration, expire, expire(name), maxAge): whole seconds or INVALID_DURATION', async () => {
    const duration = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.stringMatching(/^[+-]?\d{1,20}[smhdwMy]?$/),
      fc.stringMatching(/^\s*[+-]?\d+(\.\d+)?\s*[a-zA-Z]{0,3}\s*$/),
      fc.double(),
      fc.integer(),
      fc.bigInt(),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, Number.MAX_SAFE_INTEGER, 2 ** 53, '1e3', '0x10', '١٢', '10\n', '+', '-', ''),
      fc.anything(),
    );
    const session = await Session.new('driver:memory', null, { Namespace: `fuzz-durations-${process.pid}` });
    await fc.assert(fc.asyncProperty(duration, async (input) => {
      counted('duration');
      for (const apply of [
        () => parseDuration(input as string),
        () => session.expire(input as string),
        () => session.expire('p', input as string),
      ]) {
        try {
          const result = apply();
          if (typeof result === 'number') expect(Number.isSafeInteger(result)).toBe(true);
        } catch (error) {
          expectClearError(error, ['INVALID_DURATION']);
        }
      }
      const etime = session.expire();
      expect(etime === undefined || Number.isSafeInteger(etime)).toBe(true);
      const withMaxAge = await outcome(Session.new('driver:memory', null, { Namespace: `fuzz-durations-${process.pid}` }, { maxAge: input as string }), 'maxAge');
      if (!withMaxAge.ok) expectClearError(withMaxAge.error, ['INVALID_DURATION']);
      expectNoPollution();
    }), { numRuns: FUZZ_RUNS });
  });
});
