import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort } from './freePort.js';
export { freePort };

/** A key prefix no other test (or helper) uses: `isosession-test:<random>:`. */
export function randomPrefix(label = 'test'): string {
  return `isosession-${label}:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` with SCAN + DEL: never FLUSHDB on a shared server. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Whether a Redis server on 127.0.0.1:`port` answers PING. */
export function answers(port: number): Promise<boolean> {
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

/**
 * A private redis-server on a random port, for fault tests (pause, kill, restart) that must
 * never touch the shared server. By default no persistence: a restart starts empty. With
 * `durable`, its own directory and the append-only file fsynced before every reply
 * (`appendfsync always`): what a deployment that promises "an acknowledged write survives a
 * crash" runs; killed and restarted on the same port and directory, it replays its AOF.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL (no shutdown, no final save), and waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts a new server on the same port (and directory); resolves when it answers PING. */
  restart(): Promise<void>;
  /** Kills the server if it runs (resuming it first if paused), and removes its directory. */
  stop(): Promise<void>;
}

export async function startPrivateRedis(options: { durable?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const directory = options.durable ? await mkdtemp(join(tmpdir(), 'isosession-test-redis-')) : undefined;
  const persistence = directory ? ['--dir', directory, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let paused = false;

  async function start(): Promise<void> {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    child = server;
    const exited = new Promise<boolean>((resolve) => server.once('exit', () => resolve(true)));
    // An AOF replay takes a moment: up to 10 s.
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await answers(port)) return;
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
    pause() {
      child?.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child?.kill('SIGCONT');
      paused = false;
    },
    kill,
    restart: start,
    async stop() {
      if (paused) child?.kill('SIGCONT');
      await kill();
      if (directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
