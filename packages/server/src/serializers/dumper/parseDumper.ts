import type { RawSession } from '../../types.js';

/**
 * Reads what Perl's Data::Dumper writes for a session table (CGI::Session's default
 * serializer: `$D = {...};;$D`, Indent 0 or 1, Purity 1, Useqq 0 or 1) without evaluating
 * anything: a recursive-descent parser for the small part of Perl that Dumper emits (hashes,
 * arrays, quoted strings with every escape Dumper uses, numbers, `undef`, and Purity's
 * `$D->{...} = $D->{...};` statements for shared references). Anything else (code, `bless`,
 * scalar references, interpolation) throws a `DumperSyntaxError` naming where it stopped.
 */
export class DumperSyntaxError extends Error {}

/** Deeper than any session table; keeps hostile nesting from exhausting the stack. */
const MAX_DEPTH = 500;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

type PathStep = string | number;

export function parseDumper(raw: RawSession): unknown {
  // The parser works on bytes (one char per byte): Perl reads the text as bytes, and Dumper
  // writes a byte string's bytes as they are inside single quotes.
  const bytes = typeof raw === 'string' ? encoder.encode(raw) : raw;
  return new Parser(bytesToBinary(bytes)).document();
}

function bytesToBinary(bytes: Uint8Array): string {
  // TextDecoder('latin1') is windows-1252 by the Encoding standard; map bytes one to one instead.
  let out = '';
  for (let start = 0; start < bytes.length; start += 0x8000) {
    out += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return out;
}

/**
 * A run of raw bytes from inside a Perl string literal. Perl keeps them as a byte string; a
 * Perl app that stored text it got from a browser holds UTF-8 there, so valid UTF-8 is decoded
 * as such, and anything else (Latin-1 bytes) is kept one char per byte.
 */
function decodeByteRun(run: string): string {
  if (!/[\x80-\xff]/.test(run)) return run;
  const bytes = Uint8Array.from(run, (char) => char.charCodeAt(0));
  try {
    return utf8.decode(bytes);
  } catch {
    return run;
  }
}

class Parser {
  #i = 0;
  readonly #src: string;

  constructor(src: string) {
    this.#src = src;
  }

  document(): unknown {
    this.#ws();
    if (this.#src[this.#i] !== '$') {
      // Terse output: a bare value.
      const value = this.#value(0);
      this.#ws();
      if (this.#src[this.#i] === ';') this.#i += 1;
      this.#end();
      return value;
    }
    const name = this.#variable();
    this.#ws();
    this.#expect('=');
    this.#ws();
    const root = this.#value(0);
    this.#ws();
    this.#expect(';');
    let fixups = false;
    for (;;) {
      this.#ws();
      if (this.#src[this.#i] === ';') {
        this.#i += 1;
        continue;
      }
      if (this.#i >= this.#src.length) break;
      const at = this.#i;
      const lhsName = this.#variable();
      if (lhsName !== name) this.#fail(`unknown variable $${lhsName}`, at);
      const lhs = this.#path();
      this.#ws();
      if (lhs.length === 0) {
        // The closing `$D` that hands back the table.
        if (this.#src[this.#i] === ';') this.#i += 1;
        this.#end();
        break;
      }
      this.#expect('=');
      this.#ws();
      const rhsAt = this.#i;
      if (this.#src[this.#i] !== '$') this.#fail('only references to the same table may be assigned here', rhsAt);
      const rhsName = this.#variable();
      if (rhsName !== name) this.#fail(`unknown variable $${rhsName}`, rhsAt);
      const rhs = this.#path();
      this.#ws();
      this.#expect(';');
      assign(root, lhs, lookup(root, rhs, () => this.#fail('the referenced element does not exist', rhsAt)), () => this.#fail('the assigned element does not exist', at));
      fixups = true;
    }
    if (fixups) checkAcyclic(root);
    return root;
  }

  #fail(message: string, at = this.#i): never {
    const near = JSON.stringify(this.#src.slice(at, at + 20));
    throw new DumperSyntaxError(`Data::Dumper text: ${message} at byte ${at} (near ${near})`);
  }

  #end(): void {
    this.#ws();
    if (this.#i < this.#src.length) this.#fail('unexpected text after the table');
  }

  #expect(char: string): void {
    if (this.#src[this.#i] !== char) this.#fail(`expected "${char}"`);
    this.#i += 1;
  }

  /** Spaces, newlines and `#` comments (Indent 3 writes index comments). */
  #ws(): void {
    const src = this.#src;
    for (;;) {
      const c = src.charCodeAt(this.#i);
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) this.#i += 1;
      else if (c === 0x23) {
        const eol = src.indexOf('\n', this.#i);
        this.#i = eol === -1 ? src.length : eol + 1;
      } else return;
    }
  }

  #variable(): string {
    this.#expect('$');
    const match = /^[A-Za-z_]\w*/.exec(this.#src.slice(this.#i, this.#i + 64));
    if (!match) this.#fail('expected a variable name');
    this.#i += match[0].length;
    return match[0];
  }

  /** `->{'k'}[0]{'x'}`: the path of a Purity statement. */
  #path(): PathStep[] {
    const steps: PathStep[] = [];
    for (;;) {
      if (this.#src.startsWith('->', this.#i)) this.#i += 2;
      else if (steps.length === 0) return steps;
      const c = this.#src[this.#i];
      if (c === '{') {
        this.#i += 1;
        this.#ws();
        steps.push(this.#key());
        this.#ws();
        this.#expect('}');
      } else if (c === '[') {
        this.#i += 1;
        this.#ws();
        const at = this.#i;
        const match = /^\d{1,9}/.exec(this.#src.slice(this.#i, this.#i + 10));
        if (!match) this.#fail('expected an array index', at);
        this.#i += match[0].length;
        this.#ws();
        this.#expect(']');
        steps.push(Number(match[0]));
      } else if (steps.length === 0) {
        this.#fail('expected "{" or "["');
      } else {
        return steps;
      }
      if (steps.length > MAX_DEPTH) this.#fail('path too deep');
    }
  }

  #value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.#fail(`nested deeper than ${MAX_DEPTH} levels`);
    const c = this.#src[this.#i];
    if (c === '{') return this.#hash(depth);
    if (c === '[') return this.#array(depth);
    if (c === "'") return this.#single();
    if (c === '"') return this.#double();
    if (c === '-' || c === '+' || (c !== undefined && c >= '0' && c <= '9')) return this.#number();
    if (this.#src.startsWith('undef', this.#i) && !/\w/.test(this.#src[this.#i + 5] ?? '')) {
      this.#i += 5;
      return null;
    }
    if (this.#src.startsWith('bless', this.#i)) this.#fail('blessed objects are not read (the class would be lost)');
    if (c === '\\') this.#fail('references to scalars are not read');
    if (c === undefined) this.#fail('unexpected end of text');
    return this.#fail('expected a value');
  }

  #hash(depth: number): Record<string, unknown> {
    this.#i += 1;
    const table: Record<string, unknown> = {};
    this.#ws();
    while (this.#src[this.#i] !== '}') {
      const key = this.#key();
      this.#ws();
      if (!this.#src.startsWith('=>', this.#i)) this.#fail('expected "=>"');
      this.#i += 2;
      this.#ws();
      const value = this.#value(depth + 1);
      // An own data property even for "__proto__": stored data never reaches a prototype.
      Object.defineProperty(table, key, { value, writable: true, enumerable: true, configurable: true });
      this.#ws();
      if (this.#src[this.#i] === ',') {
        this.#i += 1;
        this.#ws();
      } else if (this.#src[this.#i] !== '}') {
        this.#fail('expected "," or "}"');
      }
    }
    this.#i += 1;
    return table;
  }

  #array(depth: number): unknown[] {
    this.#i += 1;
    const list: unknown[] = [];
    this.#ws();
    while (this.#src[this.#i] !== ']') {
      list.push(this.#value(depth + 1));
      this.#ws();
      if (this.#src[this.#i] === ',') {
        this.#i += 1;
        this.#ws();
      } else if (this.#src[this.#i] !== ']') {
        this.#fail('expected "," or "]"');
      }
    }
    this.#i += 1;
    return list;
  }

  /** A hash key: quoted, a bareword (Quotekeys 0) or an integer. */
  #key(): string {
    const c = this.#src[this.#i];
    if (c === "'") return this.#single();
    if (c === '"') return this.#double();
    const match = /^(?:-?[A-Za-z_]\w*|-?\d+)/.exec(this.#src.slice(this.#i, this.#i + 256));
    if (!match) this.#fail('expected a hash key');
    this.#i += match[0].length;
    return match[0];
  }

  #number(): number {
    const match = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(this.#src.slice(this.#i, this.#i + 400));
    if (!match) this.#fail('expected a number');
    this.#i += match[0].length;
    if (/\w/.test(this.#src[this.#i] ?? '')) this.#fail('expected a number');
    const value = Number(match[0]);
    return Object.is(value, -0) ? 0 : value;
  }

  /** 'text': only `\\` and `\'` are escapes, everything else is taken as it is. */
  #single(): string {
    const src = this.#src;
    let i = this.#i + 1;
    let out = '';
    let runStart = i;
    for (;;) {
      const c = src.charCodeAt(i);
      if (Number.isNaN(c)) this.#fail('unterminated string', this.#i);
      if (c === 0x27) break;
      if (c === 0x5c) {
        const escaped = src[i + 1];
        if (escaped === '\\' || escaped === "'") {
          out += src.slice(runStart, i) + escaped;
          i += 2;
          runStart = i;
          continue;
        }
      }
      i += 1;
    }
    out += src.slice(runStart, i);
    this.#i = i + 1;
    return decodeByteRun(out);
  }

  /** "text": Perl's double-quoted escapes (what Useqq and wide characters make Dumper write). */
  #double(): string {
    const src = this.#src;
    const start = this.#i;
    let i = start + 1;
    let out = '';
    let run = '';
    const flush = () => {
      out += decodeByteRun(run);
      run = '';
    };
    for (;;) {
      const c = src[i];
      if (c === undefined) this.#fail('unterminated string', start);
      if (c === '"') break;
      if (c === '$' || c === '@') this.#fail(`"${c}" in a double-quoted string would be interpolated by Perl`, i);
      if (c !== '\\') {
        run += c;
        i += 1;
        continue;
      }
      const e = src[i + 1];
      if (e === undefined) this.#fail('unterminated string', start);
      i += 2;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        run += simple;
        continue;
      }
      if (e === 'x') {
        if (src[i] === '{') {
          const close = src.indexOf('}', i);
          const hex = close === -1 ? '' : src.slice(i + 1, close).trim();
          if (close === -1 || !/^[0-9A-Fa-f]{0,8}$/.test(hex)) this.#fail('bad \\x{...} escape', i - 2);
          flush();
          out += codePoint(hex === '' ? 0 : Number.parseInt(hex, 16), () => this.#fail('\\x{...} beyond Unicode', i - 2));
          i = close + 1;
        } else {
          // \xHH and octal are bytes (what Useqq writes for a byte string); \x{...} is a character.
          const hex = /^[0-9A-Fa-f]{0,2}/.exec(src.slice(i, i + 2))![0];
          run += String.fromCharCode(hex === '' ? 0 : Number.parseInt(hex, 16));
          i += hex.length;
        }
      } else if (e >= '0' && e <= '7') {
        const octal = /^[0-7]{1,3}/.exec(src.slice(i - 1, i + 2))![0];
        const byte = Number.parseInt(octal, 8);
        run += String.fromCharCode(byte & 0xff);
        i += octal.length - 1;
      } else if (e === 'o' && src[i] === '{') {
        const close = src.indexOf('}', i);
        const octal = close === -1 ? '' : src.slice(i + 1, close);
        if (!/^[0-7]{1,11}$/.test(octal)) this.#fail('bad \\o{...} escape', i - 2);
        flush();
        out += codePoint(Number.parseInt(octal, 8), () => this.#fail('\\o{...} beyond Unicode', i - 2));
        i = close + 1;
      } else if (e === 'N' && src.startsWith('{U+', i)) {
        const close = src.indexOf('}', i);
        const hex = close === -1 ? '' : src.slice(i + 3, close);
        if (!/^[0-9A-Fa-f]{1,8}$/.test(hex)) this.#fail('bad \\N{U+...} escape', i - 2);
        flush();
        out += codePoint(Number.parseInt(hex, 16), () => this.#fail('\\N{U+...} beyond Unicode', i - 2));
        i = close + 1;
      } else if (e === 'c') {
        const control = src[i];
        if (control === undefined) this.#fail('unterminated string', start);
        run += String.fromCharCode(control.toUpperCase().charCodeAt(0) ^ 64);
        i += 1;
      } else if (/[A-Za-z]/.test(e)) {
        // \u, \l, \U, \L, \Q, \E, \N{name}, ...: Perl would change the text; Dumper never writes them.
        this.#fail(`unsupported escape \\${e}`, i - 2);
      } else {
        run += e; // \" \\ \$ \@ and any other punctuation stand for themselves
      }
    }
    flush();
    this.#i = i + 1;
    return out;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  n: '\n', t: '\t', r: '\r', f: '\f', b: '\b', a: '\x07', e: '\x1b',
});

function codePoint(value: number, fail: () => never): string {
  if (value > 0x10ffff) fail();
  return String.fromCodePoint(value);
}

function child(container: unknown, step: PathStep): { ok: boolean; value?: unknown } {
  if (typeof step === 'number') {
    return Array.isArray(container) && step < container.length ? { ok: true, value: container[step] } : { ok: false };
  }
  if (container !== null && typeof container === 'object' && !Array.isArray(container) && Object.hasOwn(container, step)) {
    return { ok: true, value: (container as Record<string, unknown>)[step] };
  }
  return { ok: false };
}

function lookup(root: unknown, path: PathStep[], fail: () => never): unknown {
  let node = root;
  for (const step of path) {
    const next = child(node, step);
    if (!next.ok) fail();
    node = next.value;
  }
  return node;
}

function assign(root: unknown, path: PathStep[], value: unknown, fail: () => never): void {
  const container = lookup(root, path.slice(0, -1), fail);
  const last = path[path.length - 1] as PathStep;
  // Purity only fills in elements it wrote as placeholders: the element must exist already.
  if (!child(container, last).ok) fail();
  if (typeof last === 'number') (container as unknown[])[last] = value;
  else Object.defineProperty(container, last, { value, writable: true, enumerable: true, configurable: true });
}

/** Purity statements can tie a structure into a loop, which no session serializer can store. */
function checkAcyclic(root: unknown): void {
  const onPath = new Set<object>();
  const done = new Set<object>();
  const visit = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object' || done.has(node)) return;
    if (onPath.has(node)) throw new DumperSyntaxError('Data::Dumper text: the table refers to itself (a cycle), which cannot be read');
    if (depth > MAX_DEPTH) throw new DumperSyntaxError(`Data::Dumper text: nested deeper than ${MAX_DEPTH} levels`);
    onPath.add(node);
    for (const value of Object.values(node)) visit(value, depth + 1);
    onPath.delete(node);
    done.add(node);
  };
  visit(root, 0);
}
