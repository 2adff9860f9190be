import { createConnection } from 'node:net';

/** Where the real services are; override for a machine that has them elsewhere. */
export const SERVICE_URLS = {
  postgresql: process.env.ISOSESSION_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.ISOSESSION_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  redis: process.env.ISOSESSION_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;

export type ServiceName = keyof typeof SERVICE_URLS;

const ENV_NAMES: Record<ServiceName, string> = {
  postgresql: 'ISOSESSION_PG_URL',
  mysql: 'ISOSESSION_MYSQL_URL',
  redis: 'ISOSESSION_REDIS_URL',
};

function reachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether tests of `service` should run. In CI (`CI=true`) an unreachable service is a
 * failure, never a silent skip; elsewhere the tests skip with one line saying how to enable
 * them. Use at the top of a test file: `describe.runIf(await serviceAvailable('redis'))(...)`.
 */
export async function serviceAvailable(service: ServiceName): Promise<boolean> {
  const url = SERVICE_URLS[service];
  if (await reachable(url)) return true;
  const how = `start ${service} at ${url}, or point ${ENV_NAMES[service]} at one`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI: ${service} is required but not reachable at ${url} (${how})`);
  }
  process.stderr.write(`isosession tests: skipping ${service} tests: not reachable (${how})\n`);
  return false;
}
