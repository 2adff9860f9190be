import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../examples/runExample.js';
import { packPackages } from '../scripts/packPackages.js';

// The packages as a user gets them: packed as `npm publish` would upload them, installed with
// `npm install <tarball>` into an app outside this workspace (no workspace links, no source
// condition, only what the tarballs and the registry provide), then used as the README says.
const run = promisify(execFile);
let app: string;
let packs: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  packs = await mkdtemp(join(tmpdir(), 'isosession-packs-'));
  app = await mkdtemp(join(tmpdir(), 'isosession-app-'));
  const tarballs = await packPackages(packs);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
  // The registry's packages come from npm's cache when CI's `npm ci` already fetched them.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, 'express@5', 'zod@4', 'typescript@5', '@types/node@20', '@types/express@5', '@types/react@19', 'next@16', 'react@19', 'react-dom@19', '@trpc/server@11', '@trpc/client@11'], { cwd: app, maxBuffer: 64 << 20 });
}, 300_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (app) await rm(app, { recursive: true, force: true });
  if (packs) await rm(packs, { recursive: true, force: true });
});

/** Starts `node <file>` in the app; resolves once it prints its first line. */
async function start(file: string, env: Record<string, string>, args: string[] = []): Promise<void> {
  const child = spawn(process.execPath, [file, ...args], { cwd: app, env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed nothing in 20 s: ${stderr}`)), 20_000);
    child.stdout!.once('data', () => { clearTimeout(timer); resolve(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${file} exited with ${code}: ${stderr}`)); });
  });
}

/** `times` sequential visits with the cookie the first one set; the last body. */
async function visit(url: string, times: number): Promise<string> {
  let cookie: string | undefined;
  let body = '';
  for (let i = 0; i < times; i++) {
    const response = await fetch(url, { headers: cookie ? { cookie } : {} });
    expect(response.status).toBe(200);
    cookie ??= response.headers.getSetCookie()[0]?.split(';')[0];
    body = await response.text();
  }
  return body;
}

