import superjson from 'superjson';

// superjson (the router's wire format) refuses these own keys anywhere in a value, as a
// prototype-pollution risk: one of them in a stored param would fail every answer.
const REFUSED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The path of the first key the wire format refuses inside `value`, or undefined when there
 * is none. A walk, not a trial serialization: it runs for every param of every answer.
 */
export function refusedKeyPath(value: unknown, seen = new Set<object>()): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = refusedKeyPath(value[i], seen);
      if (inner) return [i, ...inner];
    }
    return undefined;
  }
  if (value instanceof Map || value instanceof Set) {
    let index = 0;
    for (const item of value.values()) {
      const inner = refusedKeyPath(item, seen);
      if (inner) return [index, ...inner];
      index++;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string') continue;
    if (REFUSED_KEYS.has(key)) return [key];
    const inner = refusedKeyPath((value as Record<string, unknown>)[key], seen);
    if (inner) return [key, ...inner];
  }
  return undefined;
}

/**
 * Why `value` cannot be sent to the browser, with where, or undefined when it can. Used at
 * `set`, where a trial serialization also catches what the walk does not know of.
 */
export function unsendableReason(value: unknown): { message: string; path?: (string | number)[] } | undefined {
  const path = refusedKeyPath(value);
  if (path) return { message: `the key "${String(path.at(-1))}" cannot be sent to the browser (the wire format refuses it as a prototype-pollution risk)`, path };
  try {
    superjson.serialize(value);
  } catch (error) {
    return { message: `the value cannot be sent to the browser: ${error instanceof Error ? error.message : String(error)}` };
  }
  return undefined;
}
