import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export interface PeerServer {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The command line of a server process. It runs isosession from its build (the dist/
 * folders, what an npm user installs; `buildPackages` makes them), not from source: tsx compiles with
 * esbuild's keepNames, which adds an Object.defineProperty to every closure created, a cost
 * no installed package pays. Only the bench's own glue goes through tsx, for every system alike.
 */
export function serverArgs(system: string, nodeOptions: string[] = []): string[] {
  return [...nodeOptions, '--import', 'tsx', SERVER, system];
}

/** Builds the packages the servers import (tsc, a few seconds), so that dist/ matches the source. */
export function buildPackages(): void {
  for (const name of ['core', 'server']) {
    const project = fileURLToPath(new URL(`../../packages/${name}/tsconfig.build.json`, import.meta.url));
    execFileSync(process.execPath, [TSC, '-p', project], { stdio: 'inherit' });
  }
}

/** Starts bench/peers/server.ts for `system` in a child process and waits for its port. */
export async function startPeerServer(system: string): Promise<PeerServer> {
  const child: ChildProcess = spawn(process.execPath, serverArgs(system), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${system}: server did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${system}: server exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^ready (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      // Closing stdin asks the server to clean up its tables, keys and files and exit.
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
