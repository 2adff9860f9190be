import type { Driver, DsnArgs, Merge, RawSession, StoreMeta, StoredRecord } from '../types.js';

interface Entry {
  data: RawSession;
  atime: number;
  expiresAt: number | undefined;
}

// Process-wide on purpose (it is the in-process store), isolated by `Namespace`.
const namespaces = new Map<string, Map<string, Entry>>();

function copy(data: RawSession): RawSession {
  return typeof data === 'string' ? data : new Uint8Array(data);
}

/**
 * `memory`: sessions in this process's heap, shared by every Session with the same
 * `Namespace` (default "default"). Updates are atomic: JavaScript runs a merge to completion.
 */
export function createMemoryDriver(args: DsnArgs = {}): Driver {
  const name = typeof args.Namespace === 'string' ? args.Namespace : 'default';
  let table = namespaces.get(name);
  if (!table) {
    table = new Map();
    namespaces.set(name, table);
  }
  const sessions = table;

  function write(id: string, data: RawSession, meta: StoreMeta): void {
    sessions.set(id, { data: copy(data), atime: meta.atime, expiresAt: meta.expiresAt });
  }

  function read(id: string): StoredRecord | null {
    const entry = sessions.get(id);
    return entry ? { data: copy(entry.data), atime: entry.atime } : null;
  }

  return {
    async retrieve(id) {
      return read(id);
    },
    async store(id, data, meta) {
      write(id, data, meta);
    },
    async remove(id) {
      sessions.delete(id);
    },
    async traverse(visit) {
      for (const id of [...sessions.keys()]) await visit(id);
    },
    async update(id: string, merge: Merge) {
      const result = merge(read(id));
      if (result.action === 'store') write(id, result.data, result.meta);
      else if (result.action === 'remove') sessions.delete(id);
    },
    async touch(id, meta) {
      const entry = sessions.get(id);
      if (!entry) return false;
      entry.atime = meta.atime;
      entry.expiresAt = meta.expiresAt;
      return true;
    },
  };
}

/** Empties a namespace (or all of them): for tests. */
export function clearMemoryStore(namespace?: string): void {
  if (namespace === undefined) namespaces.clear();
  else namespaces.delete(namespace);
}
