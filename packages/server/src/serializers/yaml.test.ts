import { describe, expect, it } from 'vitest';
import { yamlSerializer } from './yaml.js';

describe('yaml serializer', () => {
  it('a stored document with a code-constructing tag reads as plain data and makes the process print nothing', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    try {
      const data = yamlSerializer.thaw("_SESSION_ID: abc\nrun: !!js/function 'function () { return 1 }'\n") as Record<string, unknown>;
      expect(data).toEqual({ _SESSION_ID: 'abc', run: 'function () { return 1 }' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', listen);
    }
  });
});
