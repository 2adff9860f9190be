import { describe, expect, it } from 'vitest';
import { jsonSerializer } from './json.js';

describe('json serializer: "__proto__" keys in stored text', () => {
  const forms = [
    ['written plainly', '{"a":1,"__proto__":{"polluted":"yes"},"nested":{"__proto__":{"x":1},"ok":1}}'],
    ['spelled with \\u escapes', '{"a":1,"\\u005f_proto__":{"polluted":"yes"},"nested":{"__\\u0070roto__":{"x":1},"ok":1}}'],
  ] as const;

  for (const [how, text] of forms) {
    it(`are dropped when ${how}, at every depth; the rest is kept`, () => {
      const table = jsonSerializer.thaw(text) as Record<string, unknown>;
      expect(Object.hasOwn(table, '__proto__')).toBe(false);
      expect(Object.hasOwn(table.nested as object, '__proto__')).toBe(false);
      expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
      expect(table.a).toBe(1);
      expect((table.nested as Record<string, unknown>).ok).toBe(1);
    });
  }

  it('text without them parses as it was written (bytes too)', () => {
    const data = { _SESSION_ID: 'x', list: [1, 'two', null], deep: { a: { b: true } }, text: 'héllo ✓' };
    const text = jsonSerializer.freeze(data) as string;
    expect(jsonSerializer.thaw(text)).toEqual(data);
    expect(jsonSerializer.thaw(new TextEncoder().encode(text))).toEqual(data);
  });
});
