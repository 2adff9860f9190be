import express from 'express';
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, PeerApp } from './app.js';
import type { Workload } from './catalog.js';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** What a workload does with the request once the session middleware ran; returns the body. */
export type ExpressWork = Record<Workload, (req: Request) => string>;

/**
 * One Express 5 app serving /counter, /create and /read behind `middleware` (none for the
 * Express floor), answering with `res.send` as an Express application does. Every workload's
 * handler is the app itself: the route is picked by Express from the URL.
 */
export function expressFrameworkApp(middleware: Middleware | undefined, work: ExpressWork, close: () => Promise<void>): PeerApp {
  const app = express();
  if (middleware) app.use(middleware);
  for (const workload of Object.keys(work) as Workload[]) {
    app.get(`/${workload}`, (req: Request, res: Response) => {
      res.type('text/plain').send(work[workload](req));
    });
  }
  const handler = app as unknown as Handler;
  return { handlers: { counter: handler, create: handler, read: handler }, close };
}

/** The Express floor: the same app with no session at all. */
export function expressOnlyApp(): PeerApp {
  const one = () => '1';
  return expressFrameworkApp(undefined, { counter: one, create: one, read: one }, async () => {});
}
