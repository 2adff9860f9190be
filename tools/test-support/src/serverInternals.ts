import { fileURLToPath } from 'node:url';

// What the benchmarks and the reliability battery use of the server package that is not its
// public API: building a driver or serializer by its DSN name without a Session, the id
// generators themselves, the bus's channel hash, the CLI run from source. Named here once.
export { getDriverFactory, getSerializer } from '../../../packages/server/src/registry.js';
export { md5IdGenerator } from '../../../packages/server/src/ids/md5.js';
export { uuidIdGenerator } from '../../../packages/server/src/ids/uuid.js';
export { sessionIdHash } from '../../../packages/trpc/src/sessionBusHub.js';

/** The `isosession` CLI's TypeScript entry point (run with `node --import tsx`). */
export const cliSource = fileURLToPath(new URL('../../../packages/server/src/cli/isosession.ts', import.meta.url));
