import { spawnSync } from 'node:child_process';

/**
 * Whether tests that start their own Redis processes (cluster, Sentinel) can run: they need
 * `redis-server` and `redis-cli` on PATH. In CI (`CI=true`) a missing binary is a failure,
 * never a silent skip; elsewhere the tests skip with one line saying what to install.
 */
export function redisServerInstalled(what: string): boolean {
  const missing = ['redis-server', 'redis-cli'].filter((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return true;
  const how = `install ${missing.join(' and ')} (Debian: apt-get install redis-server)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${what} needs ${missing.join(' and ')}: ${how}`);
  process.stderr.write(`isosession tests: skipping ${what}: ${how}\n`);
  return false;
}
