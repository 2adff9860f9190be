// Starts an example server as a user would (node with the source condition and tsx), waits
// for its first line of output, and collects its stderr so a crash fails the test with the
// example's own message instead of being printed as noise.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@isosession/test-support/freePort';
export { freePort };

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface RunningExample {
  child: ChildProcess;
  /** Everything the example wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startExample(file: string, options: { cwd: string; env: Record<string, string> }): Promise<RunningExample & { firstLine: string }> {
  const child = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', file], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`${file} printed nothing within 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) { clearTimeout(timer); resolve(stdout.split('\n')[0]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${file} exited with code ${String(code)} before listening; stderr:\n${stderr}`)); });
  });
  return {
    child,
    firstLine,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** GETs `url` `times` times back to back with one cookie jar; returns the last body. */
export async function visit(url: string, times: number): Promise<{ body: string; cookie: string | undefined; headers: Headers[] }> {
  let cookie: string | undefined;
  let body = '';
  const headers: Headers[] = [];
  for (let i = 0; i < times; i += 1) {
    const response = await fetch(url, { headers: cookie ? { cookie } : {} });
    body = await response.text();
    if (response.status !== 200) throw new Error(`request ${i + 1} of ${times} to ${url} answered ${response.status}: ${body}`);
    const set = response.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0];
    headers.push(response.headers);
  }
  return { body, cookie, headers };
}
