import { ID, REMOTE_ADDR, isReserved } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';

/** What find and dump print in place of an id: enough to tell sessions apart and to dump one. */
export const SHORT_ID_SUFFIX = '…';

/**
 * A stored id is a live credential (the cookie value): printed whole, it ends up in terminal
 * scrollback, cron mail and tickets. Shortened to at most 8 characters (half the id for short
 * ones), it still names the session for `dump`, but is no cookie.
 */
export function shortId(id: string): string {
  const keep = Math.max(1, Math.min(8, Math.floor(id.length / 2)));
  return id.length <= keep ? id : `${id.slice(0, keep)}${SHORT_ID_SUFFIX}`;
}

/** Replaces the full id by its short form in a message (a driver's or a decoder's). */
export function withoutFullId(message: string, id: string, fullIds: boolean): string {
  return fullIds || id === '' ? message : message.split(id).join(shortId(id));
}

export interface RedactOptions {
  fullIds: boolean;
  showPrivate: boolean;
  /** Params whose values are shown even without showPrivate. */
  publicNames: ReadonlySet<string>;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  return typeof value;
}

/**
 * The table as `dump` shows it. Without a router the CLI cannot know which params the app
 * sends to the browser, so every param value is private unless named with `--public` (or
 * `--show-private`); names, times and expiries stay visible. The client address is personal
 * data and is private too; the id is shortened unless `--full-ids`.
 */
export function redactTable(table: SessionTable, options: RedactOptions): SessionTable {
  const shown: SessionTable = {};
  for (const name of Object.keys(table)) {
    let value = table[name];
    if (name === ID && typeof value === 'string' && !options.fullIds) value = shortId(value);
    else if (!options.showPrivate && (name === REMOTE_ADDR || (!isReserved(name) && !options.publicNames.has(name)))) value = `[private ${kind(value)}]`;
    Object.defineProperty(shown, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return shown;
}
