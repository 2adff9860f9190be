/**
 * A fetch with one browser's cookie jar (name → value; attributes ignored, which is what a
 * same-origin test needs): sends the jar, stores every Set-Cookie of every response.
 * `bodies` records response texts so tests can assert what never leaves the server.
 */
export function createCookieFetch(base: typeof fetch = globalThis.fetch) {
  const jar = new Map<string, string>();
  const bodies: string[] = [];
  const setCookies: string[] = [];
  const cookieFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await base(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) bodies.push(await response.clone().text());
    return response;
  }) as typeof fetch;
  return { fetch: cookieFetch, jar, bodies, setCookies };
}
