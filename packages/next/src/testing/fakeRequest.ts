import type { CookieJar, CookieToSet } from '../requestQuery.js';

// Stand-ins for what next/headers hands a request: the incoming headers and the cookie jar,
// sealed (a server component: set/delete are one throwing function, as in Next.js) or
// writable (a server action or route handler).

export interface FakeRequest {
  headers: Headers;
  jar: CookieJar & { written: CookieToSet[] };
}

function readOnly(): never {
  throw new Error('Cookies can only be modified in a Server Action or Route Handler.');
}

export function fakeRequest(options: { cookies?: Record<string, string>; headers?: Record<string, string>; writable: boolean }): FakeRequest {
  const values = new Map(Object.entries(options.cookies ?? {}));
  const written: CookieToSet[] = [];
  const set = options.writable
    ? (cookie: CookieToSet) => {
        written.push(cookie);
        if (cookie.maxAge === 0) values.delete(cookie.name);
        else values.set(cookie.name, cookie.value);
      }
    : readOnly;
  const jar = {
    written,
    get: (name: string) => (values.has(name) ? { name, value: values.get(name) as string } : undefined),
    getAll: () => [...values].map(([name, value]) => ({ name, value })),
    set,
    delete: options.writable ? (name: string) => values.delete(name) : readOnly,
  } as CookieJar & { written: CookieToSet[] };
  const headers = new Headers({ host: 'shop.test', 'x-forwarded-proto': 'http', ...options.headers });
  return { headers, jar };
}
