import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DsnArgs } from '@isosession/server';
import { createSessionContext } from '../createSessionContext.js';
import type { SessionChange } from '../SessionBus.js';
import type { ClosableSessionBus } from '../sessionBusHub.js';
import { createTestRouter } from './testRouter.js';
import type { TestRouter } from './testRouter.js';

export interface BusUnderTest {
  name: string;
  /**
   * A bus on `namespace` (a channel prefix / channel): two calls with one namespace are two
   * processes' buses. `connectionName` names its subscriber connection for `kill`.
   */
  create(namespace: string, connectionName: string): ClosableSessionBus;
  /** A fresh namespace nobody else uses. */
  namespace(): string;
  /** Drops the server side of the subscriber connection named `connectionName`. */
  kill(connectionName: string): Promise<void>;
  /** The store both routers share. */
  store(): Promise<{ dsn: string; dsnArgs: DsnArgs; cleanup(): Promise<void> }>;
}

/** Collects the changes one listener hears; `until` waits (up to 5 s) for one that matches. */
export function collector() {
  const changes: SessionChange[] = [];
  let wake: (() => void) | undefined;
  return {
    changes,
    listener(change: SessionChange) {
      changes.push(change);
      wake?.();
    },
    /** Resolves with the first change from index `from` on that matches. */
    async until(match: (change: SessionChange) => boolean, from = 0): Promise<SessionChange> {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const found = changes.slice(from).find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching change arrived; heard ${JSON.stringify(changes)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    },
  };
}

/** "Reload, you may have missed something": what a bus tells watchers once listening (again). */
export const isResync = (change: SessionChange) => change.version === 0 && !change.deleted && change.snapshot === undefined;

const randomId = () => randomBytes(16).toString('hex');

/** The `watch` stream of a createCaller call, unwrapped from its tracked() envelopes. */
async function watchOf(router: TestRouter, cookie: string) {
  const caller = router.createCaller(createSessionContext({ req: new Request('http://app.test/trpc', { headers: { cookie: `CGISESSID=${cookie}` } }), resHeaders: new Headers() }));
  const envelopes = (await caller.watch())[Symbol.asyncIterator]();
  return {
    async next() {
      const result = await envelopes.next();
      return result.done ? undefined : ((result.value as unknown as [string, unknown])[1] as { params: Record<string, unknown>; version: number });
    },
    close: () => envelopes.return?.(),
  };
}

/** What every cross-process bus must do, run by its test file against a real server. */
export function runSessionBusContract(bus: BusUnderTest): void {
  describe(`${bus.name} session bus (two instances, as two processes)`, () => {
    const open: ClosableSessionBus[] = [];
    const make = (namespace: string, connectionName = `isosession-test-${randomBytes(6).toString('hex')}`) => {
      const made = bus.create(namespace, connectionName);
      open.push(made);
      return made;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('a publish on one instance reaches a subscriber of that session on the other, as id + version', async () => {
      const namespace = bus.namespace();
      const a = make(namespace);
      const b = make(namespace);
      const id = randomId();
      const heard = collector();
      const unrelated = collector();
      b.subscribe(id, heard.listener);
      b.subscribe(randomId(), unrelated.listener);
      await heard.until(isResync);
      await unrelated.until(isResync);

      await a.publish({ id, version: 5 });
      // The snapshot stays in its process (public params never cross the wire); watch reloads.
      expect(await heard.until((c) => c.version === 5)).toEqual({ id, version: 5 });
      await a.publish({ id, version: 0, deleted: true });
      expect(await heard.until((c) => c.deleted === true)).toEqual({ id, version: 0, deleted: true });
      expect(unrelated.changes.filter((c) => !isResync(c))).toEqual([]);
    });

    it('subscribers in the publishing process get the snapshot at once, and only once', async () => {
      const namespace = bus.namespace();
      const a = make(namespace);
      const b = make(namespace);
      const id = randomId();
      const local = collector();
      const remote = collector();
      a.subscribe(id, local.listener);
      b.subscribe(id, remote.listener);
      await local.until(isResync);
      await remote.until(isResync);

      const snapshot = { tag: 'tag-of-the-session', params: { theme: 'dark' }, version: 2, ctime: 1, atime: 1, expiresAt: null, paramExpiresAt: {}, isNew: false };
      const published = a.publish({ id, version: 2, snapshot });
      // Delivered in the publish call itself, before any network round trip.
      expect(local.changes.filter((c) => !isResync(c))).toEqual([{ id, version: 2, snapshot }]);
      await published;
      await remote.until((c) => c.version === 2);
      // A change published after ours, from elsewhere: by the time it arrives here, our own
      // message has come back too (one server orders both), and must have been skipped.
      await b.publish({ id, version: 3 });
      await local.until((c) => c.version === 3);
      expect(local.changes.filter((c) => c.version === 2)).toHaveLength(1);
    });

    it('unsubscribe stops delivery to that listener; others of the same session still hear', async () => {
      const namespace = bus.namespace();
      const a = make(namespace);
      const b = make(namespace);
      const id = randomId();
      const other = randomId();
      const leaving = collector();
      const staying = collector();
      const otherHeard = collector();
      const unsubscribe = b.subscribe(id, leaving.listener);
      const unsubscribeStaying = b.subscribe(id, staying.listener);
      b.subscribe(other, otherHeard.listener);
      // Subscribed before the bus listens: each is told to reload once it does.
      await leaving.until(isResync);
      await staying.until(isResync);
      await otherHeard.until(isResync);
      await a.publish({ id, version: 1 });
      await leaving.until((c) => c.version === 1);
      await staying.until((c) => c.version === 1);

      unsubscribe();
      unsubscribe(); // twice is harmless
      await a.publish({ id, version: 2 });
      await staying.until((c) => c.version === 2);
      expect(leaving.changes.map((c) => c.version)).not.toContain(2);

      // The last listener of the session leaves: nothing more reaches it, other sessions still work.
      unsubscribeStaying();
      await a.publish({ id, version: 3 });
      await a.publish({ id: other, version: 3 });
      // Sent after `id`'s change by the same publisher: once it is here, that one would be too.
      await otherHeard.until((c) => c.version === 3);
      expect(staying.changes.map((c) => c.version)).not.toContain(3);
    });

    it('a killed subscriber connection reconnects, tells its watchers to reload, and hears later changes', async () => {
      const namespace = bus.namespace();
      const a = make(namespace);
      const connectionName = `isosession-test-${randomBytes(6).toString('hex')}`;
      const b = make(namespace, connectionName);
      const id = randomId();
      const heard = collector();
      b.subscribe(id, heard.listener);
      await heard.until(isResync);
      const before = heard.changes.length;

      // The lost connection is reported once as a warning (PostgreSQL's LISTEN does; ioredis
      // may reconnect before anything is reported): captured here, not printed.
      const reported = busWarnings();
      try {
        await bus.kill(connectionName);
        // Changes made while it was away are not lost: the resync makes watch reload the session.
        await heard.until(isResync, before);
      } finally {
        reported.stop();
      }
      for (const warning of reported.warnings) expect(warning).toMatch(/session bus: the (LISTEN|subscriber) connection failed/);
      await a.publish({ id, version: 7 });
      expect(await heard.until((c) => c.version === 7)).toEqual({ id, version: 7 });
    });

    it('a set through router A reaches a watch subscription on router B (same store, own buses)', async () => {
      const namespace = bus.namespace();
      const store = await bus.store();
      try {
        const routerA = createTestRouter({ dsn: store.dsn, dsnArgs: store.dsnArgs, bus: make(namespace) });
        const routerB = createTestRouter({ dsn: store.dsn, dsnArgs: store.dsnArgs, bus: make(namespace) });
        const ctx = (cookie?: string) =>
          createSessionContext({ req: new Request('http://app.test/trpc', { headers: cookie ? { cookie: `CGISESSID=${cookie}` } : {} }), resHeaders: new Headers() });
        const created = new Headers();
        await routerA.createCaller(createSessionContext({ req: new Request('http://app.test/trpc'), resHeaders: created })).set({ name: 'counter', value: 0 });
        const id = /^CGISESSID=([^;]*)/.exec(created.getSetCookie()[0] ?? '')?.[1] as string;
        const watch = await watchOf(routerB, id);
        try {
          expect((await watch.next())?.params.theme).toBe('light');
          await routerA.createCaller(ctx(id)).set({ name: 'theme', value: 'dark' });
          const pushed = await watch.next();
          expect(pushed?.params.theme).toBe('dark');
          await routerA.createCaller(ctx(id)).set({ name: 'counter', value: 3 });
          const again = await watch.next();
          expect(again?.params).toMatchObject({ theme: 'dark', counter: 3 });
          expect(again!.version).toBeGreaterThan(pushed!.version);
          // Logout on A ends B's stream.
          await routerA.createCaller(ctx(id)).destroy();
          expect(await watch.next()).toBeUndefined();
        } finally {
          await watch.close();
        }
      } finally {
        await store.cleanup();
      }
    });
  });
}

/** Captures process warnings with code ISOSESSION_BUS until `stop()`. */
export function busWarnings() {
  const warnings: string[] = [];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code === 'ISOSESSION_BUS') warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  return {
    warnings,
    stop: () => process.off('warning', onWarning),
  };
}
