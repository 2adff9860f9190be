import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, createMemoryDriver, registerDriver } from '../index.js';
import { resolveDsn } from '../registry.js';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { hashId } from '../hashId.js';
import { runCli } from './runCli.js';

// The bin, run as a cron job would: a child process, from source (no build step).
const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, 'isosession.ts');
const PLUGIN = join(HERE, '..', 'testing', 'cliPlugin.ts');
const DAY = 86_400_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runBin(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', BIN, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-cli-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A file session last seen `daysAgo` days ago, optionally with an idle expiry. */
async function seed(daysAgo: number, expire?: string, params: { hashIds?: boolean } = {}): Promise<string> {
  const session = await Session.new(null, null, { Directory: directory }, { now: () => Date.now() - daysAgo * DAY, ...params });
  session.param('daysAgo', daysAgo);
  if (expire) session.expire(expire);
  await session.flush();
  return session.id() as string;
}

async function stored(): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.startsWith('cgisess_')).map((name) => name.slice('cgisess_'.length)).sort();
}

describe('isosession CLI (child process, file store)', () => {
  it('--help prints the usage and exits 0; no command or an unknown one exits 2', async () => {
    const help = await runBin(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: isosession <command>/);
    expect(help.stdout).toContain('--older-than');
    const none = await runBin([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no command given');
    const unknown = await runBin(['purge-all']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "purge-all"; commands: find, dump, stats');
  });

  it('find lists every session with a summary line, and changes nothing', async () => {
    const ids = [await seed(0), await seed(3), await seed(20, '1d')];
    const before = await stat(join(directory, `cgisess_${ids[1]}`));
    const run = await runBin(['find', '--directory', directory, '--full-ids']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const id of ids) expect(run.stdout).toContain(`${id}  atime=`);
    expect(lines.find((l) => l.startsWith(ids[2]!))).toMatch(/ expired$/);
    expect(lines.at(-1)).toMatch(/^isosession find: visited 3, matched 3, purged 0, unreadable 0 \(/);
    expect(await stored()).toEqual([...ids].sort());
    expect((await stat(join(directory, `cgisess_${ids[1]}`))).mtimeMs).toBe(before.mtimeMs);
  });

  it('S56: find --expired --purge removes exactly the expired sessions (a cron job)', async () => {
    const live = await seed(0, '1d');
    const idle = await seed(3);
    const expired = [await seed(2, '1d'), await seed(10, '+1h')];
    const run = await runBin(['find', '--directory', directory, '--expired', '--purge', '--json', '--full-ids']);
    expect(run.code).toBe(0);
    const out = jsonLines(run.stdout);
    expect(out.filter((o) => o.type === 'session').map((o) => o.id).sort()).toEqual([...expired].sort());
    expect(out.filter((o) => o.type === 'session').every((o) => o.purged === true && o.expired === true)).toBe(true);
    expect(out.at(-1)).toMatchObject({ type: 'summary', visited: 4, matched: 2, purged: 2, failed: 0 });
    expect(await stored()).toEqual([live, idle].sort());
  });

  it('find --older-than selects by idle time; --max-age counts sessions past it as expired', async () => {
    const fresh = await seed(1);
    const old = await seed(12);
    const quiet = await runBin(['find', '--directory', directory, '--older-than', '10d', '--purge', '-q', '--full-ids']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout.trim()).toMatch(/^isosession find: visited 2, matched 1, purged 1, unreadable 0/);
    expect(await stored()).toEqual([fresh]);
    const maxAge = await runBin(['find', '--directory', directory, '--expired', '--max-age', '12h', '--json', '--full-ids']);
    expect(jsonLines(maxAge.stdout).filter((o) => o.type === 'session').map((o) => o.id)).toEqual([fresh]);
    expect(old).not.toBe(fresh);
  });

  it('dump <id> prints one session (text and JSON); an unknown id exits 1', async () => {
    const id = await seed(1, '7d');
    const text = await runBin(['dump', id, '--directory', directory, '--full-ids', '--show-private']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`_SESSION_ID: '${id}'`);
    expect(text.stdout).toContain('daysAgo: 1');
    const json = await runBin(['dump', id, '--directory', directory, '--json', '--full-ids', '--show-private']);
    expect(jsonLines(json.stdout)[0]).toMatchObject({ type: 'session', id, expired: false, data: { _SESSION_ID: id, daysAgo: 1, _SESSION_ETIME: 604800 } });
    const missing = await runBin(['dump', 'f'.repeat(32), '--directory', directory, '--full-ids', '--show-private']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no session "${'f'.repeat(32)}"`);
  });

  it('stats: count, bytes, oldest, expired', async () => {
    const oldest = await seed(30);
    await seed(5, '1d');
    await seed(0);
    let bytes = 0;
    for (const id of await stored()) bytes += (await stat(join(directory, `cgisess_${id}`))).size;
    const text = await runBin(['stats', '--directory', directory, '--full-ids']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^sessions {2}3$/m);
    expect(text.stdout).toMatch(new RegExp(`^bytes {5}${bytes}$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^oldest {4}\\S+ \\(${oldest}\\)$`, 'm'));
    expect(text.stdout).toMatch(/^expired {3}1$/m);
    const json = await runBin(['stats', '--directory', directory, '--json', '--full-ids']);
    expect(jsonLines(json.stdout)[0]).toMatchObject({ type: 'stats', count: 3, bytes, expired: 1, failed: 0, oldest: { id: oldest } });
  });

  it('S16: an unreadable session is reported on stderr, the walk goes on, exit 1', async () => {
    const good = await seed(0);
    await writeFile(join(directory, `cgisess_${'b'.repeat(32)}`), 'not json {');
    const run = await runBin(['find', '--directory', directory, '--full-ids']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(good);
    expect(run.stderr).toContain(`cannot read session ${'b'.repeat(32)}`);
    expect(run.stdout).toMatch(/visited 1, matched 1, purged 0, unreadable 1/);
  });

  it('hashIds: find shows stored keys, dump takes the real id or the key', async () => {
    const id = await seed(0, undefined, { hashIds: true });
    const find = await runBin(['find', '--directory', directory, '--json', '--hash-ids', '--full-ids']);
    expect(jsonLines(find.stdout)[0]).toMatchObject({ id: hashId(id) });
    for (const arg of [id, hashId(id)]) {
      const dump = await runBin(['dump', arg, '--directory', directory, '--hash-ids', '--json', '--full-ids', '--show-private']);
      expect(dump.code).toBe(0);
      expect(jsonLines(dump.stdout)[0]).toMatchObject({ id: hashId(id), data: { daysAgo: 0 } });
    }
    expect((await runBin(['dump', id, '--directory', directory, '--full-ids', '--show-private'])).code).toBe(1);
  });

  it('usage errors exit 2 with a clear message', async () => {
    const cases: [string[], string][] = [
      [['find', '--directory', directory, '--purge'], '--purge needs --expired or --older-than'],
      [['find', '--older-than', '10 days', '--directory', directory], '--older-than: '],
      [['find', '--args', '{nope', '--directory', directory], '--args must be a JSON object'],
      [['find', '--dsn', 'driver:postgress'], 'unknown driver "postgress"; known drivers: '],
      [['find', '--bogus'], "Unknown option '--bogus'"],
      [['stats', '--purge', '--directory', directory], '--purge is an option of find only'],
      [['dump', '--directory', directory], 'dump takes exactly one session id'],
    ];
    for (const [args, message] of cases) {
      const run = await runBin(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
      expect(run.stderr).toContain('isosession --help');
    }
  });

  it('a store that fails exits 3 and says so', async () => {
    const notADirectory = join(directory, 'file');
    await writeFile(notADirectory, 'x');
    const run = await runBin(['find', '--directory', notADirectory, '--full-ids']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^isosession: the store failed \[STORE_ERROR\]: .*refusing session directory .*: it is not a directory/);
  });

  it('--plugin registers a driver; a run over thousands of sessions draws no bar when stderr is not a terminal', async () => {
    const run = await runBin(['stats', '--plugin', PLUGIN, '--dsn', 'driver:synthetic', '--args', '{"Count":2500,"AgeDays":3}', '--json', '--full-ids']);
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)[0]).toMatchObject({ count: 2500, expired: 0, failed: 0 });
    expect(run.stderr).toBe('');
  });
});

describe('isosession CLI in process', () => {
  it('draws a progress bar on a terminal stderr for a run over thousands of sessions', async () => {
    await import('../testing/cliPlugin.js');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runCli(['find', '--dsn', 'driver:synthetic', '--args', '{"Count":2500,"AgeDays":40}', '--older-than', '30d', '-q'], {
      stdout: { write: (text: string) => stdout.push(text) },
      stderr: { isTTY: true, columns: 100, write: (text: string) => stderr.push(text) },
    });
    expect(code).toBe(0);
    expect(stderr.some((text) => /^\rfinding \[#+\] 2500\/2500 100%$/.test(text))).toBe(true);
    expect(stderr.at(-1)).toBe('\r\u001b[K');
    expect(stdout.join('')).toMatch(/^isosession find: visited 2500, matched 2500, purged 0, unreadable 0/);
  });
});

describe('isosession CLI on a large store', () => {
  it('find --expired --purge -q on sqlite deletes through the expiry index, loading no session', async () => {
    const args = { DataSource: join(directory, 'sessions.sqlite') };
    const seed = async (daysAgo: number) => {
      const session = await Session.new('driver:sqlite', null, args, { now: () => Date.now() - daysAgo * DAY });
      session.param('daysAgo', daysAgo);
      session.expire('1d');
      await session.flush();
      return session.id()!;
    };
    const live = await seed(0);
    await seed(3);
    await seed(5);
    await Session.closeAll();
    const stdout: string[] = [];
    const cli = ['--dsn', 'driver:sqlite', '--args', JSON.stringify(args)];
    expect(await runCli(['find', ...cli, '--expired', '--purge', '-q', '--json'], { stdout: { write: (text: string) => stdout.push(text) }, stderr: { write: () => true } })).toBe(0);
    expect(JSON.parse(stdout.at(-1)!)).toMatchObject({ type: 'summary', purged: 2, failed: 0, via: 'expiry index' });
    const listed: string[] = [];
    await runCli(['find', ...cli, '--json'], { stdout: { write: (text: string) => listed.push(text) }, stderr: { write: () => true } });
    expect(listed.map((line) => JSON.parse(line) as { type: string; id?: string }).filter((line) => line.type === 'session')).toHaveLength(1);
    expect(listed.join('')).toContain(live.slice(0, 8));
    await Session.closeAll();
  });

  it('reads sessions while the store\'s walk goes on, never after gathering every id (memory stays one batch)', async () => {
    const name = `walk_${Math.random().toString(16).slice(2)}`;
    const inner = createMemoryDriver({ Namespace: name });
    const log: string[] = [];
    registerDriver(name, () => ({
      retrieve: (id) => {
        log.push('load');
        return inner.retrieve(id);
      },
      store: (id, data, meta) => inner.store(id, data, meta),
      remove: (id) => inner.remove(id),
      async traverse(visit) {
        await inner.traverse(async (id) => {
          log.push('yield');
          await visit(id);
        });
      },
    }));
    for (let i = 0; i < 40; i++) {
      const session = await Session.new(`driver:${name}`, null, {});
      session.param('n', i);
      await session.flush();
    }
    log.length = 0;
    const stdout: string[] = [];
    const code = await runCli(['find', '--dsn', `driver:${name}`, '--json'], { stdout: { write: (text: string) => stdout.push(text) }, stderr: { write: () => true } });
    expect(code).toBe(0);
    expect(JSON.parse(stdout.at(-1)!)).toMatchObject({ type: 'summary', visited: 40 });
    // The first batch is read before the walk has yielded the last id.
    expect(log.indexOf('load')).toBeLessThan(log.lastIndexOf('yield'));
    expect(log.filter((entry) => entry === 'load')).toHaveLength(40);
  });
});

const PACKAGE = join(HERE, '..', '..');
const CORE_DIST = join(PACKAGE, '..', 'core', 'dist', 'index.js');

// The published bin is dist/cli/isosession.js. Building @isosession/server resolves
// @isosession/core from its dist, so this runs where core has been built (npm run build).
const coreBuilt = existsSync(CORE_DIST);
if (!coreBuilt) {
  // .ci/run builds the packages before the tests, so in CI a missing build is a failure.
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${CORE_DIST} is missing; build the packages first (npx turbo run build --filter='./packages/*')`);
  process.stderr.write("isosession tests: skipping the built-bin CLI test: the packages are not built (run `npm run build` to include it)\n");
}
describe.runIf(coreBuilt)('isosession CLI (the built bin)', () => {
  it('builds, and the built bin runs: find on a file store', async () => {
    const outDir = join(PACKAGE, `.test-dist-${Math.random().toString(36).slice(2, 8)}`);
    try {
      const tsc = join(PACKAGE, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
      await new Promise<void>((resolve, reject) => {
        execFile(process.execPath, [tsc, '-p', join(PACKAGE, 'tsconfig.build.json'), '--outDir', outDir], (error, stdout) => (error ? reject(new Error(stdout)) : resolve()));
      });
      // package.json's bin is the file this build makes (dist/ → outDir).
      const { bin } = JSON.parse(await readFile(join(PACKAGE, 'package.json'), 'utf8')) as { bin: Record<string, string> };
      expect(bin.isosession).toBe('./dist/cli/isosession.js');
      expect((await readFile(join(outDir, 'cli', 'isosession.js'), 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
      const id = await seed(2, '1d');
      const run = await new Promise<Run>((resolve) => {
        execFile(process.execPath, [join(outDir, 'cli', 'isosession.js'), 'find', '--directory', directory, '--expired', '--json', '--full-ids'], { encoding: 'utf8' }, (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
        });
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(jsonLines(run.stdout)[0]).toMatchObject({ type: 'session', id, expired: true });
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 120_000);
});

function driverRegistered(name: string): boolean {
  try {
    resolveDsn(`driver:${name}`);
    return true;
  } catch {
    process.stderr.write(`isosession tests: skipping the CLI's ${name} tests: driver "${name}" is not registered yet\n`);
    return false;
  }
}

// Runs once the postgresql driver is registered in builtins and a server is up.
describe.runIf((await serviceAvailable('postgresql')) && driverRegistered('postgresql'))('isosession CLI (child process, PostgreSQL)', () => {
  const table = `cli_${Math.random().toString(36).slice(2, 10)}`;
  const args = { DataSource: SERVICE_URLS.postgresql, TableName: table };

  afterEach(async () => {
    await Session.closeAll();
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await client.connect();
    try {
      await client.query(`DROP TABLE IF EXISTS "${table}"`);
    } finally {
      await client.end();
    }
  });

  it('S56: stats, then find --expired --purge, then dump, against a real database', async () => {
    const seedPg = async (daysAgo: number, expire?: string) => {
      const session = await Session.new('driver:postgresql', null, args, { now: () => Date.now() - daysAgo * DAY });
      session.param('daysAgo', daysAgo);
      if (expire) session.expire(expire);
      await session.flush();
      return session.id() as string;
    };
    const live = await seedPg(0, '1d');
    const expired = await seedPg(3, '1d');
    await Session.closeAll();
    const cli = ['--dsn', 'driver:postgresql', '--args', JSON.stringify(args)];
    const stats = await runBin(['stats', ...cli, '--json', '--full-ids']);
    expect(stats.stderr).toBe('');
    expect(jsonLines(stats.stdout)[0]).toMatchObject({ count: 2, expired: 1, failed: 0 });
    const purge = await runBin(['find', ...cli, '--expired', '--purge', '--json', '--full-ids']);
    expect(purge.code).toBe(0);
    expect(jsonLines(purge.stdout).filter((o) => o.type === 'session').map((o) => o.id)).toEqual([expired]);
    const after = await runBin(['find', ...cli, '--json', '--full-ids']);
    expect(jsonLines(after.stdout).filter((o) => o.type === 'session').map((o) => o.id)).toEqual([live]);
    const dump = await runBin(['dump', live, ...cli, '--json', '--full-ids', '--show-private']);
    expect(jsonLines(dump.stdout)[0]).toMatchObject({ id: live, data: { daysAgo: 0 } });
  });
});
