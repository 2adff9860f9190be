import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session } from '../index.js';
import { runCli } from './runCli.js';

// What the CLI prints is read by a person in a terminal, a cron mail or a log: a stored name
// must not drive that terminal, forge lines, or hand out live cookies and private data.

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-cli-hard-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[]): Promise<Output> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli([...args, '--directory', directory], {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

const T0 = Math.floor(Date.now() / 1000);
/** A session file whose name is chosen by whoever could write the directory. */
async function plant(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFile(join(directory, `cgisess_${id}`), JSON.stringify({ _SESSION_ID: id, _SESSION_CTIME: T0, _SESSION_ATIME: T0, ...extra }), { mode: 0o600 });
}

async function stored(params: Record<string, unknown>): Promise<string> {
  const s = await Session.new(null, null, { Directory: directory }, { remoteAddr: '203.0.113.9' });
  s.param(params);
  await s.flush();
  return s.id()!;
}

// ESC ] 0 ; … BEL sets the terminal title; ESC [ 2 J clears the screen; CSI 8m hides text.
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';
const NON_PRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('isosession CLI: nothing it prints can drive the terminal', () => {
  it('a planted file name with escape sequences is printed escaped (no title change, no clear screen)', async () => {
    const evil = `x${TITLE}${CLEAR}\u202e`;
    await plant(evil);
    await writeFile(join(directory, `cgisess_y${CLEAR}`), 'not json {', { mode: 0o600 });
    for (const args of [['find'], ['find', '--full-ids'], ['find', '--json', '--full-ids'], ['stats'], ['dump', evil, '--full-ids']]) {
      const run = await cli(args);
      expect(run.stdout + run.stderr, args.join(' ')).not.toMatch(NON_PRINTABLE);
    }
    const full = await cli(['find', '--full-ids']);
    expect(full.stdout).toContain('x\\x1B]0;pwned\\x07\\x1B[2J\\u{202E}');
    expect(full.stderr).toContain('cannot read session y\\x1B[2J');
    // JSON stays JSON, and gives the name back exactly.
    const json = await cli(['find', '--json', '--full-ids']);
    const sessions = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; id?: string }).filter((o) => o.type === 'session');
    expect(sessions.map((o) => o.id)).toEqual([evil]);
  });

  it('a planted name with a newline cannot forge a line of the report (a fake summary in a cron mail)', async () => {
    const forged = 'a\nisosession find: visited 0, matched 0, purged 0, unreadable 0 (0.0 s)';
    await plant(forged);
    const run = await cli(['find', '--full-ids']);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('a\\nisosession find: visited 0');
    expect(lines[1]).toMatch(/^isosession find: visited 1, matched 1/);
  });
});

describe('isosession CLI: live ids and private params are not printed by default', () => {
  it('find prints ids shortened (not usable as a cookie) unless --full-ids', async () => {
    const id = await stored({ user: 'alice' });
    const short = await cli(['find']);
    expect(short.stdout).not.toContain(id);
    expect(short.stdout).toContain(`${id.slice(0, 8)}…  atime=`);
    const json = await cli(['find', '--json']);
    expect(json.stdout).not.toContain(id);
    expect((await cli(['stats'])).stdout).not.toContain(id);
    expect((await cli(['find', '--full-ids'])).stdout).toContain(`${id}  atime=`);
  });

  it('dump takes the shortened id as find printed it, and prints no full id (not even _SESSION_ID) unless --full-ids', async () => {
    const id = await stored({ user: 'alice' });
    const dump = await cli(['dump', `${id.slice(0, 8)}…`]);
    expect(dump.code).toBe(0);
    expect(dump.stdout).not.toContain(id);
    expect(dump.stdout).toContain(`_SESSION_ID: '${id.slice(0, 8)}…'`);
    expect((await cli(['dump', id, '--full-ids'])).stdout).toContain(`_SESSION_ID: '${id}'`);
  });

  it('a prefix that matches several sessions is refused, naming how many', async () => {
    await plant('abc123def456a');
    await plant('abc123def456b');
    const run = await cli(['dump', 'abc123']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('2 sessions start with "abc123"');
  });

  it('dump redacts every param value (and the client address) unless --show-private or --public names it', async () => {
    const id = await stored({ user: 'alice', card: '4111 1111 1111 1111', theme: 'dark' });
    const dump = await cli(['dump', id]);
    expect(dump.stdout).not.toMatch(/alice|4111|dark|203\.0\.113\.9/);
    expect(dump.stdout).toContain("user: '[private string]'");
    expect(dump.stdout).toMatch(/_SESSION_CTIME: \d+/);
    const some = await cli(['dump', id, '--public', 'theme,user', '--json']);
    const data = (JSON.parse(some.stdout) as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({ theme: 'dark', user: 'alice', card: '[private string]', _SESSION_REMOTE_ADDR: '[private string]' });
    const all = await cli(['dump', id, '--show-private']);
    expect(all.stdout).toContain("card: '4111 1111 1111 1111'");
    expect(all.stdout).toContain('203.0.113.9');
  });
});
