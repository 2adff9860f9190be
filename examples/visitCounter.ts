// `npm run example:visits`: a plain Node http server (no framework) that counts visits per
// session on the default file store, CGI::Session's synopsis in TypeScript. withNodeSession saves
// the session and sets its cookie before the response leaves, so every visit is counted.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { withNodeSession } from '@isosession/server/node';

const directory = join(process.cwd(), '.data', 'sessions');
// Not 3000: that is the demo shop's port.
const port = Number(process.env.PORT ?? 8080);

const server = createServer(withNodeSession(async (req, res, session) => {
  const loggingOut = req.url === '/logout';
  // delete() marks the session; the adapter removes it, and clears the cookie, before responding.
  if (loggingOut) session.delete();
  else {
    session.param('visits', ((session.param('visits') as number | undefined) ?? 0) + 1);
    session.expire('+1h');
  }
  const body = loggingOut
    ? '<p>Logged out. <a href="/">Start again</a></p>'
    : `<p>Session <code>${session.id()}</code>: visit number ${String(session.param('visits'))}.</p><p><a href="/">Again</a> · <a href="/logout">Log out</a></p>`;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>isosession visits</title>${body}`);
}, { dsnArgs: { Directory: directory } }));

server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as { port: number };
  process.stdout.write(`isosession visits: http://127.0.0.1:${bound}/ (sessions in ${directory})\n`);
});
