import type { RawSession, Serializer } from '../types.js';
import { parseDumper } from './dumper/parseDumper.js';
import { writeDumper } from './dumper/writeDumper.js';
import type { PerlStrings } from './dumper/writeDumper.js';

export type { PerlStrings } from './dumper/writeDumper.js';

export interface DumperOptions {
  /**
   * How non-ASCII text is written for Perl: its UTF-8 bytes (Perl reads a byte string, as a
   * CGI app that never decodes its input holds it) or `\x{...}` escapes (a character string,
   * for apps that decode). Reading accepts both. @default 'utf8-bytes'
   */
  strings?: PerlStrings;
}

/**
 * Perl CGI::Session's default serializer (Data::Dumper, read back there with `Safe->reval`),
 * to share a store with a running Perl app. Reading parses the text; nothing is ever evaluated.
 */
export function createDumperSerializer(options: DumperOptions = {}): Serializer {
  const strings = options.strings ?? 'utf8-bytes';
  if (strings !== 'utf8-bytes' && strings !== 'characters') {
    throw new TypeError(`createDumperSerializer(): strings must be 'utf8-bytes' or 'characters', got ${String(strings)}`);
  }
  return {
    freeze(data) {
      return writeDumper(data, strings);
    },
    thaw(raw: RawSession) {
      return parseDumper(raw) as object;
    },
  };
}

export const dumperSerializer: Serializer = createDumperSerializer();
