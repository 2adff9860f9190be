import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, defineConfig } from '@playwright/test';
import type { IsosessionTestOptions } from '@isosession/playwright';
import { resolveChromium, unpackSparticuzChromium, unpackSparticuzLibraries } from './e2e/support/resolveChromium.js';

// End-to-end tests of apps/demo in real Chromium: CHROMIUM_PATH, else Playwright's own browser,
// else the system's chromium, else the one the @sparticuz/chromium dev dependency ships (so a
// bare Linux machine needs only `npm ci`); see e2e/support/resolveChromium.ts. The config builds the demo and starts it in production mode itself, on
// E2E_PORT (a free port by default, so a running `npm run demo` on 3000 is left alone), with
// its own store directory per run.

const root = import.meta.dirname;

/** A port free right now (asked of the OS), so concurrent runs and a running demo never collide. */
function freePort(): string {
  const probe = "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });";
  return execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim();
}

// The config is loaded by the runner and again by each worker: what is chosen here is chosen
// once, in the runner, and inherited through the environment.
process.env.E2E_PORT ??= freePort();
const port = Number(process.env.E2E_PORT);

// Set once in the runner; the workers and the web server inherit it.
process.env.E2E_DATA_DIR ??= path.join(root, 'apps/demo/.data', `e2e-${Date.now().toString(36)}`);
process.env.E2E_BASE_URL = `http://127.0.0.1:${port}`;
// Its own build directory: a demo running from apps/demo/.next keeps working meanwhile.
process.env.DEMO_DIST_DIR ??= '.next-e2e';
// Tests read the store with @isosession/server, from source as vitest does (no build step).
if (!process.env.NODE_OPTIONS?.includes('--conditions=@isosession/source')) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --conditions=@isosession/source`.trim();
}

// Resolved once, in the runner (one line in the log, one error when there is no browser);
// the workers inherit the path.
if (!process.env.E2E_CHROMIUM) {
  try {
    const found = resolveChromium({
      env: process.env,
      playwrightPath: () => chromium.executablePath(),
      unpackNpmChromium: () => unpackSparticuzChromium(root),
    });
    process.env.E2E_CHROMIUM = found.executablePath;
    if (found.source === 'npm') process.env.E2E_CHROMIUM_LIBS = unpackSparticuzLibraries(root);
    process.stdout.write(`e2e browser: ${found.description}\n`);
  } catch (error) {
    // One message and no stack: the cause is the machine, not the code.
    process.stderr.write(`e2e: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

export default defineConfig<object, { isosession: IsosessionTestOptions }>({
  testDir: 'e2e',
  // Specs only: e2e/support holds vitest unit tests of the suite's own helpers.
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // The machine is shared: two browsers at a time, files in parallel, tests in a file in order.
  workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  globalSetup: './e2e/support/globalSetup.ts',
  use: {
    baseURL: process.env.E2E_BASE_URL,
    // The demo's store as apps/demo/lib/session.ts opens it, in this run's directory: the
    // `session` fixture reads and seeds exactly what the demo does.
    isosession: { dsn: 'driver:file;serializer:json;id:md5', dsnArgs: { Directory: process.env.E2E_DATA_DIR } },
    browserName: 'chromium',
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.E2E_CHROMIUM,
      ...(process.env.E2E_CHROMIUM_LIBS
        ? { env: { ...process.env, LD_LIBRARY_PATH: [process.env.E2E_CHROMIUM_LIBS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } }
        : {}),
      args: chromiumArgs,
    },
  },
  webServer: {
    command: 'npm run build -w @isosession/demo && npm run start -w @isosession/demo',
    url: `http://127.0.0.1:${port}/api/session/get`,
    reuseExistingServer: false,
    timeout: 300_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(port),
      DEMO_DATA_DIR: process.env.E2E_DATA_DIR,
      DEMO_DIST_DIR: process.env.DEMO_DIST_DIR,
      NEXT_TELEMETRY_DISABLED: '1',
    },
  },
});
