import { createSessionTest } from '@isosession/playwright';

// The suite's `test`: Playwright's, plus the `session` fixture of @isosession/playwright, bound
// to the demo's store (configured in playwright.config.ts under `use.isosession`).
export const test = createSessionTest();
export { expect } from '@isosession/playwright';
