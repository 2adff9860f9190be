import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

/**
 * Where the end-to-end run's Chromium comes from, in the order tried:
 * - `env`: the CHROMIUM_PATH environment variable (set but missing: an error, not a fallback);
 * - `playwright`: a browser installed by `npx playwright install chromium`;
 * - `system`: the system's chromium / chromium-browser / google-chrome;
 * - `npm`: the headless Chromium shipped inside the `@sparticuz/chromium` dev dependency
 *   (Linux x64/arm64), so that `npm ci` alone brings a browser.
 */
export type ChromiumSource = 'env' | 'playwright' | 'system' | 'npm';

export interface ResolvedChromium {
  source: ChromiumSource;
  executablePath: string;
  /** One line for the run's log. */
  description: string;
}

export interface ResolveChromiumOptions {
  env: NodeJS.ProcessEnv;
  /** Where Playwright's own registry keeps its Chromium (whether installed or not). */
  playwrightPath: () => string | undefined;
  /** Unpacks the npm-shipped Chromium and returns its path; throws when it cannot. */
  unpackNpmChromium: () => string;
  isExecutable?: (file: string) => boolean;
  platform?: NodeJS.Platform;
  arch?: string;
}

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const SYSTEM_DIRS = ['/usr/bin', '/usr/local/bin', '/snap/bin'];

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the Chromium to run the suite with, or throws one Error that says what was tried and
 * how to get a browser. E2E_BROWSER_SKIP (a comma list of `playwright`, `system`, `npm`) leaves
 * sources out: it exists to test the fallbacks on a machine that has a system browser.
 */
export function resolveChromium(options: ResolveChromiumOptions): ResolvedChromium {
  const { env } = options;
  const isExecutable = options.isExecutable ?? isExecutableFile;
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const skip = new Set((env.E2E_BROWSER_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const unknownSkip = [...skip].filter((s) => !['playwright', 'system', 'npm'].includes(s));
  if (unknownSkip.length > 0) {
    throw new Error(`E2E_BROWSER_SKIP: unknown source "${unknownSkip.join(', ')}"; known: playwright, system, npm`);
  }
  const tried: string[] = [];

  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { source: 'env', executablePath: fromEnv, description: `CHROMIUM_PATH ${fromEnv}` };
    throw new Error(`CHROMIUM_PATH is set to "${fromEnv}", which is not an executable file; fix it or unset it to let the suite find a browser.`);
  }
  tried.push('CHROMIUM_PATH: not set');

  if (skip.has('playwright')) tried.push('Playwright\'s browsers: skipped (E2E_BROWSER_SKIP)');
  else {
    const installed = options.playwrightPath();
    if (installed && isExecutable(installed)) {
      return { source: 'playwright', executablePath: installed, description: `Playwright's Chromium ${installed}` };
    }
    tried.push(`Playwright's browsers: ${installed ?? 'unknown path'} not installed`);
  }

  if (skip.has('system')) tried.push('system chromium: skipped (E2E_BROWSER_SKIP)');
  else {
    const dirs = [...SYSTEM_DIRS, ...(env.PATH ?? '').split(path.delimiter).filter(Boolean)];
    for (const dir of new Set(dirs)) {
      for (const name of SYSTEM_NAMES) {
        const candidate = path.join(dir, name);
        if (isExecutable(candidate)) return { source: 'system', executablePath: candidate, description: `system Chromium ${candidate}` };
      }
    }
    tried.push(`system chromium: none of ${SYSTEM_NAMES.join(', ')} in ${SYSTEM_DIRS.join(', ')} or PATH`);
  }

  if (skip.has('npm')) tried.push('@sparticuz/chromium: skipped (E2E_BROWSER_SKIP)');
  else if (platform !== 'linux' || (arch !== 'x64' && arch !== 'arm64')) {
    tried.push(`@sparticuz/chromium: ships Linux x64/arm64 builds only (this is ${platform} ${arch})`);
  } else {
    try {
      const unpacked = options.unpackNpmChromium();
      return { source: 'npm', executablePath: unpacked, description: `@sparticuz/chromium (npm dev dependency) ${unpacked}` };
    } catch (error) {
      tried.push(`@sparticuz/chromium: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }

  throw new Error(
    ['No Chromium found for the end-to-end tests. Tried:', ...tried.map((t) => `  - ${t}`),
      'Get one with `npx playwright install chromium`, or install your system\'s chromium (e.g. `apt-get install chromium`), or set CHROMIUM_PATH to a Chromium/Chrome executable.'].join('\n'),
  );
}

/**
 * Unpacks @sparticuz/chromium (brotli, to the OS temp dir, once) in a child process, so the
 * config stays synchronous.
 */
export function unpackSparticuzChromium(cwd: string): string {
  const script = "const m = await import('@sparticuz/chromium'); process.stdout.write(await m.default.executablePath());";
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * The shared libraries @sparticuz/chromium's binary links against (NSS, NSPR, expat) ship in
 * its al2023.tar.br, which the package itself unpacks only on Amazon Linux. A bare Debian or
 * Ubuntu lacks them too, so they are unpacked here (once) for the browser's LD_LIBRARY_PATH.
 */
export function unpackSparticuzLibraries(cwd: string): string {
  const target = path.join(os.tmpdir(), 'isosession-chromium-al2023');
  const libDir = path.join(target, 'lib');
  if (existsSync(path.join(libDir, 'libnss3.so'))) return libDir;
  const entry = createRequire(path.join(cwd, 'package.json')).resolve('@sparticuz/chromium');
  const archive = path.join(entry, '..', '..', '..', 'bin', 'al2023.tar.br');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-x', '-C', target], { input: brotliDecompressSync(readFileSync(archive)) });
  return libDir;
}
