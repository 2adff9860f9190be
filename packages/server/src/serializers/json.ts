import type { RawSession, Serializer } from '../types.js';
import { toText } from './toText.js';

/** JSON: the default. `__proto__` keys in stored data become plain own data, never a prototype. */
export const jsonSerializer: Serializer = {
  freeze(data) {
    return JSON.stringify(data);
  },
  thaw(raw: RawSession) {
    const text = toText(raw);
    // A reviver makes JSON.parse several times slower (it was half the CPU of a load + flush),
    // and only text that can spell "__proto__" needs it: literally, or through \u escapes.
    return (text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text)) as object;
  },
};

// JSON.parse makes "__proto__" an own property, which a later `Object.assign` or spread would
// turn into a prototype change; dropping it here keeps stored data from polluting anything.
function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}
