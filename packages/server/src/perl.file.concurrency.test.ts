import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, SessionError } from './index.js';
import type { SessionParams } from './index.js';
import { perlCgiSessionAvailable, runPerl } from './testing/perlCgiSession.js';

// Perl and isosession writing one session at once, on a shared file store. Perl's request
// loads the whole session, changes it, and writes it all back: whatever another writer stored
// in between is overwritten. No Node-side change can prevent that; these tests measure it and
// prove what isosession does guarantee. The figures go to stderr (docs/migrating-from-perl.md).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-perl-race-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const compat: SessionParams = { compat: 'cgi-session' };
const report = (line: string) => process.stderr.write(`perl interop: ${line}\n`);

describe.runIf(perlCgiSessionAvailable())('file store, Perl and isosession writing at once', () => {
  const perlDsn = 'driver:file;serializer:default';
  const nodeDsn = 'driver:file;serializer:dumper';
  const args = () => ({ Directory: dir });

  async function sharedSession(): Promise<string> {
    const s = await Session.new(nodeDsn, null, args(), compat);
    s.param({ perl: 0, node: 0, n: 0 });
    await s.flush();
    return s.id() as string;
  }

  async function nodeIncrements(id: string, name: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await Session.update(id, (s) => { s.param(name, Number(s.param(name)) + 1); }, { dsn: nodeDsn, dsnArgs: args(), sessionParams: compat });
    }
  }

  it('compat: isosession never loses what Perl wrote; Perl overwrites what isosession wrote meanwhile', async () => {
    const id = await sharedSession();
    const times = 150;
    const [perl] = await Promise.all([
      runPerl<{ done: number; failed: number }>({ op: 'increment', dsn: perlDsn, args: { Directory: dir, UMask: 0o640 }, sid: id, name: 'perl', times }),
      nodeIncrements(id, 'node', times),
    ]);
    const end = await Session.load(nodeDsn, id, args(), compat);
    const perlKept = Number(end.param('perl'));
    const nodeKept = Number(end.param('node'));
    report(`different params, ${times} increments each side at once: Perl kept ${perlKept}/${perl.done}, isosession kept ${nodeKept}/${times} (${times - nodeKept} overwritten by Perl's whole-session writes)`);
    expect(perl.done).toBe(times);
    // Session.update merges onto the stored copy under Perl's own exclusive flock: Perl's are all there.
    expect(perlKept).toBe(times);
    expect(nodeKept).toBeLessThanOrEqual(times);
  });

  it("one list appended to by both: Session.update's compare-and-swap on the data never drops a Perl entry; Perl drops isosession's (measured)", async () => {
    const id = await sharedSession();
    const times = 150;
    const [perl] = await Promise.all([
      runPerl<{ done: number }>({ op: 'append', dsn: perlDsn, args: { Directory: dir, UMask: 0o640 }, sid: id, name: 'log', times }),
      (async () => {
        for (let i = 1; i <= times; i++) {
          await Session.update(id, (s) => { s.param('log', [...((s.param('log') as string[] | undefined) ?? []), `n${i}`]); }, { dsn: nodeDsn, dsnArgs: args(), sessionParams: compat });
        }
      })(),
    ]);
    const log = (await Session.load(nodeDsn, id, args(), compat)).param('log') as string[];
    const perlKept = log.filter((entry) => entry.startsWith('p')).length;
    const nodeKept = log.filter((entry) => entry.startsWith('n')).length;
    report(`one list, ${times} appends each side at once: Perl's ${perlKept}/${perl.done} kept, isosession's ${nodeKept}/${times} kept (${times - nodeKept} dropped by Perl's whole-session writes)`);
    expect(perl.done).toBe(times);
    expect(perlKept).toBe(times);
  });

  it('for comparison, two Perl processes incrementing one counter lose increments too (measured)', async () => {
    const id = await sharedSession();
    const times = 150;
    const perl = () => runPerl<{ done: number }>({ op: 'increment', dsn: perlDsn, args: { Directory: dir, UMask: 0o640 }, sid: id, name: 'n', times });
    const [first, second] = await Promise.all([perl(), perl()]);
    const kept = Number((await Session.load(nodeDsn, id, args(), compat)).param('n'));
    report(`two Perl processes, ${times} increments each at once: ${kept}/${first.done + second.done} kept`);
    expect(kept).toBeLessThanOrEqual(first.done + second.done);
  });

  it.each([
    ['compat (flock on the session file)', compat, true],
    ['without compat (lock file + rename; Perl writes in place)', {}, false],
  ] as const)('loads while Perl rewrites a 400 kB session in place: %s', async (_label, sessionParams, mustBeClean) => {
    const id = await sharedSession();
    const rewrites = 60;
    const perl = runPerl({ op: 'rewrite', dsn: perlDsn, args: { Directory: dir, UMask: 0o640 }, sid: id, size: 400_000, times: rewrites });
    let done = false;
    void perl.finally(() => { done = true; });
    let loads = 0;
    let corrupt = 0;
    while (!done) {
      loads += 1;
      try {
        await Session.load(nodeDsn, id, args(), sessionParams);
      } catch (error) {
        if (error instanceof SessionError && error.code === 'CORRUPT') corrupt += 1;
        else throw error;
      }
    }
    await perl;
    report(`${_label}: ${corrupt} of ${loads} loads CORRUPT while Perl rewrote the session ${rewrites} times`);
    expect(loads).toBeGreaterThan(0);
    if (mustBeClean) expect(corrupt).toBe(0);
  });
});
