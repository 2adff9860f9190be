import { randomBytes } from 'node:crypto';
import { mkdtemp, opendir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Session } from '@isosession/server';

// `npm run bench -- filedir`: does one directory holding a million session files slow the
// file store down? Session files are written straight to disk (as the driver stores them:
// the serialized table, mode 0600), then the same requests — load + param + flush of an
// existing session, create + flush — are timed against that directory and against one
// holding 1,000 files, and the directory is walked once (opendir, as find does).

const DAY = 86_400;

async function populate(directory: string, count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const sample: string[] = [];
  const ids = (function* () {
    for (let i = 0; i < count; i++) yield i;
  })();
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let next = ids.next(); !next.done; next = ids.next()) {
      const id = randomBytes(16).toString('hex');
      const table = { _SESSION_ID: id, _SESSION_CTIME: now, _SESSION_ATIME: now, _SESSION_ETIME: DAY, user: `user${next.value}`, theme: 'dark' };
      await writeFile(join(directory, `cgisess_${id}`), JSON.stringify(table), { mode: 0o600 });
      if (next.value % Math.max(1, Math.floor(count / 2000)) === 0) sample.push(id);
    }
  }));
  return sample;
}

function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99) };
}

async function requests(directory: string, ids: string[], rounds: number) {
  const load: number[] = [];
  const create: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let begin = performance.now();
    const session = await Session.load('driver:file', ids[i % ids.length]!, { Directory: directory });
    session.param('n', i);
    await session.flush();
    load.push(performance.now() - begin);
    begin = performance.now();
    const fresh = await Session.new('driver:file', null, { Directory: directory });
    fresh.param('n', i);
    await fresh.flush();
    create.push(performance.now() - begin);
  }
  return { load: percentiles(load), create: percentiles(create) };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { files: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '2000' } } });
  const count = Number(values.files);
  const rounds = Number(values.rounds);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const small = await mkdtemp(join(tmpdir(), 'isosession-filedir-small-'));
  const large = await mkdtemp(join(tmpdir(), 'isosession-filedir-large-'));
  try {
    log(`writing 1,000 and ${count.toLocaleString('en')} session files`);
    const smallIds = await populate(small, 1000);
    let started = Date.now();
    const largeIds = await populate(large, count);
    const writeSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    let walked = 0;
    for await (const entry of await opendir(large, { bufferSize: 256 })) if (entry.name.startsWith('cgisess_')) walked += 1;
    const walkSeconds = (Date.now() - started) / 1000;
    log('timing requests');
    const inSmall = await requests(small, smallIds, rounds);
    const inLarge = await requests(large, largeIds, rounds);
    const inSmallAgain = await requests(small, smallIds, rounds);
    const report = [
      `# One directory, ${count.toLocaleString('en')} session files (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
      '',
      `Written in ${writeSeconds.toFixed(0)} s; walked (opendir, as find does) in ${walkSeconds.toFixed(2)} s (${walked.toLocaleString('en')} names).`,
      `Each request ${rounds} times, one at a time; ms.`,
      '',
      '| directory | load + param + flush p50 / p99 | create + flush p50 / p99 |',
      '|---|--:|--:|',
      `| 1,000 files | ${inSmall.load.p50} / ${inSmall.load.p99} | ${inSmall.create.p50} / ${inSmall.create.p99} |`,
      `| ${count.toLocaleString('en')} files | ${inLarge.load.p50} / ${inLarge.load.p99} | ${inLarge.create.p50} / ${inLarge.create.p99} |`,
      `| 1,000 files, again | ${inSmallAgain.load.p50} / ${inSmallAgain.load.p99} | ${inSmallAgain.create.p50} / ${inSmallAgain.create.p99} |`,
      '',
    ].join('\n');
    process.stdout.write(report);
  } finally {
    await Session.closeAll();
    await rm(small, { recursive: true, force: true });
    await rm(large, { recursive: true, force: true });
  }
}
