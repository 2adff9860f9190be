import type { RawSession } from '../types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Stored bytes as text: UTF-8. Bytes that are not part of valid UTF-8 are taken one character
 * per byte (Latin-1), as Perl does when it upgrades a byte string: a Perl app sharing the store
 * may write Latin-1 text raw (JSON::Syck and YAML::Syck write a byte string's bytes as they
 * are), and such a session is read with its accents instead of failing as CORRUPT.
 */
export function toText(raw: RawSession): string {
  if (typeof raw === 'string') return raw;
  try {
    return decoder.decode(raw);
  } catch {
    return decodeUtf8OrLatin1(raw);
  }
}

function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  const [length, min, max] = lead >= 0xc2 && lead <= 0xdf ? [2, 0x80, 0xbf]
    : lead === 0xe0 ? [3, 0xa0, 0xbf]
    : lead === 0xed ? [3, 0x80, 0x9f] // no surrogates
    : lead >= 0xe1 && lead <= 0xef ? [3, 0x80, 0xbf]
    : lead === 0xf0 ? [4, 0x90, 0xbf]
    : lead >= 0xf1 && lead <= 0xf3 ? [4, 0x80, 0xbf]
    : lead === 0xf4 ? [4, 0x80, 0x8f]
    : [0, 0, 0];
  if (length === 0 || at + length > bytes.length) return 0;
  const second = bytes[at + 1]!;
  if (second < min || second > max) return 0;
  for (let i = 2; i < length; i++) {
    const next = bytes[at + i]!;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

function decodeUtf8OrLatin1(bytes: Uint8Array): string {
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i]! < 0x80) {
      i += 1;
      continue;
    }
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    parts.push(decoder.decode(bytes.subarray(runStart, i)), String.fromCharCode(bytes[i]!));
    i += 1;
    runStart = i;
  }
  parts.push(decoder.decode(bytes.subarray(runStart)));
  return parts.join('');
}
