import { Agent, request } from 'node:http';

export type OpKind = 'set' | 'clear' | 'expire';
/** acked: 200; refused: 503 (the clear "store unavailable" answer); failed: any other status; unknown: no answer. */
export type Outcome = 'acked' | 'refused' | 'failed' | 'unknown';

export interface OpRecord {
  kind: OpKind;
  value: number;
  outcome: Outcome;
}

/** One param and the ops its single writer (one client) sent, in order. */
export interface ParamHistory {
  cookie: string;
  name: string;
  ops: OpRecord[];
}

export interface LoadOptions {
  /** Where the app is now (a restarted app may listen elsewhere). */
  base: () => string;
  /** Cookie header values of existing sessions; clients share them round robin. */
  cookies: string[];
  clients: number;
  durationMs: number;
  /** Params each client owns (nobody else writes them). @default 2 */
  paramsPerClient?: number;
  /** Relative weights of the op kinds. @default { set: 1 } */
  mix?: Partial<Record<OpKind, number>>;
  /** Labels each answer (e.g. 'before' / 'outage' / 'after') for the per-phase counts. */
  phase?: () => string;
  /** Prefix of the param names, so that two loads on one session never share a param. @default 'p' */
  label?: string;
  /**
   * Keep-alive connections (default). Off: a new connection per request, so a round-robin
   * TCP proxy in front of several app servers spreads every request, not every client.
   * @default true
   */
  keepAlive?: boolean;
  /** Ends the load early (checked before each request): for scenarios whose length is an event's. */
  stopped?: () => boolean;
  /** Kept up to date: how many requests are waiting for an answer right now. */
  live?: { inFlight: number };
}

export interface LoadReport {
  params: ParamHistory[];
  /** phase → status ("200", "503", "network", ...) → count. */
  counts: Record<string, Record<string, number>>;
  /** [ms since start, status or 0 for no answer] per answer, in completion order. */
  timeline: [number, number][];
  acked: number;
}

export interface HttpAnswer {
  status: number;
  body: string;
  setCookie: string[];
}

/** GET over a keep-alive agent; rejects on a socket error or after 15 s without an answer. */
export function httpGet(agent: Agent, url: string, cookie?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: cookie === undefined ? headers : { ...headers, cookie } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer within 15 s from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Creates `count` sessions through /new; returns their Cookie header values. */
export async function newSessions(base: string, count: number, query = ''): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    return await Promise.all(Array.from({ length: count }, async () => {
      const answer = await httpGet(agent, `${base}/new${query}`);
      const cookie = answer.setCookie[0]?.split(';')[0];
      if (answer.status !== 200 || !cookie) throw new Error(`/new answered ${answer.status} without a cookie: ${answer.body}`);
      return cookie;
    }));
  } finally {
    agent.destroy();
  }
}

function pick(mix: Partial<Record<OpKind, number>>): OpKind {
  const entries = Object.entries(mix) as [OpKind, number][];
  let roll = Math.random() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [kind, weight] of entries) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return entries[0]![0];
}

