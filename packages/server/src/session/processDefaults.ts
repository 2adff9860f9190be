import { checkCookieName } from './config.js';

// Process-wide defaults, as in CGI::Session (CGI::Session->name, `use CGI::Session '-ip_match'`,
// CGI::Session->errstr). Server-only module: never part of a browser bundle.
let defaultName = 'CGISESSID';
let defaultIpMatch = false;
let lastError = '';

/** The cookie name of sessions that set none; `name` changes it for the process. */
export function processName(name?: string): string {
  if (name !== undefined) defaultName = checkCookieName(name);
  return defaultName;
}

/** Whether sessions that do not say match the client address; `on` changes it for the process. */
export function processIpMatch(on?: boolean): boolean {
  if (on !== undefined) defaultIpMatch = Boolean(on);
  return defaultIpMatch;
}

/** The last failure's message; '' after a successful construction (S2). */
export function lastErrorMessage(): string {
  return lastError;
}

export function succeeded(): void {
  lastError = '';
}

/** Records `error` for errstr() and throws it on. */
export function fail(error: unknown): never {
  lastError = error instanceof Error ? error.message : String(error);
  throw error;
}
