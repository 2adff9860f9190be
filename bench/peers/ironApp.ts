import { getIronSession } from 'iron-session';
import { failed, reply, SECRET } from './app.js';
import type { Handler, PeerApp } from './app.js';

interface Data {
  n?: number;
}

/** iron-session 8: the whole session sealed into the cookie; nothing is stored server-side. */
export function ironApp(): PeerApp {
  const options = { password: `${SECRET}-iron-session-password`, cookieName: 'iron' };
  const route = (work: (data: Data & { save(): Promise<void> }) => Promise<string>): Handler => (req, res) => {
    getIronSession<Data>(req, res, options)
      .then(work)
      .then((body) => reply(res, body), (error: unknown) => failed(res, error));
  };
  return {
    handlers: {
      counter: route(async (data) => {
        data.n = (data.n ?? 0) + 1;
        await data.save();
        return String(data.n);
      }),
      create: route(async (data) => {
        data.n = 1;
        await data.save();
        return '1';
      }),
      read: route(async (data) => String(data.n ?? 0)),
    },
    close: async () => {},
  };
}
