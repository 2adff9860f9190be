import { describe, expect, it } from 'vitest';
import { resolveChromium, type ResolveChromiumOptions } from './resolveChromium.js';

function options(over: Partial<ResolveChromiumOptions> & { files?: string[] }): ResolveChromiumOptions {
  const files = new Set(over.files ?? []);
  return {
    env: {},
    playwrightPath: () => '/pw/chromium-1/chrome',
    unpackNpmChromium: () => { throw new Error('Cannot find package @sparticuz/chromium'); },
    isExecutable: (f: string) => files.has(f),
    platform: 'linux',
    arch: 'x64',
    ...over,
  };
}

describe('resolveChromium', () => {
  it('takes CHROMIUM_PATH first', () => {
    const r = resolveChromium(options({ env: { CHROMIUM_PATH: '/opt/c' }, files: ['/opt/c', '/pw/chromium-1/chrome', '/usr/bin/chromium'] }));
    expect(r).toMatchObject({ source: 'env', executablePath: '/opt/c' });
  });
  it('refuses a CHROMIUM_PATH that is not there instead of falling back', () => {
    expect(() => resolveChromium(options({ env: { CHROMIUM_PATH: '/nope' }, files: ['/usr/bin/chromium'] }))).toThrow(/CHROMIUM_PATH is set to "\/nope"/);
  });
  it('then Playwright\'s installed browser, then the system one', () => {
    expect(resolveChromium(options({ files: ['/pw/chromium-1/chrome', '/usr/bin/chromium'] })).source).toBe('playwright');
    expect(resolveChromium(options({ files: ['/usr/bin/chromium'] }))).toMatchObject({ source: 'system', executablePath: '/usr/bin/chromium' });
    expect(resolveChromium(options({ env: { PATH: '/x/bin' }, files: ['/x/bin/google-chrome'] })).executablePath).toBe('/x/bin/google-chrome');
  });
  it('falls back to the npm-shipped Chromium on Linux', () => {
    const r = resolveChromium(options({ unpackNpmChromium: () => '/tmp/chromium' }));
    expect(r).toMatchObject({ source: 'npm', executablePath: '/tmp/chromium' });
  });
  it('E2E_BROWSER_SKIP leaves sources out', () => {
    const r = resolveChromium(options({ env: { E2E_BROWSER_SKIP: 'playwright,system' }, files: ['/pw/chromium-1/chrome', '/usr/bin/chromium'], unpackNpmChromium: () => '/tmp/chromium' }));
    expect(r.source).toBe('npm');
    expect(() => resolveChromium(options({ env: { E2E_BROWSER_SKIP: 'sytem' } }))).toThrow(/unknown source "sytem"/);
  });
  it('with none, one error that lists what was tried and how to get a browser', () => {
    const run = () => resolveChromium(options({ platform: 'darwin', arch: 'arm64' }));
    expect(run).toThrow(/No Chromium found/);
    expect(run).toThrow(/Linux x64\/arm64 builds only \(this is darwin arm64\)/);
    expect(run).toThrow(/npx playwright install chromium/);
  });
  it('says why the npm browser could not be unpacked', () => {
    expect(() => resolveChromium(options({}))).toThrow(/@sparticuz\/chromium: Cannot find package/);
  });
});
