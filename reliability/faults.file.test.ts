import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';
import { recordFigures } from './support/figures.js';
import { dumpSessions, newSessions, recoveryMs, runLoad, verify } from './support/loadClients.js';
import { scaled } from './support/scale.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';

// Reliability battery, "Faults": the server process SIGKILLed in the middle of flushes on the file store,
// three times, and started again on the same directory (what a supervisor does). Every
// session carries a 256 KB param, so each flush writes that much and a kill lands mid-write.
// While the process is dead nothing answers (connection refused: never a false 200); once it
// is back it serves at once — no torn file, no lock of the dead process in the way — and every
// acknowledged write is there.

const KILLS = 3;
const PAD = 256 * 1024;

let app: RunningApp | undefined;
let directory: string | undefined;

afterEach(async () => {
  await app?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
  app = undefined;
  directory = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('file store: the server SIGKILLed mid-flush', () => {
  it('restarts on the same directory with nothing acknowledged lost and nothing torn or locked', async () => {
    directory = await mkdtemp(join(tmpdir(), 'isosession-reliability-file-'));
    // The padded sessions are over the default size limits (64 KiB a param), on purpose.
    const config = { kind: 'isosession' as const, dsn: 'driver:file', dsnArgs: { Directory: directory }, sessionParams: { maxParamBytes: 1024 * 1024, maxSessionBytes: 1024 * 1024 } };
    app = await startApp(config);
    let base = app.base;
    const cookies = await newSessions(base, 20, `?pad=${PAD}`);
    const live = { inFlight: 0 };
    let phase = 'up';
    const interval = scaled(1.5);
    const started = Date.now();
    const load = runLoad({ base: () => base, cookies, clients: 40, durationMs: interval * (KILLS + 1) + 4000, live, phase: () => phase });

    const kills: { inFlight: number; restartMs: number }[] = [];
    const restarts: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(interval);
      const inFlight = live.inFlight;
      phase = 'down';
      await app.kill('SIGKILL');
      const down = Date.now();
      app = await startApp(config);
      base = app.base;
      phase = 'up';
      restarts.push(Date.now() - started);
      kills.push({ inFlight, restartMs: Date.now() - down });
    }
    const report = await load;

    const verdict = verify(report.params, await dumpSessions(base, cookies));
    const files = await readdir(directory);
    // Every stored session still reads (a torn file would reject with CORRUPT).
    const ids = files.filter((name) => /^cgisess_[0-9a-f]{32}$/.test(name)).map((name) => name.slice('cgisess_'.length));
    const loaded = await Promise.all(ids.map((id) => Session.load('driver:file', id, { Directory: directory })));
    const recoveries = restarts.map((at) => recoveryMs(report.timeline, at));
    recordFigures('fault: file store, server SIGKILLed mid-flush', {
      kills,
      answers: report.counts,
      firstSuccessAfterRestartMs: recoveries,
      acknowledged: report.acked,
      paramsChecked: verdict.checked,
      lostUpdates: verdict.lost.length,
      sessionFiles: ids.length,
      leftoverTempFiles: files.filter((name) => name.endsWith('.tmp')).length,
      leftoverLocks: files.filter((name) => name.endsWith('.lock')).length,
    });

    expect(kills.every((kill) => kill.inFlight > 0)).toBe(true);
    for (const [label, answers] of Object.entries(report.counts)) {
      expect(Object.keys(answers).filter((status) => status !== '200' && status !== 'network'), label).toEqual([]);
    }
    expect(loaded.every((session) => !session.isEmpty())).toBe(true);
    expect(ids.length).toBe(cookies.length);
    // Served again within seconds of each restart: no 10 s lock wait behind the dead process.
    for (const recovery of recoveries) expect(recovery).toBeLessThan(5000);
    expect(verdict.lost).toEqual([]);
  });
});
