/** How many large params the crash test writes, and how long each is: about 5 MB in all. */
export const CRASH_PARAM_COUNT = 50;
const CRASH_PARAM_LENGTH = 100_000;

/** The params of generation `generation`: every one says which generation wrote it. */
export function crashParams(generation: number): Record<string, unknown> {
  const params: Record<string, unknown> = { generation };
  for (let k = 0; k < CRASH_PARAM_COUNT; k++) {
    const head = `${generation}:${k}:`;
    params[`blob${k}`] = head + String.fromCharCode(97 + ((generation + k) % 26)).repeat(CRASH_PARAM_LENGTH - head.length);
  }
  return params;
}

/** The crash test's sessions are far over the default size limits, on purpose. */
export const CRASH_SESSION_PARAMS = { maxParamBytes: 1024 * 1024, maxSessionBytes: 16 * 1024 * 1024 };
