import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@isosession/test-support/freePort';

/**
 * A test-owned redis-server on its own port and directory with the append-only file on and
 * fsynced before every reply (`appendfsync always`): what a deployment that promises "an
 * acknowledged write survives a crash" runs. Killed and restarted on the same port and
 * directory, it replays its AOF. Never the shared server.
 */
export interface DurableRedis {
  port: number;
  url: string;
  /** SIGKILL (no shutdown, no final save), and waits for the exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and directory; resolves when it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const port = await freePort();
  const directory = await mkdtemp(join(tmpdir(), 'isosession-reliability-redis-'));
  let child: ChildProcess | undefined;
  let paused = false;

  async function start(): Promise<void> {
    const server = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always',
    ], { stdio: 'ignore' });
    child = server;
    const exited = new Promise<boolean>((resolve) => server.once('exit', () => resolve(true)));
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await ping(port)) return;
      if (await Promise.race([exited, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50))])) {
        throw new Error(`redis-server on port ${port} exited at start`);
      }
    }
    throw new Error(`redis-server on port ${port} did not answer PING`);
  }

  async function kill(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
    paused = false;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: start,
    pause() {
      child?.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child?.kill('SIGCONT');
      paused = false;
    },
    async stop() {
      if (paused) child?.kill('SIGCONT');
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
