import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Session } from '@isosession/server';

const HOUR = 60 * 60 * 1000;

// Temp files are named isosession-tmp_<id>.<hex>.tmp (never matching Perl's ^cgisess_(.+)$);
// cgisess_<id>.<hex>.tmp is what earlier versions left.
describe.each([
  (id: string) => `isosession-tmp_${id}.deadbeef0000.tmp`,
  (id: string) => `cgisess_${id}.deadbeef0000.tmp`,
])('file driver: temp files left by killed writers (%#)', (tempName) => {
  let directory: string;
  let id: string;
  let temp: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'isosession-sweep-'));
    const s = await Session.new(null, null, { Directory: directory });
    s.param('a', 1);
    await s.flush();
    id = s.id()!;
    temp = tempName(id);
    await writeFile(join(directory, temp), 'half a session');
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(directory, { recursive: true, force: true });
  });

  it('find() sweeps a temp file abandoned for over an hour, and keeps the session', async () => {
    // ctime cannot be set, so the clock moves instead: the file is now two hours old.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * HOUR });
    const report = await Session.find(null, () => {}, { Directory: directory });
    vi.useRealTimers();
    expect(report.visited).toBe(1);
    const left = await readdir(directory);
    expect(left).toContain(`cgisess_${id}`);
    expect(left).not.toContain(temp);
  });

  it('find() leaves a recent temp file alone (a write may be in progress)', async () => {
    await Session.find(null, () => {}, { Directory: directory });
    expect(await readdir(directory)).toContain(temp);
  });
});
