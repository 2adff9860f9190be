import { afterEach, expect } from 'vitest';
import { capturedWarnings } from '@isosession/test-support/capturedWarnings';

// Expected noise stays out of `npm test`'s output. isosession's own warnings (ISOSESSION_*
// codes) are captured instead of printed: a test that provokes one takes it and asserts on it
// (takeWarnings), or listens for 'warning' itself; whatever is left at the end of a test was
// not expected and is printed then, as Node would have. Every other warning prints as usual.
const isNodePrinter = (listener: (...args: never[]) => unknown) => listener.name === 'onWarning';
const [nodePrinter] = process.listeners('warning').filter(isNodePrinter);
if (nodePrinter) {
  process.off('warning', nodePrinter);
  process.on('warning', function captureIsosessionWarnings(warning: Error & { code?: string }) {
    if (!warning.code?.startsWith('ISOSESSION_')) return nodePrinter(warning);
    // A test listening for warnings itself is asserting on this one.
    if (process.listenerCount('warning') > 1) return;
    // Once per process: several suites store through the legacy "storable" alias on purpose
    // (serializers/v8.test.ts asserts the warning itself).
    if (warning.code === 'ISOSESSION_SERIALIZER_STORABLE') return;
    capturedWarnings().push({ code: warning.code, name: warning.name, message: warning.message });
  });
  afterEach(() => {
    for (const warning of capturedWarnings().splice(0)) {
      process.stderr.write(`unexpected warning in "${expect.getState().currentTestName ?? 'setup'}": [${warning.code}] ${warning.name}: ${warning.message}\n`);
    }
  });
}
