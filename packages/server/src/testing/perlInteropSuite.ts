import { beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../index.js';
import type { DsnArgs, SessionParams } from '../index.js';
import { runPerl } from './perlCgiSession.js';

/** One store both sides open: how Perl names it and how isosession does. */
export interface SharedStore {
  label: string;
  /** e.g. `driver:file` (Perl's DSN without the serializer). */
  perlDriver: string;
  /** e.g. `driver:file` (isosession's DSN without the serializer). */
  nodeDriver: string;
  /** A fresh store (a directory, a table) for one serializer: each side's driver arguments. */
  setup(): Promise<{ perlArgs: Record<string, unknown>; nodeArgs: DsnArgs }>;
}

/** Perl's serializer name → isosession's. */
export const SHARED_SERIALIZERS = [
  ['default', 'dumper'],
  ['json', 'json'],
  ['yaml', 'yaml'],
] as const;

const compat: SessionParams = { compat: 'cgi-session' };
const at = (ms: number): SessionParams => ({ ...compat, now: () => ms });
// A Perl app that never decodes its input holds text as UTF-8 bytes; its report shows each byte.
const asPerlBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/**
 * The interoperability matrix for one store: for each serializer, Perl writes → isosession
 * reads and changes → Perl reads, and back; expiry, deletion, find and idle time both ways.
 */
export function runPerlInterop(store: SharedStore): void {
  describe.each(SHARED_SERIALIZERS)(`${store.label} × Perl serializer:%s / isosession serializer:%s`, (perlSerializer, nodeSerializer) => {
    const perlDsn = `${store.perlDriver};serializer:${perlSerializer}`;
    const nodeDsn = `${store.nodeDriver};serializer:${nodeSerializer}`;
    let args: Awaited<ReturnType<SharedStore['setup']>>;
    beforeAll(async () => {
      args = await store.setup();
    });
    const perl = (request: Omit<Parameters<typeof runPerl>[0], 'dsn' | 'args'>) => runPerl({ dsn: perlDsn, args: args.perlArgs, bytes: true, ...request });

    it('Perl writes → isosession reads and changes → Perl reads', async () => {
      const made = await perl({ op: 'new', set: { name: 'café ☺', n: 41, cart: ['a', 'b'], nested: { k: 'v' } }, expire: '+1h' });
      const s = await Session.load(nodeDsn, made.id as string, args.nodeArgs, compat);
      expect(s.isEmpty()).toBe(false);
      expect(s.param('name')).toBe('café ☺');
      expect(Number(s.param('n'))).toBe(41);
      expect(s.param('cart')).toEqual(['a', 'b']);
      expect(s.param('nested')).toEqual({ k: 'v' });
      expect(s.expire()).toBe(3600);
      s.param('n', 42);
      s.param('node', 'añadido');
      await s.flush();
      const read = await perl({ op: 'load', sid: made.id as string });
      expect(read.is_empty).toBe(0);
      expect(read.params).toMatchObject({ name: asPerlBytes('café ☺'), node: asPerlBytes('añadido'), cart: ['a', 'b'], nested: { k: 'v' } });
      expect(Number(read.params.n)).toBe(42);
      expect(Number(read.etime)).toBe(3600);
    });

    it('isosession writes → Perl reads and changes → isosession reads', async () => {
      const s = await Session.new(nodeDsn, null, args.nodeArgs, compat);
      s.param({ name: 'Zoë ☺', n: 1, list: [1, 2, 3], flag: true, none: null });
      s.expire('2h');
      await s.flush();
      const read = await perl({ op: 'load', sid: s.id() as string, set: { perl: 'sí', n: 2 } });
      expect(read.is_empty).toBe(0);
      expect(read.params).toMatchObject({ name: asPerlBytes('Zoë ☺'), none: null });
      // YAML::Syck reads every unquoted scalar as a string: 1 is "1" to Perl (the same in Perl).
      expect((read.params.list as unknown[]).map(Number)).toEqual([1, 2, 3]);
      expect(Number(read.params.flag)).toBe(1);
      expect(Number(read.etime)).toBe(7200);
      expect(read.remote_addr).toBe('');
      const back = await Session.load(nodeDsn, s.id() as string, args.nodeArgs, compat);
      expect(back.param('perl')).toBe('sí');
      expect(Number(back.param('n'))).toBe(2);
      expect(back.param('name')).toBe('Zoë ☺');
      expect(back.expire()).toBe(7200);
    });

    it('expiry: a session Perl let expire is expired here (and removed); one expired here is expired for Perl', async () => {
      const made = await perl({ op: 'new', set: { a: 1 }, expire: 10 });
      const late = await Session.load(nodeDsn, made.id as string, args.nodeArgs, at(Date.now() + 60_000));
      expect(late.isExpired()).toBe(true);
      expect((await perl({ op: 'load', sid: made.id as string })).is_empty).toBe(1);

      const s = await Session.new(nodeDsn, null, args.nodeArgs, at(Date.now() - 100_000));
      s.param('a', 1);
      s.expire(10);
      await s.flush();
      const read = await perl({ op: 'load', sid: s.id() as string });
      expect(read.is_expired).toBe(1);
      expect((await Session.load(nodeDsn, s.id() as string, args.nodeArgs, compat)).isEmpty()).toBe(true);
    });

    it('idle time: an access here keeps the session alive for Perl (atime is written into the data)', async () => {
      const start = Date.now() - 100_000;
      const s = await Session.new(nodeDsn, null, args.nodeArgs, at(start));
      s.param('a', 1);
      s.expire(60);
      await s.flush();
      // Accessed 50 s later (and 50 s ago): alive until 10 s from now, as Perl must see it.
      const used = await Session.load(nodeDsn, s.id() as string, args.nodeArgs, at(start + 50_000));
      expect(used.isEmpty()).toBe(false);
      await used.flush();
      const read = await perl({ op: 'load', sid: s.id() as string });
      expect(read.is_expired).toBe(0);
      expect(Number(read.params.a)).toBe(1);
    });

    it('delete: what Perl deletes is gone here, and what is deleted here is gone for Perl', async () => {
      const made = await perl({ op: 'new', set: { a: 1 } });
      await perl({ op: 'delete', sid: made.id as string });
      expect((await Session.load(nodeDsn, made.id as string, args.nodeArgs, compat)).isEmpty()).toBe(true);

      const s = await Session.new(nodeDsn, null, args.nodeArgs, compat);
      s.param('a', 1);
      await s.flush();
      const again = await Session.load(nodeDsn, s.id() as string, args.nodeArgs, compat);
      again.delete();
      await again.flush();
      expect((await perl({ op: 'load', sid: s.id() as string })).is_empty).toBe(1);
    });

    it("ip matching: Perl's -ip_match keeps what isosession made for the same address, and isosession's ipMatch keeps Perl's", async () => {
      const s = await Session.new(nodeDsn, null, args.nodeArgs, { ...compat, remoteAddr: '10.0.0.7' });
      s.param('a', 1);
      await s.flush();
      expect((await perl({ op: 'load', sid: s.id() as string, ip_match: true, remote_addr: '10.0.0.7' })).is_empty).toBe(0);
      // ...and deletes it for another address, as it does its own.
      expect((await perl({ op: 'load', sid: s.id() as string, ip_match: true, remote_addr: '10.9.9.9' })).is_empty).toBe(1);
      expect((await Session.load(nodeDsn, s.id() as string, args.nodeArgs, compat)).isEmpty()).toBe(true);
      // No address known on either side: Perl compares "" with "" (isosession stores "" in compat).
      const unknown = await Session.new(nodeDsn, null, args.nodeArgs, compat);
      unknown.param('a', 1);
      await unknown.flush();
      expect((await perl({ op: 'load', sid: unknown.id() as string, ip_match: true })).is_empty).toBe(0);
      const made = await perl({ op: 'new', set: { a: 1 }, remote_addr: '10.0.0.8' });
      const loaded = await Session.load(nodeDsn, made.id as string, args.nodeArgs, { ...compat, ipMatch: true, remoteAddr: '10.0.0.8' });
      expect(loaded.isEmpty()).toBe(false);
      expect(loaded.remoteAddr()).toBe('10.0.0.8');
    });

    it("find: Perl's find() visits sessions written here, and find() here visits Perl's", async () => {
      const s = await Session.new(nodeDsn, null, args.nodeArgs, compat);
      await s.flush();
      const made = await perl({ op: 'new', set: { a: 1 } });
      const found = await runPerl<{ ids: string[] }>({ op: 'find', dsn: perlDsn, args: args.perlArgs });
      expect(found.ids).toEqual(expect.arrayContaining([s.id(), made.id]));
      const seen: string[] = [];
      const report = await Session.find(nodeDsn, (session) => { seen.push(session.id() as string); }, args.nodeArgs, compat);
      expect(report.failed).toEqual([]);
      expect(seen).toEqual(expect.arrayContaining([s.id(), made.id]));
    });
  });
}

/**
 * Perl and isosession appending to one list in one session at once (Perl's serializer
 * `default`, isosession's `dumper`, `Session.update` here): every Perl entry must survive, as
 * isosession's compare-and-swap on the stored data never writes over what Perl stored since it
 * read; isosession's entries that Perl's whole-session rewrites drop are counted (stderr).
 */
export function runPerlAppendRace(store: SharedStore, times = 100): void {
  it(`${store.label}: Session.update never drops a Perl write made meanwhile (one list, ${times} appends each side at once)`, async () => {
    const { perlArgs, nodeArgs } = await store.setup();
    const nodeDsn = `${store.nodeDriver};serializer:dumper`;
    const s = await Session.new(nodeDsn, null, nodeArgs, compat);
    s.param('log', []);
    await s.flush();
    const id = s.id() as string;
    const [perl] = await Promise.all([
      runPerl<{ done: number }>({ op: 'append', dsn: `${store.perlDriver};serializer:default`, args: perlArgs, sid: id, name: 'log', times }),
      (async () => {
        for (let i = 1; i <= times; i++) {
          await Session.update(id, (session) => { session.param('log', [...((session.param('log') as string[] | undefined) ?? []), `n${i}`]); }, { dsn: nodeDsn, dsnArgs: nodeArgs, sessionParams: compat });
        }
      })(),
    ]);
    const log = (await Session.load(nodeDsn, id, nodeArgs, compat)).param('log') as string[];
    const perlKept = log.filter((entry) => entry.startsWith('p')).length;
    const nodeKept = log.filter((entry) => entry.startsWith('n')).length;
    process.stderr.write(`perl interop: ${store.label}, one list, ${times} appends each side at once: Perl's ${perlKept}/${perl.done} kept, isosession's ${nodeKept}/${times} kept\n`);
    expect(perl.done).toBe(times);
    expect(perlKept).toBe(times);
  });
}
