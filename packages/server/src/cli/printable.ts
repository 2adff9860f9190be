// Stored names and values reach the CLI from whoever could write the store. Printed raw, ESC
// sequences in them set the terminal title or clear the screen, a newline forges a line of
// the report, and bidi overrides reorder what is shown. Everything not printable is escaped:
// controls (C0, DEL, C1), format characters (bidi, zero-width), separators, private use,
// unassigned code points and lone surrogates.
const NON_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCharacter(character: string): string {
  const named = NAMED[character];
  if (named !== undefined) return named;
  const code = character.codePointAt(0) as number;
  return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u{${code.toString(16).toUpperCase()}}`;
}

/** One field of human-readable output (an id, a message): every non-printable character escaped, newlines too. */
export function printable(text: string): string {
  return text.replace(NON_PRINTABLE, escapeCharacter);
}

/**
 * A line of JSON output: JSON.stringify escapes C0 controls already; the other non-printable
 * characters become \uXXXX escapes too, so the text stays valid JSON and parses back exactly.
 */
export function printableJson(json: string): string {
  return json.replace(NON_PRINTABLE, (character) =>
    [...Array(character.length).keys()].map((index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`).join(''));
}

/**
 * A stream that escapes whatever non-printable character still reaches it, except the line
 * breaks and the progress bar's carriage return and erase-line that the CLI writes itself:
 * a second line of defence behind printable() on each field.
 */
export function printableStream<S extends { write(text: string): unknown }>(stream: S): S {
  const write = (text: string) => stream.write(text.replace(NON_PRINTABLE, (character, offset: number) => {
    if (character === '\n' || character === '\r') return character;
    if (character === '\u001b' && text.startsWith('\u001b[K', offset)) return character;
    return escapeCharacter(character);
  }));
  return new Proxy(stream, { get: (target, key, receiver) => (key === 'write' ? write : Reflect.get(target, key, receiver)) });
}
