import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions } from 'ioredis';
import { answers, freePort } from './redisServer.js';

/**
 * A Redis Cluster of the test's own on 127.0.0.1: three masters with one replica each, every
 * node a `redis-server --cluster-enabled yes` on random ports (client and bus port both
 * chosen, so nothing collides with the shared server or another test), in a temp directory.
 * A short `cluster-node-timeout` makes a replica take over a killed master within seconds.
 * No persistence: a restarted node comes back empty and rejoins (as a replica) from its
 * nodes.conf.
 */
export interface PrivateRedisCluster {
  /** Every node's client port, in start order. */
  ports: number[];
  /** `redis://127.0.0.1:<port>` of every node: the seed list for a Cluster client or the driver's `Url`. */
  urls: string[];
  /** Ports of the nodes that are masters now (asked of a live node). */
  masters(): Promise<number[]>;
  /** The master that serves `key` now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILL the node on `port` (no shutdown), and waits for its exit. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on the same ports and directory. */
  restart(port: number): Promise<void>;
  /**
   * Resolves when every live node says `cluster_state:ok`, no slot is served by a dead node
   * (after a kill: when a replica has been promoted) and every replica's link to its master
   * is up. Rejects after `timeoutMs`.
   */
  healthy(timeoutMs?: number): Promise<void>;
  /** A new ioredis Cluster client on the seed list (the caller closes it). */
  client(options?: ClusterOptions): Cluster;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** `cluster-node-timeout`, ms: how long a silent master has before its replica takes over. @default 1000 */
  nodeTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Node {
  port: number;
  busPort: number;
  child?: ChildProcess;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

/** One command on a short-lived connection to one node; null when the node does not answer. */
async function ask(port: number, ...command: string[]): Promise<string | null> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return String(await redis.call(command[0]!, ...command.slice(1)));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<PrivateRedisCluster> {
  const nodeTimeout = options.nodeTimeoutMs ?? 1000;
  const directory = await mkdtemp(join(tmpdir(), 'isosession-cluster-'));
  const nodes: Node[] = [];
  const taken = new Set<number>();
  while (nodes.length < 6) {
    const port = await freePort();
    const busPort = await freePort();
    if (port === busPort || taken.has(port) || taken.has(busPort)) continue;
    taken.add(port).add(busPort);
    nodes.push({ port, busPort });
  }
  const byPort = (port: number) => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };

  async function start(node: Node): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(node.port), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-port', String(node.busPort),
      '--cluster-config-file', `nodes-${node.port}.conf`, '--cluster-node-timeout', String(nodeTimeout),
      // A replica takes over however long ago it last heard from its master: a test kills
      // masters on purpose and wants the promotion, not a cluster that stays down.
      '--cluster-replica-validity-factor', '0',
      '--dir', directory, '--save', '', '--appendonly', 'no',
    ], { stdio: 'ignore' });
    node.child = child;
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await answers(node.port)) return;
      if (await Promise.race([exited, sleep(50).then(() => false)])) throw new Error(`redis-server (cluster node) on port ${node.port} exited at start`);
    }
    throw new Error(`redis-server (cluster node) on port ${node.port} did not answer PING`);
  }

  async function kill(port: number): Promise<void> {
    const node = byPort(port);
    const child = node.child;
    node.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  const live = () => nodes.filter((node) => node.child && node.child.exitCode === null && node.child.signalCode === null);

  /** `CLUSTER SLOTS` of a live node as [first slot, last slot, master port][]. */
  async function slotMasters(): Promise<[number, number, number][] | null> {
    for (const node of live()) {
      const redis = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
      redis.on('error', () => {});
      try {
        await redis.connect();
        const slots = await redis.cluster('SLOTS');
        return slots.map(([first, last, master]) => [first, last, Number(master![1])]);
      } catch {
        // the next node
      } finally {
        redis.disconnect();
      }
    }
    return null;
  }

  async function healthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const alive = live().map((node) => node.port);
      const states = await Promise.all(alive.map((port) => ask(port, 'CLUSTER', 'INFO')));
      // A replica still in its first full sync would lose everything if its master died now.
      const links = await Promise.all(alive.map((port) => ask(port, 'INFO', 'replication')));
      const synced = links.every((info) => info !== null && (info.includes('role:master') || info.includes('master_link_status:up')));
      const slots = await slotMasters();
      const covered = slots !== null && slots.reduce((sum, [first, lastSlot]) => sum + lastSlot - first + 1, 0) === 16_384;
      const servedByLive = slots !== null && slots.every(([, , master]) => alive.includes(master));
      if (covered && servedByLive && synced && states.every((state) => state?.includes('cluster_state:ok'))) return;
      last = `states ${states.map((state) => /cluster_state:(\w+)/.exec(state ?? '')?.[1] ?? 'no answer').join(',')}, slots ${JSON.stringify(slots)}`;
      await sleep(100);
    }
    throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms: ${last}`);
  }

  try {
    await Promise.all(nodes.map(start));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes']);
    await healthy();
  } catch (error) {
    await Promise.all(nodes.map((node) => kill(node.port)));
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  const ports = nodes.map((node) => node.port);
  return {
    ports,
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    async masters() {
      const slots = await slotMasters();
      if (slots === null) throw new Error('no cluster node answers CLUSTER SLOTS');
      return [...new Set(slots.map(([, , master]) => master))].sort((a, b) => a - b);
    },
    async masterOf(key) {
      const slot = Number(await ask(live()[0]!.port, 'CLUSTER', 'KEYSLOT', key));
      const slots = await slotMasters();
      const entry = slots?.find(([first, last]) => slot >= first && slot <= last);
      if (!entry) throw new Error(`no master serves slot ${slot} of ${key}`);
      return entry[2];
    },
    kill,
    restart: (port) => start(byPort(port)),
    healthy,
    client(clientOptions = {}) {
      const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), clientOptions);
      cluster.on('error', () => {});
      return cluster;
    },
    async stop() {
      await Promise.all(nodes.map((node) => kill(node.port)));
      await rm(directory, { recursive: true, force: true });
    },
  };
}
