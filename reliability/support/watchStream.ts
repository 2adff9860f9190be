import { Agent, request } from 'node:http';
import type { ClientRequest } from 'node:http';

/** What a `watch` stream delivered: the session's params, and when it arrived (Date.now()). */
export interface WatchEvent {
  params: Record<string, unknown>;
  version: number;
  at: number;
}

export interface WatchStream {
  events: WatchEvent[];
  /** Resolves with the first event from index `from` on that matches, or rejects after `timeoutMs`. */
  until(match: (event: WatchEvent) => boolean, timeoutMs: number, from?: number): Promise<WatchEvent>;
  close(): void;
}

/** Opens the session router's `watch` (server-sent events) at `base` for the session in `cookie`. */
export function openWatch(base: string, cookie: string): Promise<WatchStream> {
  const events: WatchEvent[] = [];
  let wake: (() => void) | undefined;
  let req: ClientRequest | undefined;
  return new Promise((resolve, reject) => {
    req = request(`${base}/trpc/watch`, { agent: new Agent({ keepAlive: false }), headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch at ${base} answered ${res.statusCode}`));
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (!data || block.includes('event: connected')) continue;
          const parsed = JSON.parse(data.slice(6)) as { json?: { params?: Record<string, unknown>; version?: number } };
          if (parsed.json?.params) events.push({ params: parsed.json.params, version: parsed.json.version ?? 0, at: Date.now() });
          wake?.();
        }
      });
      res.on('error', () => {});
      resolve({
        events,
        async until(match, timeoutMs, from = 0) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = events.slice(from).find(match);
            if (found) return found;
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`watch at ${base}: no matching event within ${timeoutMs} ms; last ${JSON.stringify(events.at(-1))}`);
            await new Promise<void>((done) => {
              const timer = setTimeout(done, left);
              wake = () => {
                clearTimeout(timer);
                done();
              };
            });
            wake = undefined;
          }
        },
        close: () => req?.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
