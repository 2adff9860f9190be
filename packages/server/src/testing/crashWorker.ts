import { Session } from '../index.js';
import { CRASH_SESSION_PARAMS, crashParams } from './crashParams.js';

// A child process of the file driver's crash test: rewrites one large session in a loop until
// it is killed, saying on stdout which generation it is flushing and which it has flushed.
const { dsnArgs, id } = JSON.parse(process.argv[2] ?? '') as { dsnArgs: Record<string, unknown>; id: string };
try {
  const session = await Session.load('driver:file', id, dsnArgs, CRASH_SESSION_PARAMS);
  if (session.isEmpty()) throw new Error(`session ${id} is not stored`);
  for (;;) {
    const generation = (session.param('generation') as number) + 1;
    session.param(crashParams(generation));
    process.stdout.write(`flushing ${generation}\n`);
    await session.flush();
    process.stdout.write(`flushed ${generation}\n`);
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
