import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEMS, WORKLOADS } from './catalog.js';
import type { SystemInfo, Workload, WriteCounts } from './catalog.js';
import type { AppContext, PeerApp } from './app.js';

// The server side of `npm run bench -- peers`, in its own process so that the load generator
// never shares its event loop. argv[2] is a system name from the catalog. It prints
// "ready <port>" once listening, serves /counter, /create, /read and /stats, and cleans up
// (tables, keys, files) and exits when its stdin closes — also when the parent dies.

async function openApp(system: SystemInfo, context: AppContext): Promise<PeerApp> {
  switch (system.family) {
    case 'isosession':
      return (await import('./isosessionApp.js')).isosessionApp(system.store, context, system.framework);
    case 'express-session':
      return (await import('./expressApp.js')).expressApp(system.store, context, system.framework);
    case 'iron-session':
      return (await import('./ironApp.js')).ironApp();
    default:
      if (system.store === 'none' && system.framework === 'express') return (await import('./expressFramework.js')).expressOnlyApp();
      if (system.store === 'none') return (await import('./floorApps.js')).httpOnlyApp();
      return (await import('./floorApps.js')).rawFloorApp(system.store, context);
  }
}

const system = SYSTEMS.find((candidate) => candidate.name === process.argv[2]);
if (!system) throw new Error(`unknown system ${process.argv[2]}`);

const counts: WriteCounts = { dataWrites: 0, touches: 0 };
const directory = await mkdtemp(join(tmpdir(), `isosession-bench-peers-${system.name}-`));
const app = await openApp(system, { counts, directory, token: randomBytes(5).toString('hex') });

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!.slice(1);
  if (path === 'stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    const cpu = process.cpuUsage();
    res.end(JSON.stringify({ ...counts, rss: process.memoryUsage().rss, cpuMicros: cpu.user + cpu.system }));
    return;
  }
  const handler = WORKLOADS.includes(path as Workload) ? app.handlers[path as Workload] : undefined;
  if (!handler) {
    res.writeHead(404);
    res.end();
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  server.close();
  try {
    await app.close();
  } finally {
    await rm(directory, { recursive: true, force: true });
    process.exit(0);
  }
}
process.stdin.on('end', () => void shutdown());
process.stdin.on('error', () => void shutdown());
process.stdin.resume();
process.on('SIGTERM', () => void shutdown());
