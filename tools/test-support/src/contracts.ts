// The packages' own test contracts and fixtures, for the reliability battery and the
// benchmarks: they live beside the code they test (each package runs them over its drivers
// and buses), and this is the one place outside those packages that reaches into them.
export { runDriverContract } from '../../../packages/server/src/testing/driverContract.js';
export { runConcurrencyContract } from '../../../packages/server/src/testing/concurrencyContract.js';
export { collector, isResync, runSessionBusContract } from '../../../packages/trpc/src/testing/busContract.js';
export { PRIVATE, createTestRouter, tempStore } from '../../../packages/trpc/src/testing/testRouter.js';
