import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session } from '../index.js';
import { tombstoneKey } from '../tombstone.js';
import { runCli } from './runCli.js';

// What regenerate()/delete() leave behind for a short while is not a session: the CLI neither
// lists nor counts it, and --purge removes it once its grace period is over.

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-cli-tomb-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function cli(args: string[], now: number): Promise<string> {
  const out: string[] = [];
  const code = await runCli([...args, '--directory', directory], { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => true }, now: () => now });
  expect(code).toBe(0);
  return out.join('');
}

/** A logged-in session (regenerated from a browser's request): one session, one tombstone. */
async function login(now: number): Promise<{ oldId: string; newId: string }> {
  const params = { now: () => now };
  const visitor = await Session.new(null, null, { Directory: directory }, params);
  visitor.param('cart', ['mug']);
  await visitor.flush();
  const oldId = visitor.id()!;
  const request = new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${oldId}` } });
  const session = await Session.new(null, request, { Directory: directory }, params);
  session.regenerate();
  await session.flush();
  return { oldId, newId: session.id()! };
}

describe('isosession CLI and tombstones', () => {
  it('find and stats report only the session; dump of the tombstone key finds nothing', async () => {
    const now = Date.now();
    const { oldId, newId } = await login(now);
    expect((await readdir(directory)).filter((n) => n.startsWith('cgisess_'))).toHaveLength(2);
    const found = await cli(['find', '--json', '--full-ids'], now);
    const lines = found.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'session').map((l) => l.id)).toEqual([newId]);
    expect(lines.at(-1)).toMatchObject({ visited: 1, matched: 1 });
    expect(await cli(['stats'], now)).toMatch(/^sessions {2}1$/m);
    const out: string[] = [];
    const code = await runCli(['dump', tombstoneKey(oldId), '--directory', directory], { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => true } });
    expect(code).toBe(1);
  });

  it('find --expired --purge removes a tombstone past its grace period without listing it', async () => {
    const now = Date.now();
    const { oldId, newId } = await login(now);
    const early = await cli(['find', '--expired', '--purge', '-q'], now + 30_000);
    expect(early).toMatch(/visited 1, matched 0, purged 0/);
    expect(await readdir(directory)).toContain(`cgisess_${tombstoneKey(oldId)}`);
    const late = await cli(['find', '--expired', '--purge', '-q'], now + 61_000);
    expect(late).toMatch(/visited 1, matched 0, purged 0/);
    expect((await readdir(directory)).filter((n) => n.startsWith('cgisess_'))).toEqual([`cgisess_${newId}`]);
  });
});
