import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { perlCgiSessionAvailable } from './testing/perlCgiSession.js';
import { runPerlInterop } from './testing/perlInteropSuite.js';

// A file store shared with the real Perl CGI::Session 4.48 (Debian libcgi-session-perl).

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe.runIf(perlCgiSessionAvailable())('Perl CGI::Session and isosession on one file store', () => {
  runPerlInterop({
    label: 'file',
    perlDriver: 'driver:file',
    nodeDriver: 'driver:file',
    async setup() {
      const directory = await mkdtemp(join(tmpdir(), 'isosession-perl-file-'));
      directories.push(directory);
      // Perl's UMask is the mode it creates files with (before the process umask): 0640 here,
      // which isosession reads without SharedDirectory (same user, no group write).
      return { perlArgs: { Directory: directory, UMask: 0o640 }, nodeArgs: { Directory: directory } };
    },
  });
});
