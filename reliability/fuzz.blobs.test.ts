import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Session } from '@isosession/server';
import type { DsnArgs } from '@isosession/server';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { randomPrefix } from '@isosession/test-support/redisServer';
import { recordFigures } from './support/figures.js';
import { POLLUTING_KEYS, expectClearError, expectNoPollution, outcome, sandbox, strayFiles } from './support/fuzzGuards.js';
import { FUZZ_RUNS } from './support/scale.js';
import { deleteRedisPrefix, driverRegistered } from './support/stores.js';

// Reliability battery, "Bad input", stored blobs: random bytes and hostile documents planted where a
// session's data lives — a file, a Redis hash, a PostgreSQL / SQLite row — then loaded with
// every serializer. A load must resolve (the blob happened to be a session) or reject with
// CORRUPT (or STORE_ERROR for a key of the wrong type): no crash, no hang, no prototype
// change, nothing written outside the store. A session that loads also flushes cleanly.

const SERIALIZERS = ['json', 'yaml', 'superjson', 'storable'] as const;
const cases: Record<string, number> = {};
/** How the planted blobs ended: loaded as sessions, or refused with which code. */
const outcomes: Record<string, number> = {};
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  recordFigures('fuzz: stored blobs', { runsPerProperty: FUZZ_RUNS, cases, outcomes, total: Object.values(cases).reduce((sum, count) => sum + count, 0) });
  for (const cleanup of cleanups) await cleanup();
});

const now = Math.floor(Date.now() / 1000);
const key = fc.oneof(fc.constantFrom(...POLLUTING_KEYS, '_SESSION_ID', '_SESSION_ATIME', '_SESSION_CTIME', '_SESSION_ETIME', '_SESSION_EXPIRE_LIST', '_SESSION_VERSION', '_SESSION_REMOTE_ADDR'), fc.string({ maxLength: 8 }));
const leaf = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(now, now - 10, -1, 1e300, '1', null, { polluted: true }));

