import { Session } from '@isosession/server';

// A child process of the incr multi-process test (S82): waits for "go" so that every child
// starts at once, then makes `count` new sessions with id:incr on the shared IDFile and sends
// their ids back.
const { IDFile, IDInit, IDIncr, count } = JSON.parse(process.argv[2] ?? '') as {
  IDFile: string;
  IDInit: number;
  IDIncr: number;
  count: number;
};

process.on('message', async (message) => {
  if (message !== 'go') return;
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const session = await Session.new('driver:memory;id:incr', null, { IDFile, IDInit, IDIncr, Namespace: 'incr-worker' });
      ids.push(session.id()!);
    }
    process.send!({ ids }, () => process.exit(0));
  } catch (error) {
    process.send!({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1));
  }
});
process.send!('ready');
