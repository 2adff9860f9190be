// What a browser downloads for the session hooks: each entry bundled by esbuild for the
// browser (minified, production, react/react-dom external since every React app has them),
// then gzip -9 and brotli. Peers: next-auth/react (Auth.js v4) and better-auth's React client.
// Run: `npm run bench -- bundle`, or node --conditions=@isosession/source --import tsx bench/bundleSize.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Entry {
  name: string;
  /** What an app imports, as an ES module. */
  source: string;
  /** The package whose presence decides whether the entry can be measured. */
  needs: string;
  note: string;
  /** Packages the app is assumed to ship already (besides React). */
  shared?: string[];
}

const ENTRIES: Entry[] = [
  {
    name: '@isosession/react',
    source: "export { SessionProvider, useSession, useSessionParam } from '@isosession/react';",
    needs: '@isosession/react',
    note: 'provider + hooks + fetch/EventSource transport (superjson, zustand); no tRPC client',
  },
  {
    name: '@isosession/react (superjson app)',
    source: "export { SessionProvider, useSession, useSessionParam } from '@isosession/react';",
    needs: '@isosession/react',
    note: 'the same, in an app that already ships superjson (tRPC apps do): what it adds',
    shared: ['@trpc/client', '@trpc/server', '@trpc/server/*', 'superjson'],
  },
  {
    name: '@isosession/react/store',
    source: "export { createSessionStore } from '@isosession/react/store';",
    needs: '@isosession/react',
    note: 'the framework-free optimistic store alone (zustand/vanilla)',
  },
  {
    name: 'next-auth/react',
    source: "export { SessionProvider, useSession, signIn, signOut } from 'next-auth/react';",
    needs: 'next-auth',
    note: 'Auth.js v4 client: provider + useSession + signIn/signOut',
  },
  {
    name: 'better-auth/react',
    source: "export { createAuthClient } from 'better-auth/react';",
    needs: 'better-auth',
    note: 'better-auth React client (createAuthClient, with useSession)',
  },
];

// Every React app ships these already; what the hooks add is the rest.
const EXTERNAL = ['react', 'react-dom', 'react/jsx-runtime', 'react-dom/client', 'next', 'next/*'];

export interface BundleResult {
  name: string;
  note: string;
  version: string;
  minified: number;
  gzip: number;
  brotli: number;
  /** Minified bytes per package inside the bundle, largest first. */
  packages: [string, number][];
}

function installedVersion(name: string): string | undefined {
  // Read the file: packages with an `exports` map need not expose ./package.json.
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1]!;
  const workspace = /packages\/([^/]+)\//.exec(path);
  return workspace ? `@isosession/${workspace[1]}` : path;
}

function byPackage(metafile: Metafile): [string, number][] {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(path);
      sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes].filter(([, bytes]) => bytes > 0).sort((a, b) => b[1] - a[1]);
}

export async function measure(entry: Entry): Promise<BundleResult | undefined> {
  const version = entry.needs.startsWith('@isosession/') ? 'workspace' : installedVersion(entry.needs);
  if (version === undefined) return undefined;
  const result = await build({
    stdin: { contents: entry.source, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@isosession/source'],
    external: [...EXTERNAL, ...(entry.shared ?? [])],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return {
    name: entry.name,
    note: entry.note,
    version,
    minified: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
    packages: byPackage(result.metafile),
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

export function toMarkdown(results: BundleResult[], missing: string[]): string {
  const lines = [
    `# Client bundle size (${new Date().toISOString().slice(0, 10)})`,
    '',
    'esbuild, minified, production, browser ESM; react, react-dom, next external. gzip -9, brotli 11.',
    '',
    '| entry | version | minified | gzip | brotli | what |',
    '|---|---|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.name} | ${r.version} | ${kb(r.minified)} | ${kb(r.gzip)} | ${kb(r.brotli)} | ${r.note} |`),
    ...missing.map((name) => `| ${name} | not installed | | | | |`),
    '',
    'Minified bytes by package:',
    '',
    ...results.map((r) => `- ${r.name}: ${r.packages.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')}`),
    '',
  ];
  return lines.join('\n');
}

export async function run(argv: string[] = []): Promise<void> {
  const results: BundleResult[] = [];
  const missing: string[] = [];
  for (const entry of ENTRIES) {
    const measured = await measure(entry);
    if (measured) results.push(measured);
    else missing.push(entry.name);
  }
  const markdown = toMarkdown(results, missing);
  process.stdout.write(markdown);
  if (!argv.includes('--no-save')) {
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `bundle-${new Date().toISOString().slice(0, 10)}.md`), markdown);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run(process.argv.slice(2));
}
