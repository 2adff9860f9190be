import { defineConfig } from 'vitest/config';

// `npm run test:reliability`: the reliability and security battery . Files run one at
// a time: the load and fault scenarios measure a server process and must not compete with
// each other for the machine's cores. Durations scale with ISOSESSION_RELIABILITY_SCALE.
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  resolve: { conditions: ['@isosession/source'] },
  ssr: { resolve: { conditions: ['@isosession/source'] } },
  test: {
    include: ['reliability/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['./vitest.setup.ts'],
    fileParallelism: false,
  },
});
