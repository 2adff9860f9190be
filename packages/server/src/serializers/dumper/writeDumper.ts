/**
 * How text that is not ASCII is written for Perl:
 * - `'utf8-bytes'`: as its UTF-8 bytes inside the literal, so Perl reads a byte string — what
 *   a Perl CGI app that never decodes its input (CGI.pm without `-utf8`) holds and prints;
 * - `'characters'`: as `\x{...}` escapes, so Perl reads a character string — what Data::Dumper
 *   itself writes for decoded (utf8-flagged) strings, for apps that decode their input.
 */
export type PerlStrings = 'utf8-bytes' | 'characters';

const MAX_DEPTH = 500;

/**
 * Writes a session table the way CGI::Session's default serializer does
 * (`$D = {...};;$D`, Data::Dumper Indent 0), as text Perl's `Safe->reval` reads back.
 * Perl has no booleans: true is written as 1 and false as '' (Perl's own !!1 and !!0).
 * Non-integer numbers are written as Perl number literals; NaN and Infinity, which JSON also
 * cannot hold, as undef. Dates become their ISO string (as in JSON). Anything else that is not
 * plain data (a Map, a class instance, a function, a cycle) throws.
 */
export function writeDumper(data: object, strings: PerlStrings): string {
  const seen = new Set<object>();
  const parts: string[] = ['$D = '];

  const value = (input: unknown, depth: number): void => {
    let v = input;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON(): unknown }).toJSON();
    }
    switch (typeof v) {
      case 'string':
        parts.push(quote(v, strings));
        return;
      case 'number':
        parts.push(Number.isFinite(v) ? (Object.is(v, -0) ? '0' : String(v)) : 'undef');
        return;
      case 'boolean':
        parts.push(v ? '1' : "''");
        return;
      case 'bigint':
        parts.push(`'${v.toString()}'`);
        return;
      case 'undefined':
        parts.push('undef');
        return;
      case 'object':
        break;
      default:
        throw new TypeError(`a ${typeof v} cannot be written for Perl`);
    }
    if (v === null) {
      parts.push('undef');
      return;
    }
    if (depth > MAX_DEPTH) throw new TypeError(`data nested deeper than ${MAX_DEPTH} levels`);
    if (seen.has(v)) throw new TypeError('data that refers to itself (a cycle) cannot be written for Perl');
    seen.add(v);
    if (Array.isArray(v)) {
      parts.push('[');
      v.forEach((item, index) => {
        if (index > 0) parts.push(',');
        value(item, depth + 1);
      });
      parts.push(']');
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`a ${(v as object).constructor?.name ?? 'non-plain object'} cannot be written for Perl; store plain objects, arrays, strings and numbers`);
      }
      parts.push('{');
      let first = true;
      for (const key of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue; // as JSON does
        if (!first) parts.push(',');
        first = false;
        parts.push(quote(key, strings), ' => ');
        value(item, depth + 1);
      }
      parts.push('}');
    }
    seen.delete(v);
  };

  value(data, 0);
  parts.push(';;$D');
  return parts.join('');
}

// Printable ASCII needs no care inside single quotes except \ and '.
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

function quote(text: string, strings: PerlStrings): string {
  if (PLAIN_ASCII.test(text)) return `'${text.replace(/[\\']/g, '\\$&')}'`;
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (code >= 0x20 && code < 0x7f) {
      out += char === '\\' || char === '"' || char === '$' || char === '@' ? `\\${char}` : char;
    } else if (code < 0x80) {
      out += `\\x{${code.toString(16)}}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      // A lone surrogate has no UTF-8 form; as a character Perl can hold it.
      if (strings === 'utf8-bytes') throw new TypeError('a string with a lone surrogate cannot be written as UTF-8 for Perl');
      out += `\\x{${code.toString(16)}}`;
    } else {
      // In a double-quoted literal, \x{...} of a code point of 0x80 or more makes a character
      // string; raw (UTF-8 encoded by the store) makes a byte string.
      out += strings === 'characters' ? `\\x{${code.toString(16)}}` : char;
    }
  }
  return `${out}"`;
}
