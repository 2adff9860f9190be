import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadRun, seedCookies } from './peers/loadRun.js';
import type { Workload } from './peers/catalog.js';
import { buildPackages, serverArgs } from './peers/peerServer.js';

// `npm run bench -- profile --system <name> --workload <w>`: one peers server under
// --cpu-prof, driven as the peers suite drives it, then the frames that cost the most CPU
// (self time, and inclusive time of isosession's own functions). The .cpuprofile stays in the
// printed directory for a flame graph (Chrome DevTools → Performance → Load profile).

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}


export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      system: { type: 'string', default: 'isosession-memory' },
      workload: { type: 'string', default: 'counter' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '100' },
      top: { type: 'string', default: '30' },
    },
  });
  const directory = await mkdtemp(join(tmpdir(), 'isosession-profile-'));
  buildPackages();
  const child = spawn(process.execPath, serverArgs(values.system, ['--cpu-prof', `--cpu-prof-dir=${directory}`]), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^ready (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const connections = Number(values.connections);
  const workload = values.workload as Workload;
  const cookies = workload === 'create' ? undefined : await seedCookies(base, connections, true);
  const result = await loadRun({ url: `${base}/${workload}`, connections, seconds: Number(values.seconds), cookies });
  process.stdout.write(`${values.system} ${workload}: ${Math.round(result.reqPerSec)} req/s, ${Math.round(result.cpuPerRequest)} µs CPU/req\n`);
  child.stdin!.end();
  await exited;

  const file = (await readdir(directory)).find((name) => name.endsWith('.cpuprofile'))!;
  const profile = JSON.parse(await readFile(join(directory, file), 'utf8')) as { nodes: Node[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = profile.nodes.reduce((sum, node) => sum + node.hitCount, 0);
  const label = (node: Node) => `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  for (const node of profile.nodes) self.set(label(node), (self.get(label(node)) ?? 0) + node.hitCount);
  // Inclusive time: a frame's hits plus its descendants', counted once per frame label per stack.
  const inclusive = new Map<string, number>();
  const walk = (node: Node, onStack: Set<string>): number => {
    let sum = node.hitCount;
    const key = label(node);
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    for (const childId of node.children ?? []) sum += walk(byId.get(childId)!, onStack);
    if (fresh) {
      onStack.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0]!, new Set());
  const top = Number(values.top);
  const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
  const print = (title: string, entries: [string, number][]) => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, hits] of entries.slice(0, top)) process.stdout.write(`${pct(hits)}  ${key}\n`);
  };
  print('self time', [...self].sort((a, b) => b[1] - a[1]));
  print('inclusive, isosession frames', [...inclusive].filter(([key]) => key.includes('packages/')).sort((a, b) => b[1] - a[1]));
  // Top-down: isosession's frames as they call each other (node's and libraries' frames under
  // them folded into their caller), so that a flame graph's widest isosession bars read as text.
  const ours = (node: Node) => node.callFrame.url.includes('/packages/');
  type Branch = { hits: number; children: Map<string, Branch> };
  const tree = new Map<string, Branch>();
  const add = (node: Node, branch: Map<string, Branch> | undefined): number => {
    let sum = node.hitCount;
    let here = branch;
    if (ours(node)) {
      const key = label(node);
      const level = branch ?? tree;
      let entry = level.get(key);
      if (!entry) level.set(key, (entry = { hits: 0, children: new Map() }));
      here = entry.children;
      let below = 0;
      for (const childId of node.children ?? []) below += add(byId.get(childId)!, here);
      entry.hits += node.hitCount + below;
      return node.hitCount + below;
    }
    for (const childId of node.children ?? []) sum += add(byId.get(childId)!, here);
    return sum;
  };
  add(profile.nodes[0]!, undefined);
  process.stdout.write('\ntop-down, isosession frames (inclusive; ≥ 0.5 %)\n');
  const show = (level: Map<string, Branch>, depth: number) => {
    for (const [key, entry] of [...level].sort((a, b) => b[1].hits - a[1].hits)) {
      if ((100 * entry.hits) / total < 0.5) continue;
      process.stdout.write(`${pct(entry.hits)}  ${'  '.repeat(depth)}${key}\n`);
      show(entry.children, depth + 1);
    }
  };
  show(tree, 0);
  process.stdout.write(`\nprofile: ${join(directory, file)}\n`);
}
