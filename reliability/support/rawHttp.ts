import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  body: string;
  setCookie: string[];
  /** `name=value` of the first Set-Cookie named `name`, if any. */
  cookie(name: string): string | undefined;
}

/** One request over node:http, with any headers (Origin, Host, Cookie) and a source address. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; firstChunkOnly?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const finish = () => {
        const setCookie = res.headers['set-cookie'] ?? [];
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          setCookie,
          cookie: (name) => setCookie.map((value) => value.split(';')[0]!).find((pair) => pair.startsWith(`${name}=`)),
        });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // An event stream stays open: its first event is what is asked for.
        if (options.firstChunkOnly) {
          finish();
          res.destroy();
        }
      });
      res.on('error', () => undefined);
      res.on('end', finish);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer within 10 s from ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
