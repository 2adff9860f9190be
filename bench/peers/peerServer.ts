import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

export interface PeerServer {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bench/peers/server.ts for `system` in a child process and waits for its port. */
export async function startPeerServer(system: string): Promise<PeerServer> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', SERVER, system], {
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
