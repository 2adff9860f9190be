import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DsnArgs } from '../types.js';

const WORKER = fileURLToPath(new URL('./firstUseWorker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * `processes` child processes that each flush one new session on the same store at the same
 * moment (they wait for each other first): the first use of a SQL table from many app
 * servers at once. Resolves when all exited 0; rejects with the stderr of those that did not.
 */
export async function firstUseFromProcesses(dsn: string, dsnArgs: DsnArgs, processes: number, preload?: string): Promise<void> {
  const children: { child: ChildProcess; exited: Promise<void> }[] = [];
  const ready: Promise<void>[] = [];
  for (let worker = 0; worker < processes; worker++) {
    const child = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', WORKER, JSON.stringify({ dsn, dsnArgs, preload, worker })], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`first-use worker ${worker} exited with ${signal ?? code}:\n${stderr}`));
      });
    });
    ready.push(new Promise<void>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        if (chunk.includes('ready')) resolve();
      });
      exited.then(() => reject(new Error(`first-use worker ${worker} exited before it was ready`)), reject);
    }));
    children.push({ child, exited });
  }
  try {
    await Promise.all(ready);
  } catch (error) {
    for (const { child } of children) child.kill();
    throw error;
  }
  for (const { child } of children) child.stdin!.write('go\n');
  await Promise.all(children.map(({ exited }) => exited));
}
