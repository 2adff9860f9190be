import { createHash, randomBytes } from 'node:crypto';
import type { SessionBus, SessionChange } from './SessionBus.js';

/** A bus that crosses processes: it holds connections, which `close()` releases. */
export interface ClosableSessionBus extends SessionBus {
  /** Reaches this process at once, then the others; never rejects (failures become process warnings). */
  publish(change: SessionChange): Promise<void>;
  /** Closes the connections the bus opened (never yours). Afterwards it reaches this process only. */
  close(): Promise<void>;
}

type Listener = (change: SessionChange) => void;

interface Entry {
  id: string;
  listeners: Set<Listener>;
}

/** What crosses processes: never the session id, never a param value. */
export interface WireChange {
  /** SHA-256 (hex) of the session id. */
  hash: string;
  version: number;
  deleted: boolean;
  /** The bus instance that published it: it has already told its own subscribers. */
  origin: string;
}

/**
 * SHA-256 of a session id, hex. Anyone allowed to SUBSCRIBE (or LISTEN) sees channel names
 * and payloads; a session id there would let them take over the session. The hash still
 * lets a process find its own subscribers, since it knows the ids it watches.
 */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * The process-local half shared by the Redis and PostgreSQL buses: listeners by session-id
 * hash, delivery (local with the snapshot, remote without), resyncs and quiet warnings.
 */
export interface SessionBusHub {
  /** Random per bus instance: its own messages coming back are skipped. */
  readonly origin: string;
  /** Adds a listener; `first` says this process now watches `hash` (start listening for it). */
  add(id: string, listener: Listener): { hash: string; first: boolean; remove(): boolean };
  /** Hashes with at least one listener. */
  hashes(): string[];
  has(hash: string): boolean;
  /** Tells this process's subscribers of `change.id`, snapshot included. */
  deliverLocal(change: SessionChange): void;
  /** A change from another process (or from nowhere we know: then ignored). */
  deliverRemote(change: WireChange): void;
  /**
   * "Changes may have been missed" (listening just started, or the connection was lost):
   * each subscriber gets `{ id, version: 0 }` without a snapshot, and `watch` reloads the
   * session, sending it only if its version is newer than the one sent last.
   */
  resync(hashes?: Iterable<string>): void;
  /** A process warning the first time `what` fails, then silence until it works again. */
  warn(what: string, error: unknown): void;
  ok(what: string): void;
}

export function createSessionBusHub(name: string): SessionBusHub {
  const entries = new Map<string, Entry>();
  const failing = new Set<string>();
  const origin = randomBytes(9).toString('base64url');

  function call(listener: Listener, change: SessionChange): void {
    try {
      listener(change);
    } catch (error) {
      // One broken listener must not keep the change from the others, nor break the connection's event loop.
      hub.warn('a session change listener', error);
    }
  }

  const hub: SessionBusHub = {
    origin,
    add(id, listener) {
      const hash = sessionIdHash(id);
      let entry = entries.get(hash);
      const first = entry === undefined;
      if (!entry) entries.set(hash, (entry = { id, listeners: new Set() }));
      // A Set would fold a listener subscribed twice into one; wrap it so each subscribe() counts.
      const own: Listener = (change) => listener(change);
      entry.listeners.add(own);
      const current = entry;
      let removed = false;
      return {
        hash,
        first,
        remove() {
          if (removed) return false;
          removed = true;
          current.listeners.delete(own);
          if (current.listeners.size > 0 || entries.get(hash) !== current) return false;
          entries.delete(hash);
          return true;
        },
      };
    },
    hashes: () => [...entries.keys()],
    has: (hash) => entries.has(hash),
    deliverLocal(change) {
      const entry = entries.get(sessionIdHash(change.id));
      if (!entry) return;
      for (const listener of [...entry.listeners]) call(listener, change);
    },
    deliverRemote(wire) {
      if (wire.origin === origin) return;
      const entry = entries.get(wire.hash);
      if (!entry) return;
      const change: SessionChange = wire.deleted ? { id: entry.id, version: wire.version, deleted: true } : { id: entry.id, version: wire.version };
      for (const listener of [...entry.listeners]) call(listener, change);
    },
    resync(hashes = [...entries.keys()]) {
      for (const hash of hashes) {
        const entry = entries.get(hash);
        if (!entry) continue;
        for (const listener of [...entry.listeners]) call(listener, { id: entry.id, version: 0 });
      }
    },
    warn(what, error) {
      // A store outage would otherwise print one warning per request.
      if (failing.has(what)) return;
      failing.add(what);
      const reason = error instanceof Error ? error.message : String(error);
      process.emitWarning(`isosession: ${name}: ${what} failed: ${reason} (requests go on; watchers in other processes miss changes until it works again)`, {
        code: 'ISOSESSION_BUS',
      });
    },
    ok(what) {
      failing.delete(what);
    },
  };
  return hub;
}

/** The wire form of a change: a few dozen bytes of JSON. */
export function encodeChange(change: SessionChange, origin: string, withHash: boolean): string {
  const wire: Record<string, unknown> = {};
  if (withHash) wire.h = sessionIdHash(change.id);
  wire.v = change.version;
  if (change.deleted) wire.d = 1;
  wire.o = origin;
  return JSON.stringify(wire);
}

/** Parses a message; anything else published on the channel is ignored (undefined). */
export function decodeChange(text: string, hash?: string): WireChange | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const { h, v, d, o } = wire as Record<string, unknown>;
  const wireHash = hash ?? h;
  if (typeof wireHash !== 'string' || !/^[0-9a-f]{64}$/.test(wireHash)) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined;
  if (typeof o !== 'string') return undefined;
  return { hash: wireHash, version: v, deleted: d === 1, origin: o };
}

/** Reconnect delays: quick first, then at most every 2 s. */
export function backoffMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.max(0, attempt - 1), 2_000);
}
