// The registry of the isosession copy this process runs. The peers servers run isosession from
// its build (the dist/ folders, what an npm user installs), so closing drivers or wrapping one
// must reach that copy's registry, not a second one loaded from source.
type Registry = typeof import('../../packages/server/src/registry.js');

const entry = import.meta.resolve('@isosession/server');
export const { closeAllDrivers, getDriverFactory }: Registry = await import(entry.replace(/index\.(js|ts)$/, 'registry.$1'));
