/**
 * The warnings isosession emits (`process.emitWarning` with an `ISOSESSION_*` code) while a
 * test runs. Tests that provoke one on purpose (a dead session bus, a planted file, a stored
 * value that fails its schema) take it here and assert on it; the test setup prints only the
 * ones nobody took, so `npm test` shows a warning only when it is a surprise.
 */
export interface CapturedWarning {
  code: string;
  name: string;
  message: string;
}

const KEY = Symbol.for('isosession.test.capturedWarnings');

/** The list the test setup fills (one per test worker process). */
export function capturedWarnings(): CapturedWarning[] {
  const holder = globalThis as { [KEY]?: CapturedWarning[] };
  return (holder[KEY] ??= []);
}

/**
 * Removes and returns the captured warnings with this code (all of them without one), after
 * letting any warning already emitted arrive (Node delivers them on a later tick).
 */
export async function takeWarnings(code?: string): Promise<CapturedWarning[]> {
  await new Promise((resolve) => setImmediate(resolve));
  const list = capturedWarnings();
  const taken = list.filter((warning) => code === undefined || warning.code === code);
  const kept = list.filter((warning) => !taken.includes(warning));
  list.splice(0, list.length, ...kept);
  return taken;
}
