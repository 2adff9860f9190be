import { Session } from '../index.js';
import { runConcurrencyTask } from './concurrencyTasks.js';
import type { ConcurrencyTask } from './concurrencyTasks.js';

// A child process of the concurrency contract: runs one task given as JSON in argv[2], then
// exits 0; any failure goes to stderr with exit code 1 (the parent shows it).
const task = JSON.parse(process.argv[2] ?? '') as ConcurrencyTask;
try {
  await runConcurrencyTask(task);
  await Session.closeAll();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
