import { describe, expect, it } from 'vitest';
import { checkDocs, extractBlocks, formatReport } from './docsCheck.js';

// The code a newcomer copies from README.md and docs/ compiles against the packages as they
// are. (README's first server example is also run: examples/examples.test.ts.)
describe('the code blocks of README.md and docs/', () => {
  it('every TypeScript block typechecks against the packages', async () => {
    const report = await checkDocs();
    expect(report.checked.length).toBeGreaterThan(40);
    expect(report.problems, formatReport(report)).toEqual([]);
  }, 120_000);

  it('a broken block is reported with its file, line and the compiler error', async () => {
    const report = await checkDocs({
      sources: {
        'docs/planted.md': [
          '# Planted',
          '',
          '```ts',
          "import { Session } from '@isosession/server';",
          "const s = await Session.new('driver:file', null, { Directory: '/tmp/x' });",
          "s.parm('visits', 1);",
          '```',
          '',
          '```ts fragment',
          "session.param('theme', 'dark');",
          '```',
        ].join('\n'),
      },
    });
    expect(report.checked).toHaveLength(2);
    expect(report.problems).toEqual([{ file: 'docs/planted.md', line: 3, message: expect.stringMatching(/^block line 3: TS2551: Property 'parm' does not exist/) }]);
  }, 120_000);
});

describe('extractBlocks', () => {
  it('reads the fence markers: fragment, file=, continues, skip with its reason', () => {
    const blocks = extractBlocks('x.md', ['```ts file=lib/a.ts', 'export const a = 1;', '```', '```ts continues', 'a;', '```', '```ts skip: shows an error on purpose', 'nope(', '```', '```tsx fragment', '<b />', '```', '```sh', 'ls', '```'].join('\n'));
    expect(blocks.map(({ line, kind, path, skipReason }) => ({ line, kind, path, skipReason }))).toEqual([
      { line: 1, kind: 'module', path: 'lib/a.ts', skipReason: undefined },
      { line: 7, kind: 'skip', path: undefined, skipReason: 'shows an error on purpose' },
      { line: 10, kind: 'fragment', path: undefined, skipReason: undefined },
    ]);
    expect(blocks[0]!.code).toContain('a;');
  });

  it('refuses a skip without a reason, an unknown marker and an unclosed block, naming the line', () => {
    expect(() => extractBlocks('x.md', '```ts skip\n1\n```')).toThrow(/x\.md:1: "skip" needs a reason/);
    expect(() => extractBlocks('x.md', 'text\n```ts runnable\n1\n```')).toThrow(/x\.md:2: unknown code block marker "runnable"/);
    expect(() => extractBlocks('x.md', '```ts\n1\n')).toThrow(/x\.md:1: code block is never closed/);
  });
});
