import type { RawSession } from '../types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function toText(raw: RawSession): string {
  return typeof raw === 'string' ? raw : decoder.decode(raw);
}
