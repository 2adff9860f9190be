import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { createPostgresSessionBus } from './createPostgresSessionBus.js';
import { sessionIdHash } from './sessionBusHub.js';
import { tempStore } from './testing/testRouter.js';
import { busWarnings, collector, isResync, runSessionBusContract } from './testing/busContract.js';

const available = await serviceAvailable('postgresql');
const url = SERVICE_URLS.postgresql;
const randomChannel = () => `isosession_test_${randomBytes(6).toString('hex')}`;

describe.runIf(available)('createPostgresSessionBus', () => {
  let admin: pg.Pool;
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(() => admin.end());

  runSessionBusContract({
    name: 'PostgreSQL',
    namespace: randomChannel,
    create: (channel, applicationName) => createPostgresSessionBus({ url, channel, applicationName }),
    async kill(name) {
      const { rows } = await admin.query<{ killed: boolean }>('SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1', [name]);
      if (rows.length !== 1 || !rows[0]!.killed) throw new Error(`no backend named ${name}`);
    },
    // The bus is what is under test; any store two routers share will do (the SQL driver has its own tests).
    async store() {
      const store = tempStore();
      return { dsn: 'driver:file;serializer:superjson', dsnArgs: store.dsnArgs, cleanup: async () => store.remove() };
    },
  });

  it('puts no session id on the wire: the payload is the SHA-256 of the id, the version and the origin', async () => {
    const channel = randomChannel();
    const spy = new pg.Client({ connectionString: url });
    await spy.connect();
    const bus = createPostgresSessionBus({ url, channel });
    try {
      const payloads: string[] = [];
      let wake: (() => void) | undefined;
      spy.on('notification', (message) => {
        payloads.push(message.payload ?? '');
        wake?.();
      });
      await spy.query(`LISTEN ${spy.escapeIdentifier(channel)}`);
      const id = randomBytes(16).toString('hex');
      await bus.publish({ id, version: 3, snapshot: { tag: 'tag-of-the-session', params: { theme: 'dark' }, version: 3, ctime: 1, atime: 1, expiresAt: null, paramExpiresAt: {}, isNew: false } });
      await bus.publish({ id, version: 0, deleted: true });
      while (payloads.length < 2) await new Promise<void>((resolve) => (wake = resolve));
      for (const payload of payloads) {
        expect(payload).not.toContain(id);
        expect(payload).not.toContain('dark');
      }
      expect(JSON.parse(payloads[0]!)).toMatchObject({ h: sessionIdHash(id), v: 3 });
      expect(JSON.parse(payloads[1]!)).toMatchObject({ h: sessionIdHash(id), v: 0, d: 1 });
    } finally {
      await spy.end();
      await bus.close();
    }
  });

  it('notifies through your pool, listens on its own connection, and close() leaves your pool open', async () => {
    const channel = randomChannel();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const applicationName = `isosession-test-${randomBytes(6).toString('hex')}`;
    const bus = createPostgresSessionBus({ pool, channel, applicationName });
    const other = createPostgresSessionBus({ url, channel });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      const fromOther = collector();
      bus.subscribe(id, heard.listener);
      other.subscribe(id, fromOther.listener);
      await heard.until(isResync);
      await fromOther.until(isResync);
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(rows).toHaveLength(1);
      await other.publish({ id, version: 4 });
      await heard.until((c) => c.version === 4);
      await bus.publish({ id, version: 5 });
      await fromOther.until((c) => c.version === 5);

      await bus.close();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
      const { rows: after } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(after).toHaveLength(0);
      // After close() the bus still reaches this process, and nothing else.
      const late = collector();
      bus.subscribe(id, late.listener);
      await bus.publish({ id, version: 6 });
      expect(late.changes).toEqual([{ id, version: 6 }]);
    } finally {
      await other.close();
      await pool.end();
    }
  });

  it('a PostgreSQL that does not answer never fails a publish or a subscribe: one warning, local delivery goes on', async () => {
    const capture = busWarnings();
    const bus = createPostgresSessionBus({ url: 'postgres://postgres@127.0.0.1:1/test', channel: randomChannel() });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      const stop = bus.subscribe(id, heard.listener);
      await expect(bus.publish({ id, version: 1 })).resolves.toBeUndefined();
      await expect(bus.publish({ id, version: 2 })).resolves.toBeUndefined();
      expect(heard.changes).toEqual([{ id, version: 1 }, { id, version: 2 }]);
      stop();
      await new Promise((resolve) => setImmediate(resolve));
      const publishing = capture.warnings.filter((w) => w.includes('publishing failed'));
      expect(publishing).toHaveLength(1);
      expect(publishing[0]).toMatch(/^isosession: PostgreSQL session bus: publishing failed: /);
    } finally {
      capture.stop();
      await bus.close();
    }
  });

  it('refuses a missing or doubled connection, and a channel name PostgreSQL would truncate', () => {
    const pool = new pg.Pool({ connectionString: url });
    const attempts = [
      () => createPostgresSessionBus({}),
      () => createPostgresSessionBus({ pool, url }),
      () => createPostgresSessionBus({ url, channel: 'x'.repeat(64) }),
      () => createPostgresSessionBus({ url, channel: '' }),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (caught) {
        error = caught;
      }
      expect(isSessionError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
    }
    void pool.end();
  });
});