/**
 * `clients` concurrent clients, each sending its ops one after another on its own params of a
 * shared session, until `durationMs` has passed. Every op's outcome is kept for `verify`.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const agent = new Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.clients });
  const mix = options.mix ?? { set: 1 };
  const perClient = options.paramsPerClient ?? 2;
  const params: ParamHistory[] = [];
  const counts: Record<string, Record<string, number>> = {};
  const timeline: [number, number][] = [];
  const started = Date.now();
  const deadline = started + options.durationMs;
  let sequence = 0;
  let acked = 0;
  const count = (status: string) => {
    const phase = options.phase?.() ?? 'all';
    const bucket = (counts[phase] ??= {});
    bucket[status] = (bucket[status] ?? 0) + 1;
  };

  await Promise.all(Array.from({ length: options.clients }, async (_, client) => {
    const cookie = options.cookies[client % options.cookies.length]!;
    const mine = Array.from({ length: perClient }, (_, k) => {
      const history: ParamHistory = { cookie, name: `${options.label ?? 'p'}${client}_${k}`, ops: [] };
      params.push(history);
      return history;
    });
    while (Date.now() < deadline && !options.stopped?.()) {
      const history = mine[Math.floor(Math.random() * mine.length)]!;
      const kind = pick(mix);
      const value = kind === 'expire' ? 3600 + ++sequence : ++sequence;
      const op: OpRecord = { kind, value, outcome: 'unknown' };
      history.ops.push(op);
      if (options.live) options.live.inFlight++;
      try {
        const answer = await httpGet(agent, `${options.base()}/op?kind=${kind}&name=${history.name}&value=${value}`, cookie);
        op.outcome = answer.status === 200 ? 'acked' : answer.status === 503 ? 'refused' : 'failed';
        if (op.outcome === 'acked') acked++;
        count(String(answer.status));
        timeline.push([Date.now() - started, answer.status]);
      } catch {
        count('network');
        timeline.push([Date.now() - started, 0]);
        // The server is gone (killed, restarting): do not spin on connection refusals.
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        if (options.live) options.live.inFlight--;
      }
    }
  }));
  agent.destroy();
  return { params, counts, timeline, acked };
}

export interface Dump {
  params: Record<string, unknown>;
  expires: Record<string, number>;
}

/** Each session's /dump (its params and per-param expiries) by cookie. */
export async function dumpSessions(base: string, cookies: string[]): Promise<Map<string, Dump>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const dumps = await Promise.all(cookies.map(async (cookie) => {
      let answer = await httpGet(agent, `${base}/dump`, cookie);
      // A store that is still coming back answers 503 for a moment: ask again, never misread it.
      for (let attempt = 0; answer.status === 503 && attempt < 50; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await httpGet(agent, `${base}/dump`, cookie);
      }
      const dump = JSON.parse(answer.body) as Dump & { isNew: boolean };
      if (answer.status !== 200 || dump.isNew) throw new Error(`/dump of ${cookie}: ${answer.status} ${answer.body.slice(0, 200)} (the session is gone)`);
      return [cookie, dump] as const;
    }));
    return new Map(dumps);
  } finally {
    agent.destroy();
  }
}

export interface Loss {
  cookie: string;
  name: string;
  dimension: 'value' | 'expiry';
  observed: unknown;
  lastAcked: unknown;
}

export interface Verdict {
  /** Params checked (each has one writer). */
  checked: number;
  /** Params whose stored state lost an acknowledged op (neither it nor a later op of its writer is there). */
  lost: Loss[];
  lossRate: number;
}

/**
 * What the store must hold for each param: the effect of its writer's last acknowledged op,
 * or of one of the ops it sent after that without an acknowledgement (those may or may not
 * have landed). Anything else is a lost update. Values and per-param expiries are separate.
 */
export function verify(params: ParamHistory[], dumps: Map<string, Dump>): Verdict {
  const lost: Loss[] = [];
  for (const history of params) {
    const dump = dumps.get(history.cookie);
    if (!dump) throw new Error(`no dump for ${history.cookie}`);
    const dimensions = [
      { dimension: 'value' as const, kinds: ['set', 'clear'], observed: dump.params[history.name], effect: (op: OpRecord) => (op.kind === 'set' ? op.value : undefined) },
      { dimension: 'expiry' as const, kinds: ['expire'], observed: dump.expires[history.name], effect: (op: OpRecord) => op.value },
    ];
    for (const { dimension, kinds, observed, effect } of dimensions) {
      const ops = history.ops.filter((op) => kinds.includes(op.kind));
      let last = -1;
      ops.forEach((op, index) => {
        if (op.outcome === 'acked') last = index;
      });
      const lastAcked = last === -1 ? undefined : effect(ops[last]!);
      const allowed = [lastAcked, ...ops.slice(last + 1).filter((op) => op.outcome !== 'acked').map(effect)];
      if (!allowed.includes(observed as number | undefined)) lost.push({ cookie: history.cookie, name: history.name, dimension, observed, lastAcked });
    }
  }
  return { checked: params.length, lost, lossRate: params.length === 0 ? 0 : new Set(lost.map((loss) => `${loss.cookie}/${loss.name}`)).size / params.length };
}

/** Time from `from` (ms since start) to the first 200 after it, from a load's timeline. */
export function recoveryMs(timeline: [number, number][], from: number): number | undefined {
  const first = timeline.filter(([at, status]) => at >= from && status === 200).map(([at]) => at).sort((a, b) => a - b)[0];
  return first === undefined ? undefined : first - from;
}
