// `npm run pack`: builds every package and packs it into dist-packages/ (or the directory given
// as the first argument), as `npm publish` would upload it. Until the packages are on the
// registry, an app installs them from these tarballs: `npm install ./dist-packages/*.tgz`.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot } from './docsCheck.js';

const run = promisify(execFile);

/** In dependency order, so that installing the tarballs in this order never asks the registry for one of ours. */
export const PACKAGES = ['core', 'server', 'trpc', 'next', 'react', 'playwright'] as const;

/** Builds (turbo, cached when nothing changed) and packs every package; returns the tarball paths. */
export async function packPackages(destination: string): Promise<string[]> {
  await mkdir(destination, { recursive: true });
  await run('npx', ['turbo', 'run', 'build', "--filter=./packages/*"], { cwd: repoRoot, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' }, maxBuffer: 64 << 20 });
  const tarballs: string[] = [];
  for (const name of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: join(repoRoot, 'packages', name), maxBuffer: 64 << 20 });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    tarballs.push(join(destination, packed!.filename));
  }
  return tarballs;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const destination = resolve(process.argv[2] ?? join(repoRoot, 'dist-packages'));
  for (const tarball of await packPackages(destination)) process.stdout.write(`${tarball}\n`);
}
