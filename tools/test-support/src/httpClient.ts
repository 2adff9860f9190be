import { request as httpRequest } from 'node:http';
import { parseSetCookie } from 'cookie';
import type { SetCookie } from 'cookie';

export interface CallOptions {
  /** Cookie header to send. */
  cookie?: string;
  headers?: Record<string, string>;
  /** Source address to bind the client to (127.0.0.2 for a second client); uses node:http. */
  localAddress?: string;
  /** @default 'GET' */
  method?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: string;
  json<T = Record<string, unknown>>(): T;
  /** The parsed Set-Cookie for `name`, if the response set one. */
  cookie(name?: string): SetCookie | undefined;
}

function result(status: number, headers: Headers, body: string): CallResult {
  const setCookies = headers.getSetCookie();
  return {
    status,
    headers,
    setCookies,
    body,
    json: <T>() => JSON.parse(body) as T,
    cookie: (name = 'CGISESSID') => setCookies.map((value) => parseSetCookie(value)).find((parsed) => parsed.name === name),
  };
}

/** Requests `url` (GET unless `method`) with fetch, or with node:http when a source address is given. */
export async function call(url: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.localAddress === undefined) {
    const response = await fetch(url, { method: options.method ?? 'GET', headers, redirect: 'manual' });
    return result(response.status, response.headers, await response.text());
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers, localAddress: options.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) out.append(name, item);
        }
        resolve(result(res.statusCode ?? 0, out, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
