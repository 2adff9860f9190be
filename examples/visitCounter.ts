// `npm run example:visits`: a plain Node http server (no framework) on 127.0.0.1:3000 that
// counts visits per session on the default file store, the seed's synopsis in TypeScript.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Session } from '@isosession/server';

const directory = join(process.cwd(), '.data', 'sessions');
const port = Number(process.env.PORT ?? 3000);

const server = createServer(async (req, res) => {
  try {
    const session = await Session.new(null, req, { Directory: directory });
    if (req.url === '/logout') session.delete();
    else {
      session.param('visits', ((session.param('visits') as number | undefined) ?? 0) + 1);
      session.expire('+1h');
    }
    const headers = session.header();
    const body = session.isEmpty()
      ? '<p>Logged out. <a href="/">Start again</a></p>'
      : `<p>Session <code>${session.id()}</code>: visit number ${String(session.param('visits'))}.</p><p><a href="/">Again</a> · <a href="/logout">Log out</a></p>`;
    await session.flush();
    res.writeHead(200, Object.fromEntries([...headers.entries()].filter(([name]) => name !== 'set-cookie')));
    res.setHeader('Set-Cookie', headers.getSetCookie());
    res.end(`<!doctype html><title>isosession demo</title>${body}`);
  } catch (error) {
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    res.end(`session store error: ${(error as Error).message}\n`);
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`isosession demo: http://127.0.0.1:${port}/ (sessions in ${directory})\n`);
});
