#!/usr/bin/env node
// npm 11 records an optional platform package (next's @next/swc-*, turbo's @turbo/*) in
// package-lock.json only when the registry it talks to has it; a registry mirror that carries
// just this machine's platform leaves the others out, and `npm ci` then refuses the lock as out
// of sync ("Missing: @turbo/darwin-64@ from lock file"). This adds the missing records, with
// their os/cpu so npm skips them on other platforms, from the registry when it has them and
// from the package name otherwise. Run after any `npm install` that changes the lock.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM_NAMES = [
  [/darwin-arm64/, { os: ['darwin'], cpu: ['arm64'] }],
  [/darwin-(x64|64)/, { os: ['darwin'], cpu: ['x64'] }],
  [/(win32|windows)-arm64/, { os: ['win32'], cpu: ['arm64'] }],
  [/(win32|windows)-(x64|64)/, { os: ['win32'], cpu: ['x64'] }],
  [/linux-arm64-musl/, { os: ['linux'], cpu: ['arm64'], libc: ['musl'] }],
  [/linux-x64-musl/, { os: ['linux'], cpu: ['x64'], libc: ['musl'] }],
  [/linux-arm64/, { os: ['linux'], cpu: ['arm64'] }],
  [/linux-(x64|64)/, { os: ['linux'], cpu: ['x64'] }],
];

function fromRegistry(name, range) {
  try {
    const out = execFileSync('npm', ['view', `${name}@${range}`, '--json', 'version', 'dist.integrity', 'os', 'cpu', 'libc', 'license'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const view = JSON.parse(out);
    const last = Array.isArray(view) ? view[view.length - 1] : view;
    if (!last || last.error) return undefined;
    return { version: last.version, integrity: last['dist.integrity'], os: last.os, cpu: last.cpu, libc: last.libc, license: last.license };
  } catch {
    return undefined;
  }
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    if (packages[`node_modules/${name}`] || packages[`${path}/node_modules/${name}`]) continue;
    const platform = PLATFORM_NAMES.find(([pattern]) => pattern.test(name))?.[1];
    const known = fromRegistry(name, range);
    if (!known && (!platform || !/^\d+\.\d+\.\d+/.test(range))) {
      process.stderr.write(`completeLockfile: cannot describe ${name}@${range}; left out\n`);
      continue;
    }
    const record = { version: known?.version ?? range };
    if (known?.integrity) record.integrity = known.integrity;
    if (meta.dev) record.dev = true;
    const cpu = known?.cpu ?? platform?.cpu;
    const libc = known?.libc ?? platform?.libc;
    const os = known?.os ?? platform?.os;
    if (cpu) record.cpu = cpu;
    if (libc) record.libc = libc;
    if (known?.license) record.license = known.license;
    record.optional = true;
    if (os) record.os = os;
    packages[`node_modules/${name}`] = record;
    added += 1;
  }
}
const [rootKey, ...rest] = Object.keys(packages);
lock.packages = Object.fromEntries([[rootKey, packages[rootKey]], ...rest.sort().map((key) => [key, packages[key]])]);
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`completeLockfile: ${added} optional platform record(s) added\n`);
