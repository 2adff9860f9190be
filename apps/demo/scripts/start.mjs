// `next start` in production mode on 127.0.0.1, printing the URL first (npm run demo).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '3000';
const next = createRequire(import.meta.url).resolve('next/dist/bin/next');

process.stdout.write(`\nisosession demo: http://${host}:${port}\n\n`);
const child = spawn(process.execPath, [next, 'start', '--hostname', host, '--port', port], {
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