/** JSON text written by hand, so "__proto__" appears as a literal key (as an attacker writes it). */
function jsonText(entries: [string, unknown][]): string {
  return `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
}

/** A blob for `id`: raw bytes, broken text, or a session table with hostile keys and values. */
function blobFor(id: string) {
  const table = fc.array(fc.tuple(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 }))), { maxLength: 6 }).map((extra): [string, unknown][] => [
    ['_SESSION_ID', id], ['_SESSION_CTIME', now - 100], ['_SESSION_ATIME', now - 50], ...extra,
  ]);
  return fc.oneof(
    fc.uint8Array({ maxLength: 2000 }),
    fc.string({ maxLength: 300 }).map((text) => Buffer.from(text)),
    table.map((entries) => Buffer.from(jsonText(entries))),
    table.map((entries) => Buffer.from(jsonText(entries)).subarray(0, -1)),
    // YAML with anchors, aliases, merge keys and tags that would construct objects elsewhere.
    fc.tuple(fc.constantFrom('&a [*a]', '!!js/function "function(){}"', '<<: {polluted: true}', '__proto__: {polluted: true}', '!!binary AAAA', '*x', 'a: &b\n  c: *b'), table).map(([trick, entries]) => Buffer.from(`${entries.map(([name]) => `${JSON.stringify(name)}: 1`).join('\n')}\n${trick}\n`)),
    // superjson documents whose meta tries to rebuild prototypes.
    table.map((entries) => Buffer.from(JSON.stringify({ json: JSON.parse(jsonText(entries)), meta: { values: { '__proto__.polluted': ['undefined'], 'constructor.prototype.polluted': ['Date'] } } }))),
    // v8 structured clone of hostile tables, whole or cut or with a flipped byte.
    fc.tuple(table, fc.nat(), fc.nat(255)).map(([entries, at, byte]) => {
      const bytes = Buffer.from(serialize(Object.fromEntries(entries)));
      const cut = Buffer.from(bytes);
      if (cut.length > 0) cut[at % cut.length] = byte;
      return at % 3 === 0 ? bytes : at % 3 === 1 ? cut : bytes.subarray(0, at % bytes.length);
    }),
  );
}

interface BlobStore {
  name: string;
  dsnArgs: DsnArgs;
  driver: string;
  plant(id: string, blob: Uint8Array): Promise<void>;
}

async function fuzzStore(store: BlobStore): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.constantFrom(...SERIALIZERS), fc.stringMatching(/^[0-9a-f]{32}$/).chain((id) => fc.tuple(fc.constant(id), blobFor(id))), async (serializer, [id, blob]) => {
    cases[`${store.name} blobs`] = (cases[`${store.name} blobs`] ?? 0) + 1;
    await store.plant(id, blob);
    const dsn = `driver:${store.driver};serializer:${serializer}`;
    const loaded = await outcome(Session.load(dsn, id, store.dsnArgs), `load of a planted ${store.name} blob`);
    const verdict = loaded.ok ? (loaded.value.isEmpty() ? 'empty' : 'loaded') : String((loaded.error as { code?: unknown }).code);
    outcomes[verdict] = (outcomes[verdict] ?? 0) + 1;
    if (loaded.ok) {
      const session = loaded.value;
      for (const name of session.param()) session.param(name);
      if (!session.isEmpty()) {
        session.param('fuzzed', 1);
        const flushed = await outcome(session.flush(), 'flush of a planted blob');
        // Another serializer's reading of the bytes may not be storable again: say so clearly.
        if (!flushed.ok) expectClearError(flushed.error, ['INVALID_ARGUMENT', 'CORRUPT']);
      }
    } else {
      expectClearError(loaded.error, ['CORRUPT', 'STORE_ERROR']);
    }
    expectNoPollution();
  }), { numRuns: FUZZ_RUNS });
}

const redisUp = await serviceAvailable('redis');
const pgUp = await serviceAvailable('postgresql');

describe('fuzz: stored blobs', () => {
  it('file store: planted files load as a session or fail CORRUPT, with every serializer', async () => {
    const { root, store } = await sandbox('blobs');
    cleanups.push(async () => (await import('node:fs/promises')).rm(root, { recursive: true, force: true }));
    await fuzzStore({ name: 'file', driver: 'file', dsnArgs: { Directory: store }, plant: (id, blob) => writeFile(join(store, `cgisess_${id}`), blob) });
    expect(await strayFiles(root, store)).toEqual([]);
  });

  it.runIf(redisUp)('redis store: planted hashes (and keys of the wrong type) load or fail CORRUPT / STORE_ERROR', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(SERVICE_URLS.redis);
    const prefix = randomPrefix('reliability-blobs');
    cleanups.push(async () => {
      client.disconnect();
      await deleteRedisPrefix(SERVICE_URLS.redis, prefix);
    });
    let planted = 0;
    await fuzzStore({
      name: 'redis',
      driver: 'redis',
      dsnArgs: { Url: SERVICE_URLS.redis, Prefix: prefix },
      async plant(id, blob) {
        const key = `${prefix}${id}`;
        await client.del(key);
        planted++;
        if (planted % 10 === 0) await client.set(key, Buffer.from(blob));
        else await client.hset(key, { data: Buffer.from(blob), enc: blob[0]! % 2 === 0 ? 't' : 'b', atime: String(blob[1] ?? 'x'), ver: randomBytes(3).toString('hex') });
      },
    });
  });

  it.runIf(pgUp && driverRegistered('postgresql'))('postgresql store: planted rows load or fail CORRUPT', async () => {
    const { default: pg } = await import('pg');
    const table = `isosession_rel_blobs_${randomBytes(5).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgresql, max: 2 });
    cleanups.push(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    });
    const dsnArgs = { DataSource: SERVICE_URLS.postgresql, TableName: table };
    await (await Session.new('driver:postgresql', null, dsnArgs)).flush(); // the driver creates its table
    await fuzzStore({
      name: 'postgresql',
      driver: 'postgresql',
      dsnArgs,
      async plant(id, blob) {
        await pool.query(`INSERT INTO ${table} (id, a_session, atime) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET a_session = EXCLUDED.a_session, atime = EXCLUDED.atime`, [id, Buffer.from(blob), blob[0] === 7 ? -1 : now]);
      },
    });
  });

  it.runIf(driverRegistered('sqlite'))('sqlite store: planted rows load or fail CORRUPT', async () => {
    const { root, store } = await sandbox('blobs-sqlite');
    cleanups.push(async () => (await import('node:fs/promises')).rm(root, { recursive: true, force: true }));
    const file = join(store, 'sessions.sqlite');
    const dsnArgs = { DataSource: file };
    await (await Session.new('driver:sqlite', null, dsnArgs)).flush();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file);
    db.pragma('busy_timeout = 5000');
    cleanups.unshift(async () => {
      db.close();
    });
    const insert = db.prepare('INSERT INTO sessions (id, a_session, atime) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET a_session = excluded.a_session, atime = excluded.atime');
    await fuzzStore({ name: 'sqlite', driver: 'sqlite', dsnArgs, plant: async (id, blob) => void insert.run(id, Buffer.from(blob), now) });
  });
});
