import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { dataDir } from './store.js';
import { freePort } from '@isosession/test-support/freePort';
export { freePort };

// A second demo server (production build from the run's webServer), for the scenarios that
// need their own: a restart, or a shortened login expiry.

const appDir = path.resolve(import.meta.dirname, '../../apps/demo');

export interface DemoServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the demo server exited (${child.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${url}/api/session/get`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the demo server did not answer at ${url} within 60 s:\n${log()}`);
}

// A test that times out never reaches its finally: whatever is still running goes with the worker.
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startDemoServer(options: { port?: number; env?: Record<string, string> } = {}): Promise<DemoServer> {
  const port = options.port ?? (await freePort());
  let output = '';
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: appDir,
    env: { ...process.env, ...options.env, PORT: String(port), DEMO_DATA_DIR: dataDir(), NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: stop() ends the launcher and the Next.js server under it.
    detached: true,
  });
  running.add(child.pid as number);
  child.once('exit', () => running.delete(child.pid as number));
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      // Next.js waits for open responses (the pages' watch streams) before exiting: a
      // restart that takes longer than 5 s is finished with SIGKILL, as a crash would.
      const kill = setTimeout(() => signalGroup('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        signalGroup('SIGKILL');
        resolve();
      });
      signalGroup('SIGTERM');
    });
  try {
    await waitUntilUp(url, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, stop };
}
