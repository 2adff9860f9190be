/** A cookie as Playwright's `context.addCookies` takes it (with `url` or `domain` + `path`). */
export interface PlaywrightCookie {
  name: string;
  value: string;
  url?: string;
  domain?: string;
  path?: string;
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

const SAME_SITE: Record<string, PlaywrightCookie['sameSite']> = { strict: 'Strict', lax: 'Lax', none: 'None' };

/**
 * Turns the Set-Cookie value the server would send (`session.cookie()`) into the cookie the
 * browser would keep for `baseURL`, so the test's cookie has the app's name, value (signed when
 * the app signs), domain, path and flags.
 */
export function parseSetCookie(header: string, baseURL: string, nowMs: number): PlaywrightCookie {
  const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const cookie: PlaywrightCookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  let domain: string | undefined;
  let cookiePath = '/';
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at === -1 ? attribute : attribute.slice(0, at)).toLowerCase();
    const value = at === -1 ? '' : attribute.slice(at + 1);
    if (key === 'domain') domain = value.replace(/^\./, '');
    else if (key === 'path') cookiePath = value;
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'samesite') cookie.sameSite = SAME_SITE[value.toLowerCase()];
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    else if (key === 'max-age') cookie.expires = Math.floor(nowMs / 1000) + Number(value);
    else if (key === 'expires' && cookie.expires === undefined) cookie.expires = Math.floor(Date.parse(value) / 1000);
  }
  cookie.domain = domain ?? new URL(baseURL).hostname;
  cookie.path = cookiePath;
  return cookie;
}
