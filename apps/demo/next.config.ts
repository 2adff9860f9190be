import path from 'node:path';
import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Drivers load their clients lazily (await import('ioredis')), and the file driver's Compat
  // mode its native flock binding (fs-ext, a .node file webpack cannot parse): keep them out of the bundle.
  serverExternalPackages: ['ioredis', 'pg', 'mysql2', 'better-sqlite3', 'fs-ext'],
  outputFileTracingRoot: path.resolve(import.meta.dirname, '../..'),
  experimental: {
    // The workspace packages are TypeScript ESM: `import './Session.js'` means Session.ts.
    extensionAlias: { '.js': ['.ts', '.tsx', '.js'], '.mjs': ['.mts', '.mjs'] },
  },
  // Built with webpack (next build --webpack): Turbopack can be told neither to follow the
  // `@isosession/source` export condition nor to map `.js` imports to `.ts` sources
  // (vercel/next.js#82945), and the packages are used from source, with no build step.
  webpack(config: { resolve: { conditionNames?: string[] } }) {
    config.resolve.conditionNames = ['@isosession/source', ...(config.resolve.conditionNames ?? ['...'])];
    return config;
  },
  // The e2e tests build into their own directory, so they never rebuild under a running demo.
  distDir: process.env.DEMO_DIST_DIR ?? '.next',
  poweredByHeader: false,
  devIndicators: false,
};

export default nextConfig;
