import { inspect, parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve as resolvePath } from 'node:path';
import { SessionError, isSessionError, parseDuration } from '@isosession/core';
import '../builtins.js';
import { hashId } from '../hashId.js';
import { closeAllDrivers } from '../registry.js';
import { storeCall } from '../storeCall.js';
import type { DsnArgs, MergeResult, StoredRecord } from '../types.js';
import { createProgress } from './progressBar.js';
import type { ProgressStream } from './progressBar.js';
import { printable, printableJson, printableStream } from './printable.js';
import { SHORT_ID_SUFFIX, redactTable, shortId, withoutFullId } from './redact.js';
import { decodeRecord, openStore } from './storeReader.js';
import type { Store, StoredSession } from './storeReader.js';
import { USAGE } from './usage.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

export const EXIT = { ok: 0, partial: 1, usage: 2, store: 3 } as const;

class UsageError extends Error {}

const OPTIONS = {
  dsn: { type: 'string' },
  args: { type: 'string' },
  directory: { type: 'string' },
  plugin: { type: 'string', multiple: true },
  'hash-ids': { type: 'boolean' },
  'max-age': { type: 'string' },
  json: { type: 'boolean' },
  expired: { type: 'boolean' },
  'older-than': { type: 'string' },
  purge: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'full-ids': { type: 'boolean' },
  'show-private': { type: 'boolean' },
  public: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

// Reads are issued this many at a time: a network store answers far faster in parallel.
const BATCH = 16;

function iso(seconds: number | undefined): string {
  return seconds === undefined ? '-' : new Date(seconds * 1000).toISOString();
}

function duration(option: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message.replace(/^isosession: /, '')}`);
  }
}

function dsnArgsOf(values: Values): DsnArgs {
  let args: DsnArgs = {};
  if (values.args !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.args);
    } catch (error) {
      throw new UsageError(`--args must be a JSON object (${(error as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--args must be a JSON object, e.g. \'{"Directory":"/tmp/sessions"}\'');
    args = parsed as DsnArgs;
  }
  if (values.directory !== undefined) args = { ...args, Directory: values.directory };
  return args;
}

/** JSON for stored values superjson/storable may hold (Map, Set, BigInt). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (item instanceof Map) return Object.fromEntries(item);
    if (item instanceof Set) return [...item];
    return item;
  });
}

/** A JSON line of output, non-printable characters escaped (it stays valid JSON). */
function jsonLine(value: unknown): string {
  return `${printableJson(toJson(value))}\n`;
}

/** An id as printed: shortened unless --full-ids (see shortId). */
function shown(key: string, values: Values): string {
  return values['full-ids'] ? key : shortId(key);
}

function describe(session: StoredSession, values: Values): Record<string, unknown> {
  return { id: shown(session.key, values), ctime: session.ctime, atime: session.atime, bytes: session.bytes, expiresAt: session.expiresAt ?? null, expired: session.expired };
}

function line(session: StoredSession, purged: boolean, values: Values): string {
  const state = session.expired ? 'expired' : session.expiresAt === undefined ? 'no-expiry' : `expires=${iso(session.expiresAt)}`;
  return `${printable(shown(session.key, values))}  atime=${iso(session.atime)}  ctime=${iso(session.ctime)}  bytes=${session.bytes}  ${state}${purged ? '  purged' : ''}\n`;
}

/** A failure message about `key`, safe to print: the id shortened (unless --full-ids) and escaped. */
function aboutKey(message: string, key: string, values: Values): string {
  return printable(withoutFullId(message.replace(/^isosession: /, ''), key, values['full-ids'] === true));
}

interface Walk {
  visited: number;
  failed: number;
}

/**
 * Visits every stored session in batches as the driver's walk yields them (never a list of
 * every id: a million sessions take the memory of one batch); unreadable ones are reported
 * and skipped. The progress bar's total comes from a first walk that only counts, made only
 * when the bar is shown.
 */
async function walk(store: Store, io: CliIo, values: Values, label: string, now: number, maxAge: number | undefined, visit: (session: StoredSession) => Promise<void>, onTombstone?: (tombstone: StoredSession) => Promise<void>): Promise<Walk> {
  let total = 0;
  if (io.stderr.isTTY) await storeCall(store.driverName, 'traverse', () => store.driver.traverse(() => { total += 1; }));
  const progress = createProgress(io.stderr, total, label);
  const result: Walk = { visited: 0, failed: 0 };
  const errors: string[] = [];
  const handle = async (batch: string[]) => {
    const read = await Promise.all(batch.map(async (key) => {
      try {
        const record = await storeCall(store.driverName, 'retrieve', () => store.driver.retrieve(key));
        return record === null ? null : decodeRecord(store, key, record, now, maxAge);
      } catch (error) {
        // A store that stopped answering ends the run; one bad record does not.
        if (isSessionError(error) && (error.code === 'STORE_UNAVAILABLE' || error.code === 'STORE_ERROR')) throw error;
        return error as Error;
      }
    }));
    for (const [index, item] of read.entries()) {
      progress.tick();
      if (item === null) continue; // removed since the traversal
      if (item instanceof Error) {
        result.failed += 1;
        const key = batch[index] as string;
        errors.push(`isosession: cannot read session ${printable(shown(key, values))}: ${aboutKey(item.message, key, values)}\n`);
        continue;
      }
      if (item.tombstone) {
        // A regenerated or deleted id's tombstone is not a session: never listed or counted.
        await onTombstone?.(item);
        continue;
      }
      result.visited += 1;
      await visit(item);
    }
  };
  let batch: string[] = [];
  let stopped: { error: unknown } | undefined;
  try {
    await storeCall(store.driverName, 'traverse', () => store.driver.traverse(async (key) => {
      batch.push(key);
      if (batch.length < BATCH) return;
      const full = batch;
      batch = [];
      try {
        await handle(full);
      } catch (error) {
        // Reported as it is (a retrieve's STORE_UNAVAILABLE, a closed stdout), not as "traverse failed".
        stopped = { error };
        throw error;
      }
    }));
    await handle(batch);
  } catch (error) {
    throw stopped ? stopped.error : error;
  } finally {
    progress.done();
  }
  for (const error of errors) io.stderr.write(error);
  return result;
}

/** Removes `key` if it still matches when re-read inside the driver's atomic update. */
async function purge(store: Store, key: string, stillMatches: (session: StoredSession) => boolean, now: number, maxAge: number | undefined): Promise<boolean> {
  let removed = false;
  const merge = (current: StoredRecord | null): MergeResult => {
    removed = false;
    if (current === null) return { action: 'keep' };
    if (!stillMatches(decodeRecord(store, key, current, now, maxAge))) return { action: 'keep' };
    removed = true;
    return { action: 'remove' };
  };
  await storeCall(store.driverName, 'purge', () => store.driver.update(key, merge));
  return removed;
}

async function findCommand(store: Store, values: Values, io: CliIo, now: number, maxAge: number | undefined): Promise<number> {
  const olderThan = values['older-than'] === undefined ? undefined : duration('--older-than', values['older-than']);
  if (values.purge && !values.expired && olderThan === undefined) {
    throw new UsageError('--purge needs --expired or --older-than (to remove every session: --older-than 0)');
  }
  const started = Date.now();
  // `--expired --purge -q` on a store with an index on expiry (sqlite, postgresql, mysql):
  // one DELETE through the index instead of loading every session, and nothing to list.
  // --max-age (judged on ctime, which the index does not hold) needs the walk.
  const purgeByIndex = (store.driver as { purgeExpired?: (now?: number) => Promise<number> }).purgeExpired;
  if (values.purge && values.expired && values.quiet && olderThan === undefined && maxAge === undefined && typeof purgeByIndex === 'function') {
    const purged = await storeCall(store.driverName, 'purgeExpired', () => purgeByIndex.call(store.driver, now));
    const seconds = (Date.now() - started) / 1000;
    io.stdout.write(values.json
      ? `${toJson({ type: 'summary', visited: purged, matched: purged, purged, failed: 0, seconds, via: 'expiry index' })}\n`
      : `isosession find: purged ${purged} expired sessions through the store's expiry index (${seconds.toFixed(1)} s)\n`);
    return EXIT.ok;
  }
  const matches = (session: StoredSession) =>
    (!values.expired || session.expired) && (olderThan === undefined || session.atime + olderThan <= now);
  let matched = 0;
  let purged = 0;
  const { visited, failed } = await walk(store, io, values, values.purge ? 'purging' : 'finding', now, maxAge, async (session) => {
    if (!matches(session)) return;
    matched += 1;
    let removed = false;
    if (values.purge) {
      removed = await purge(store, session.key, matches, now, maxAge);
      if (removed) purged += 1;
    }
    if (values.quiet) return;
    io.stdout.write(values.json ? jsonLine({ type: 'session', ...describe(session, values), purged: removed }) : line(session, removed, values));
  }, async (tombstone) => {
    // --purge removes tombstones past their grace period too, without reporting them.
    if (values.purge && tombstone.expired) await purge(store, tombstone.key, (current) => current.tombstone && current.expired, now, maxAge);
  });
  const seconds = (Date.now() - started) / 1000;
  const summary = { type: 'summary', visited, matched, purged, failed, seconds };
  io.stdout.write(values.json
    ? jsonLine(summary)
    : `isosession find: visited ${visited}, matched ${matched}, purged ${purged}, unreadable ${failed} (${seconds.toFixed(1)} s)\n`);
  return failed > 0 ? EXIT.partial : EXIT.ok;
}

async function statsCommand(store: Store, values: Values, io: CliIo, now: number, maxAge: number | undefined): Promise<number> {
  let bytes = 0;
  let expired = 0;
  let oldest: StoredSession | undefined;
  const { visited, failed } = await walk(store, io, values, 'counting', now, maxAge, async (session) => {
    bytes += session.bytes;
    if (session.expired) expired += 1;
    if (!oldest || session.ctime < oldest.ctime) oldest = session;
  });
  if (values.json) {
    io.stdout.write(jsonLine({ type: 'stats', count: visited, bytes, oldest: oldest ? { id: shown(oldest.key, values), ctime: oldest.ctime } : null, expired, failed }));
  } else {
    io.stdout.write([
      `sessions  ${visited}`,
      `bytes     ${bytes}`,
      `oldest    ${oldest ? `${iso(oldest.ctime)} (${printable(shown(oldest.key, values))})` : '-'}`,
      `expired   ${expired}`,
      ...(failed > 0 ? [`unreadable ${failed}`] : []),
    ].join('\n') + '\n');
  }
  return failed > 0 ? EXIT.partial : EXIT.ok;
}

/**
 * The stored keys `dump <id>` may mean: the id itself (with --hash-ids its SHA-256, or a stored
 * key from `find`), else the one key that starts with it (find prints ids shortened, "9f86d081…").
 */
async function keysFor(store: Store, id: string, values: Values): Promise<string[]> {
  const given = id.endsWith(SHORT_ID_SUFFIX) ? id.slice(0, -SHORT_ID_SUFFIX.length) : id;
  const exact = values['hash-ids'] ? [hashId(given), ...(/^[0-9a-f]{64}$/.test(given) ? [given] : [])] : [given];
  for (const key of exact) {
    if ((await storeCall(store.driverName, 'retrieve', () => store.driver.retrieve(key))) !== null) return [key];
  }
  if (given === '') return [];
  const matches: string[] = [];
  await storeCall(store.driverName, 'traverse', () => store.driver.traverse((key) => {
    if (key.startsWith(given)) matches.push(key);
  }));
  return matches;
}

async function dumpCommand(store: Store, id: string, values: Values, io: CliIo, now: number, maxAge: number | undefined): Promise<number> {
  const keys = await keysFor(store, id, values);
  const sessions: StoredSession[] = [];
  for (const key of keys) {
    const record = await storeCall(store.driverName, 'retrieve', () => store.driver.retrieve(key));
    if (record === null) continue;
    const session = decodeRecord(store, key, record, now, maxAge);
    if (!session.tombstone) sessions.push(session);
  }
  if (sessions.length > 1) {
    throw new UsageError(`${sessions.length} sessions start with ${JSON.stringify(id)}; give more characters of the id`);
  }
  const [session] = sessions;
  if (session === undefined) {
    io.stderr.write(`isosession dump: no session ${printable(JSON.stringify(id))} in this store\n`);
    return EXIT.partial;
  }
  const table = redactTable(session.table, {
    fullIds: values['full-ids'] === true,
    showPrivate: values['show-private'] === true,
    publicNames: new Set((values.public ?? []).flatMap((names) => names.split(',')).map((name) => name.trim()).filter((name) => name !== '')),
  });
  if (values.json) {
    io.stdout.write(jsonLine({ type: 'session', ...describe(session, values), data: table }));
  } else {
    // inspect escapes control characters inside strings and keys; printableStream catches the rest.
    io.stdout.write(`${line(session, false, values)}${inspect(table, { depth: 10, sorted: true, compact: false })}\n`);
  }
  return EXIT.ok;
}

/** The `isosession` command line; resolves to the exit code. */
export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<number> {
  const io: CliIo = { ...rawIo, stdout: printableStream(rawIo.stdout), stderr: printableStream(rawIo.stderr) };
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    if (command === undefined) throw new UsageError('no command given');
    if (!['find', 'dump', 'stats'].includes(command)) throw new UsageError(`unknown command "${command}"; commands: find, dump, stats`);
    if (command === 'dump' ? rest.length !== 1 : rest.length !== 0) {
      throw new UsageError(command === 'dump' ? 'dump takes exactly one session id: isosession dump <id> --dsn …' : `${command} takes no arguments, got ${rest.join(' ')}`);
    }
    const findOnly = (['expired', 'older-than', 'purge', 'quiet'] as const).filter((name) => values[name] !== undefined);
    if (command !== 'find' && findOnly.length > 0) throw new UsageError(`--${findOnly[0]} is an option of find only`);
    const dumpOnly = (['show-private', 'public'] as const).filter((name) => values[name] !== undefined);
    if (command !== 'dump' && dumpOnly.length > 0) throw new UsageError(`--${dumpOnly[0]} is an option of dump only`);
    const maxAge = values['max-age'] === undefined ? undefined : duration('--max-age', values['max-age']);
    const dsnArgs = dsnArgsOf(values);
    for (const plugin of values.plugin ?? []) {
      const specifier = plugin.startsWith('.') || plugin.startsWith('/') ? pathToFileURL(resolvePath(plugin)).href : plugin;
      try {
        await import(specifier);
      } catch (error) {
        throw new UsageError(`--plugin ${plugin}: cannot import it (${(error as Error).message})`);
      }
    }
    let store: Store;
    try {
      store = await openStore(values.dsn ?? null, dsnArgs);
    } catch (error) {
      if (isSessionError(error) && (error.code === 'INVALID_DSN' || error.code === 'INVALID_ARGUMENT')) throw new UsageError(error.message.replace(/^isosession: /, ''));
      throw error;
    }
    const now = Math.floor((io.now ?? Date.now)() / 1000);
    if (command === 'find') return await findCommand(store, values, io, now, maxAge);
    if (command === 'stats') return await statsCommand(store, values, io, now, maxAge);
    return await dumpCommand(store, rest[0] as string, values, io, now, maxAge);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`isosession: ${printable(error.message)}\nRun "isosession --help" for usage.\n`);
      return EXIT.usage;
    }
    const code = error instanceof SessionError ? ` [${error.code}]` : '';
    const message = error instanceof Error ? error.message.replace(/^isosession: /, '') : String(error);
    io.stderr.write(`isosession: the store failed${code}: ${printable(message)}\n`);
    return EXIT.store;
  } finally {
    await closeAllDrivers().catch(() => undefined);
  }
}
