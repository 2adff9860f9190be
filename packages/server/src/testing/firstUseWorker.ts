import { Session } from '../index.js';
import type { DsnArgs } from '../types.js';

// A child process of the SQL drivers' first-use test: loads the client library, says
// "ready", waits for "go" on stdin (so that every child starts at once), then creates and
// flushes one session on a table nobody has created yet.
const task = JSON.parse(process.argv[2] ?? '') as { dsn: string; dsnArgs: DsnArgs; preload?: string; worker: number };
try {
  if (task.preload) await import(task.preload);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const session = await Session.new(task.dsn, null, task.dsnArgs);
  session.param('worker', task.worker);
  await session.flush();
  await Session.closeAll();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
