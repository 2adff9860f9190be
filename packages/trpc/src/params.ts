import type { SessionIssue } from '@isosession/core';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SessionError } from '@isosession/core';
import { refusedKeyPath, unsendableReason } from './wireSafe.js';

/** One public param: how it is validated, what it reads as when unset, who may write it. */
export interface ParamDefinition<TSchema extends StandardSchemaV1 = StandardSchemaV1> {
  /** Any Standard Schema validator (zod, valibot, arktype…); checks every browser write. */
  schema: TSchema;
  /** What the browser sees while the param is unset (also after `clear`). */
  default: StandardSchemaV1.InferOutput<TSchema>;
  /** Whether the browser may `set` / `clear` it. @default false (read-only in the browser) */
  writable?: boolean;
}

/** The public params of a session router, by name. Everything not declared stays on the server. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParamDefinitions = Record<string, ParamDefinition<any>>;

/** Checks each default against its own schema's output type (inference keeps `writable: true` literal). */
export type CheckedDefinitions<TDefs extends ParamDefinitions> = {
  [K in keyof TDefs]: ParamDefinition<TDefs[K]['schema']>;
};

/**
 * Declares params outside `createSessionRouter` (to share them with `sessionSnapshot` in
 * server code) while keeping `writable: true` literal and defaults checked; a plain
 * `const params = {...}` would widen `writable` to boolean, making every param read-only.
 */
export function defineSessionParams<TDefs extends ParamDefinitions>(params: TDefs & CheckedDefinitions<TDefs>): TDefs & CheckedDefinitions<TDefs> {
  checkDefinitions(params);
  return params;
}

/** The values the browser sees, by param name. */
export type ParamValues<TDefs extends ParamDefinitions> = {
  [K in keyof TDefs]: StandardSchemaV1.InferOutput<TDefs[K]['schema']>;
};

/** The names the browser may write (`writable: true`). */
export type WritableParamName<TDefs extends ParamDefinitions> = {
  [K in keyof TDefs]: TDefs[K] extends { writable: true } ? K : never;
}[keyof TDefs] &
  string;

/** `set`'s input: a writable name with a value its schema accepts. */
export type SetParamInput<TDefs extends ParamDefinitions> = {
  [K in WritableParamName<TDefs>]: { name: K; value: StandardSchemaV1.InferInput<TDefs[K]['schema']> };
}[WritableParamName<TDefs>];

/** A schema issue as sent to the browser: the message and a path of plain keys. */
export type ParamIssue = SessionIssue;

/** A value refused by its param's schema; the router turns it into BAD_REQUEST with `issues`. */
export class ParamValidationError extends Error {
  override readonly name = 'ParamValidationError';
  readonly param: string;
  readonly issues: ParamIssue[];

  constructor(param: string, issues: readonly StandardSchemaV1.Issue[]) {
    const plain = issues.map(toPlainIssue);
    const first = plain[0]?.message ?? 'invalid value';
    super(`isosession: invalid value for param "${param}": ${first}`);
    this.param = param;
    this.issues = plain;
  }
}

function toPlainIssue(issue: StandardSchemaV1.Issue): ParamIssue {
  const plain: ParamIssue = { message: String(issue.message) };
  if (issue.path && issue.path.length > 0) {
    plain.path = issue.path.map((segment) => {
      const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
      return typeof key === 'number' ? key : String(key);
    });
  }
  return plain;
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as StandardSchemaV1 | null)?.['~standard'];
  return typeof props === 'object' && props !== null && typeof props.validate === 'function';
}

/**
 * Validates `value` with the param's schema; the schema's output is what gets stored. A value
 * the schema accepts but the wire format cannot carry back (e.g. a `z.record` holding a
 * `constructor` key) is refused too: stored, it would break every answer of the session.
 */
export async function validateParam(name: string, definition: ParamDefinition, value: unknown): Promise<unknown> {
  const result = await definition.schema['~standard'].validate(value);
  if (result.issues) throw new ParamValidationError(name, result.issues);
  const unsendable = unsendableReason(result.value);
  if (unsendable) throw new ParamValidationError(name, [unsendable]);
  return result.value;
}

/**
 * Reads a stored value as the browser may see it: an unset value or one the schema refuses
 * (written by server code, or stored before the schema changed) reads as the default, so the
 * browser's types always hold; so does a value the wire format cannot carry. Async schemas
 * are trusted as stored.
 */
export function readParam(name: string, definition: ParamDefinition, stored: unknown): unknown {
  if (stored === undefined) return structuredClone(definition.default);
  const result = definition.schema['~standard'].validate(stored);
  const value = result instanceof Promise ? stored : result.issues ? undefined : result.value;
  if (!(result instanceof Promise) && result.issues) {
    process.emitWarning(
      `isosession: stored value of param "${name}" does not match its schema (${result.issues[0]?.message ?? 'invalid'}); the browser sees the default`,
      { code: 'ISOSESSION_PARAM_SCHEMA' },
    );
    return structuredClone(definition.default);
  }
  // Stored before writes were checked, or by server code: one refused key would make every
  // answer of this session fail, so the browser sees the default instead.
  const refused = refusedKeyPath(value);
  if (refused) {
    process.emitWarning(
      `isosession: stored value of param "${name}" holds the key "${refused.join('.')}", which cannot be sent to the browser; the browser sees the default`,
      { code: 'ISOSESSION_PARAM_UNSENDABLE' },
    );
    return structuredClone(definition.default);
  }
  return value;
}

/**
 * Broken configuration fails at construction (H7 in docs/design.md): every definition needs a
 * Standard Schema, names may not be reserved, and a default must pass its own schema.
 */
export function checkDefinitions(params: ParamDefinitions): void {
  if (params === null || typeof params !== 'object') {
    throw new SessionError('INVALID_ARGUMENT', 'createSessionRouter(): `params` must be an object of { schema, default, writable? } by param name');
  }
  for (const [name, definition] of Object.entries(params)) {
    if (name.startsWith('_SESSION_')) {
      throw new SessionError('INVALID_ARGUMENT', `createSessionRouter(): param "${name}" is reserved (names starting with _SESSION_ belong to the session itself)`);
    }
    if (!isStandardSchema(definition?.schema)) {
      throw new SessionError('INVALID_ARGUMENT', `createSessionRouter(): param "${name}" needs a \`schema\` that implements Standard Schema (zod, valibot, arktype…)`);
    }
    if (!Object.hasOwn(definition, 'default')) {
      throw new SessionError('INVALID_ARGUMENT', `createSessionRouter(): param "${name}" needs a \`default\` (what the browser sees while it is unset)`);
    }
    const result = definition.schema['~standard'].validate(definition.default);
    if (!(result instanceof Promise) && result.issues) {
      throw new SessionError('INVALID_ARGUMENT', `createSessionRouter(): the default of param "${name}" does not pass its schema: ${result.issues[0]?.message ?? 'invalid'}`);
    }
  }
}
