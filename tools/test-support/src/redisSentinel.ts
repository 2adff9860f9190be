import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { answers, freePort } from './redisServer.js';

/**
 * A Sentinel setup of the test's own on 127.0.0.1: a master, one replica and three
 * `redis-server --sentinel` processes (quorum 2, down-after 1 s), on random ports in a temp
 * directory. No persistence: a restarted data node comes back empty and the sentinels make
 * it a replica of the current master.
 */
export interface PrivateRedisSentinel {
  /** The name the sentinels monitor. */
  masterName: string;
  /** `redis://127.0.0.1:<port>` of the three sentinels: the driver's `Sentinels`. */
  sentinelUrls: string[];
  /** Client ports of the two data nodes (master first, at the start). */
  dataPorts: number[];
  /** The port the sentinels give as the master now. */
  master(): Promise<number>;
  /** SIGKILL the data node on `port`, and waits for its exit. */
  kill(port: number): Promise<void>;
  /** Starts a killed data node again on the same port, empty, as a replica of the current master. */
  restart(port: number): Promise<void>;
  /**
   * Resolves when every sentinel names the same live master, that node says it is a master,
   * and every other live data node replicates from it with its link up.
   */
  healthy(timeoutMs?: number): Promise<void>;
  /** Kills every process and removes the directory. */
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** `sentinel down-after-milliseconds`: how long a silent master has before a failover. @default 1000 */
  downAfterMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Proc {
  port: number;
  args: (replicaOf?: number) => string[];
  child?: ChildProcess;
}

async function ask(port: number, ...command: string[]): Promise<unknown> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<PrivateRedisSentinel> {
  const downAfter = options.downAfterMs ?? 1000;
  const masterName = 'isosession-test';
  const directory = await mkdtemp(join(tmpdir(), 'isosession-sentinel-'));
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [masterPort, replicaPort, ...sentinelPorts] = [...ports] as [number, number, ...number[]];
  const data = (port: number): Proc => ({
    port,
    args: (replicaOf) => [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--save', '', '--appendonly', 'no', '--dbfilename', `dump-${port}.rdb`,
      ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
    ],
  });
  const dataNodes = [data(masterPort), data(replicaPort)];
  const sentinels: Proc[] = [];
  for (const port of sentinelPorts) {
    const file = join(directory, `sentinel-${port}.conf`);
    await writeFile(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${directory}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${masterName} ${downAfter}`,
      `sentinel failover-timeout ${masterName} 10000`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n'));
    // The sentinel rewrites its file (known replicas, sentinels, epochs): one file each.
    sentinels.push({ port, args: () => [file, '--sentinel'] });
  }
  const all = [...dataNodes, ...sentinels];
  const byPort = (port: number) => {
    const found = dataNodes.find((node) => node.port === port);
    if (!found) throw new Error(`no data node on port ${port}`);
    return found;
  };
  const alive = (proc: Proc) => proc.child !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;

  async function start(proc: Proc, replicaOf?: number): Promise<void> {
    const child = spawn('redis-server', proc.args(replicaOf), { stdio: 'ignore' });
    proc.child = child;
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await answers(proc.port)) return;
      if (await Promise.race([exited, sleep(50).then(() => false)])) throw new Error(`redis-server on port ${proc.port} exited at start`);
    }
    throw new Error(`redis-server on port ${proc.port} did not answer PING`);
  }

  async function kill(proc: Proc): Promise<void> {
    const child = proc.child;
    proc.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async function currentMaster(): Promise<number[]> {
    const named = await Promise.all(sentinels.map((sentinel) => ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)));
    return named.map((reply) => (Array.isArray(reply) ? Number(reply[1]) : 0));
  }

  async function healthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const masters = await currentMaster();
      const master = masters[0]!;
      const node = dataNodes.find((candidate) => candidate.port === master);
      const known = await Promise.all(sentinels.map((sentinel) => ask(sentinel.port, 'SENTINEL', 'SENTINELS', masterName)));
      if (masters.every((port) => port === master) && node && alive(node) && known.every((list) => Array.isArray(list) && list.length === 2)) {
        const role = String(await ask(master, 'INFO', 'replication'));
        const others = dataNodes.filter((candidate) => candidate !== node && alive(candidate));
        const links = await Promise.all(others.map((other) => ask(other.port, 'INFO', 'replication')));
        const replicasUp = links.every((info) => String(info).includes(`master_port:${master}`) && String(info).includes('master_link_status:up'));
        if (role.includes('role:master') && replicasUp) return;
        last = `master ${master} ${/role:\w+/.exec(role)?.[0]}, replicas ${links.map((info) => /master_link_status:\w+/.exec(String(info))?.[0]).join(',')}`;
      } else {
        last = `sentinels name masters ${masters.join(',')}, know ${known.map((list) => (Array.isArray(list) ? list.length : '?')).join(',')} other sentinels`;
      }
      await sleep(100);
    }
    throw new Error(`Redis Sentinel setup not healthy within ${timeoutMs} ms: ${last}`);
  }

  try {
    await start(dataNodes[0]!);
    await start(dataNodes[1]!, masterPort);
    await Promise.all(sentinels.map((sentinel) => start(sentinel)));
    await healthy();
  } catch (error) {
    await Promise.all(all.map(kill));
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    masterName,
    sentinelUrls: sentinelPorts.map((port) => `redis://127.0.0.1:${port}`),
    dataPorts: [masterPort, replicaPort],
    async master() {
      return (await currentMaster())[0]!;
    },
    kill: (port) => kill(byPort(port)),
    async restart(port) {
      // As a replica of the current master, as an operator (or the sentinels, within about
      // ten seconds) would make it; a node back as a second, empty master would be a split brain.
      const master = (await currentMaster())[0];
      await start(byPort(port), master !== undefined && master !== port && master !== 0 ? master : undefined);
    },
    healthy,
    async stop() {
      await Promise.all(all.map(kill));
      await rm(directory, { recursive: true, force: true });
    },
  };
}
