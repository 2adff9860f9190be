import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript source through the custom
// "@isosession/source" export condition, so tests need no build step.
export default defineConfig({
  resolve: { conditions: ['@isosession/source'] },
  ssr: { resolve: { conditions: ['@isosession/source'] } },
  test: {
    include: ['e2e/support/*.test.ts', 'scripts/*.test.ts', 'examples/*.test.ts', 'packages/*/src/**/*.test.ts', 'packages/*/src/**/*.test.tsx', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['./vitest.setup.ts'],
    // Type tests (*.test-d.ts, expectTypeOf) run with every `vitest run`, checked by tsc
    // against tsconfig.typecheck.json (only those files and what they import).
    typecheck: {
      enabled: true,
      include: ['packages/*/src/**/*.test-d.ts', 'packages/*/typetests/**/*.test-d.ts'],
      tsconfig: './tsconfig.typecheck.json',
    },
  },
});
