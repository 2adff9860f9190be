import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from './appServer.js';

const ENTRY = fileURLToPath(new URL('./appServer.ts', import.meta.url));

export interface RunningApp {
  base: string;
  port: number;
  pid: number;
  /** { rss, heapUsed } in bytes, after a full GC. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  /** Sends `signal` (SIGKILL: the process dies mid-whatever) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Closes stdin: the server closes its stores and exits. */
  stop(): Promise<void>;
  /** How the process ended, with the tail of its stderr, if it has (a crash is a finding). */
  crash(): string | undefined;
}

/** Starts reliability/support/appServer.ts in a child process (with --expose-gc). */
export async function startApp(config: AppConfig): Promise<RunningApp> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--conditions=@isosession/source', '--import', 'tsx', ENTRY, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 6000) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app server did not start within 30 s: ${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`app server exited (${code}) before it was ready: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^ready (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  const base = `http://127.0.0.1:${port}`;
  let expectedExit = false;
  return {
    crash() {
      if (expectedExit || (child.exitCode === null && child.signalCode === null)) return undefined;
      return `app server exited (code ${child.exitCode}, signal ${child.signalCode}): ${stderr}`;
    },
    base,
    port,
    pid: child.pid!,
    async memory() {
      const response = await fetch(`${base}/stats?gc=1`);
      return (await response.json()) as { rss: number; heapUsed: number };
    },
    async kill(signal = 'SIGKILL') {
      expectedExit = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      expectedExit = true;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