describe('the packed packages, installed into an app outside the workspace', () => {
  it('a node:http server counts 20 visits of one session (withNodeSession, file store)', async () => {
    await writeFile(join(app, 'server.mjs'), `
import { createServer } from 'node:http';
import { withNodeSession } from '@isosession/server/node';

createServer(withNodeSession(async (req, res, session) => {
  session.param('visits', (session.param('visits') ?? 0) + 1);
  res.end(\`visit \${session.param('visits')}\`);
}, { dsnArgs: { Directory: process.env.SESSIONS } })).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
`);
    const port = await freePort();
    await start('server.mjs', { PORT: String(port), SESSIONS: join(app, 'sessions-http') });
    expect(await visit(`http://127.0.0.1:${port}/`, 20)).toBe('visit 20');
  }, 60_000);

  it('an Express app counts 20 visits of one session (the isosession middleware)', async () => {
    await writeFile(join(app, 'express.mjs'), `
import express from 'express';
import { isosession } from '@isosession/server/express';

const app = express();
app.use(isosession({ dsnArgs: { Directory: process.env.SESSIONS } }));
app.get('/', (req, res) => {
  req.session.param('visits', (req.session.param('visits') ?? 0) + 1);
  res.send(\`visit \${req.session.param('visits')}\`);
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
`);
    const port = await freePort();
    await start('express.mjs', { PORT: String(port), SESSIONS: join(app, 'sessions-express') });
    expect(await visit(`http://127.0.0.1:${port}/`, 20)).toBe('visit 20');
  }, 60_000);

  it('the isosession CLI runs from the installed bin', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'isosession'), ['--help'], { cwd: app });
    expect(stdout).toMatch(/^Usage: isosession <command>/);
  }, 60_000);

  // skipLibCheck as in Next.js's and Vite's templates: the declarations of the optional drivers
  // and buses name their client's types (pg, mysql2, ioredis), installed only by apps that use them.
  it('the published types typecheck an app using every package (strict, NodeNext, no source condition)', async () => {
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, jsx: 'react-jsx', skipLibCheck: true, lib: ['ES2023', 'DOM', 'ESNext.Disposable'], types: ['node'] },
      include: ['typed.tsx'],
    }));
    await writeFile(join(app, 'typed.tsx'), `
import { z } from 'zod';
import express from 'express';
import { Session, isSessionError } from '@isosession/server';
import { isosession } from '@isosession/server/express';
import { withSession } from '@isosession/server/fetch';
import { parseDuration } from '@isosession/core';
import { createSessionRouter, defineSessionParams } from '@isosession/trpc';
import { getSession, snapshot } from '@isosession/next';
import { SessionProvider, useSessionParam } from '@isosession/react';
import { createSessionTest } from '@isosession/playwright';

const params = defineSessionParams({ theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true } });
export const router = createSessionRouter({ dsn: 'driver:file', params });
export const handler = withSession(async (_request, { session }) => Response.json({ n: session.param('n') }));
export const app = express().use(isosession());
export const seconds: number = parseDuration('+1h');
export async function load(id: string): Promise<boolean> {
  try {
    const s = await Session.load('driver:file', id);
    const next = await getSession({ mode: 'read' });
    return !s.isEmpty() && snapshot(next, params).params.theme === 'light';
  } catch (error) {
    return isSessionError(error);
  }
}
export function Theme() {
  const [theme, setTheme] = useSessionParam<'theme', typeof router>('theme');
  return <SessionProvider url="/api/session"><button onClick={() => setTheme('dark')}>{theme}</button></SessionProvider>;
}
export const test = createSessionTest(params);
`);
    const result = await run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(result.stdout).toBe('');
  }, 120_000);

  it('a Next.js app: a route handler and a server action write with getSession(), the layout renders the snapshot, useSessionParam shows it in the server HTML', async () => {
    const files: Record<string, string> = {
      'next.config.mjs': `export default { serverExternalPackages: ['fs-ext', 'better-sqlite3', 'pg', 'mysql2', 'ioredis'] };\n`,
      'lib/session.ts': `
import { z } from 'zod';
import { createSessionRouter, defineSessionParams } from '@isosession/trpc';
import { getSession } from '@isosession/next';

export const dsnArgs = { Directory: process.env.SESSIONS };
export const params = defineSessionParams({
  visits: { schema: z.number(), default: 0 },
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
});
export const sessionRouter = createSessionRouter({ dsn: 'driver:file', dsnArgs, params });
export const session = () => getSession({ dsn: 'driver:file', dsnArgs });
`,
      'app/api/session/[trpc]/route.ts': `
import { createSessionRouteHandler } from '@isosession/next';
import { sessionRouter } from '../../../../lib/session';

export const dynamic = 'force-dynamic';
const handler = createSessionRouteHandler(sessionRouter, { endpoint: '/api/session' });
export { handler as GET, handler as POST };
`,
      'app/visit/route.ts': `
import { session } from '../../lib/session';

export const dynamic = 'force-dynamic';
export async function GET() {
  const s = await session();
  s.param('visits', ((s.param('visits') as number | undefined) ?? 0) + 1);
  await s.flush();
  return new Response(\`visit \${s.param('visits')}\`);
}
`,
      'app/providers.tsx': `
'use client';
import { SessionProvider } from '@isosession/react';
import type { SessionSnapshot } from '@isosession/core';

export function Providers({ initial, children }: { initial: SessionSnapshot | null; children: React.ReactNode }) {
  return <SessionProvider url="/api/session" initial={initial} watch={false}>{children}</SessionProvider>;
}
`,
      'app/actions.ts': `
'use server';
import { session } from '../lib/session';

export async function addVisit(): Promise<number> {
  const s = await session();
  s.param('visits', ((s.param('visits') as number | undefined) ?? 0) + 1);
  await s.flush();
  return s.param('visits') as number;
}
`,
      'app/visits.tsx': `
'use client';
import { useSessionParam } from '@isosession/react';
import { addVisit } from './actions';

export function Visits() {
  const [visits] = useSessionParam('visits');
  return <form action={async () => { await addVisit(); }}><p id="visits">visits: {String(visits)}</p><button>Visit</button></form>;
}
`,
      'app/layout.tsx': `
import { snapshot } from '@isosession/next';
import { params, session } from '../lib/session';
import { Providers } from './providers';

export const dynamic = 'force-dynamic';
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const s = await session();
  const initial = s.isEmpty() ? null : snapshot(s, params);
  return <html lang="en"><body><Providers initial={initial}>{children}</Providers></body></html>;
}
`,
      'app/page.tsx': `
import { Visits } from './visits';

export default function Page() {
  return <main><Visits /></main>;
}
`,
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(app, name)), { recursive: true });
      await writeFile(join(app, name), text);
    }
    await rm(join(app, 'tsconfig.json'), { force: true });
    await run(process.execPath, [join(app, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], { cwd: app, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_OPTIONS: '' }, maxBuffer: 64 << 20 })
      .catch((error: { stdout: string; stderr: string }) => { throw new Error(`next build failed:\n${error.stdout}\n${error.stderr}`); });
    const port = await freePort();
    await start(join('node_modules', 'next', 'dist', 'bin', 'next'), { PORT: String(port), SESSIONS: join(app, 'sessions-next'), NEXT_TELEMETRY_DISABLED: '1' }, ['start', '-p', String(port), '-H', '127.0.0.1']);
    const base = `http://127.0.0.1:${port}`;
    const first = await fetch(`${base}/visit`);
    const cookie = first.headers.getSetCookie()[0]?.split(';')[0];
    expect(await first.text()).toBe('visit 1');
    expect(cookie).toMatch(/^CGISESSID=/);
    for (let i = 0; i < 2; i++) await fetch(`${base}/visit`, { headers: { cookie: cookie! } });

    // The server action, called as the browser calls it: POST with its id from the build's manifest.
    const manifest = JSON.parse(await readFile(join(app, '.next', 'server', 'server-reference-manifest.json'), 'utf8')) as { node: Record<string, unknown> };
    const [actionId] = Object.keys(manifest.node);
    const action = await fetch(base, { method: 'POST', headers: { cookie: cookie!, 'next-action': actionId!, 'content-type': 'text/plain;charset=UTF-8', origin: base }, body: '[]' });
    expect(action.status).toBe(200);
    expect(await action.text()).toMatch(/\b4\b/);

    const page = await (await fetch(base, { headers: { cookie: cookie! } })).text();
    // React's server HTML puts a comment between the text and the value.
    expect(page.replace(/<!-- -->/g, '')).toContain('<p id="visits">visits: 4</p>');
  }, 300_000);
});
