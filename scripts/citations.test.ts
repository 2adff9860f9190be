import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './docsCheck.js';

// Comments and test names cite the rules of docs/design.md (S1…, H1…). A cited number that
// the document does not define, or a citation of something not in this repository (an issue
// tracker number, the house style by number), leaves a reader with nowhere to look.
const ROOTS = ['packages', 'apps', 'reliability', 'e2e', 'bench', 'examples', 'scripts', 'docs'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.next', '.next-e2e', '.turbo', 'results', 'test-results']);
const SOURCE = /\.(ts|tsx|md)$/;

async function sources(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) found.push(...(await sources(join(dir, entry.name))));
    } else if (SOURCE.test(entry.name)) found.push(join(dir, entry.name));
  }
  return found;
}

export function undefinedCitations(text: string, defined: Set<string>): string[] {
  return [...new Set(text.match(/\b[SH]\d{1,3}\b/g) ?? [])].filter((rule) => !defined.has(rule));
}

export const FOREIGN_CITATION = /house style \d|\bstyle rule \d|SEMANTICS\.md|shared\/(DESIGN|STYLE)\.md|\bissues? \d+\b/i;

describe('rule citations', () => {
  it('every S<n> and H<n> cited in the code and docs is defined in docs/design.md, and nothing cites a document outside the repository', async () => {
    const design = await readFile(join(repoRoot, 'docs', 'design.md'), 'utf8');
    const defined = new Set([...design.matchAll(/^- \*\*([SH]\d+)\*\*/gm)].map((match) => match[1]!));
    expect(defined.size).toBe(83 + 13);
    const bad: string[] = [];
    for (const root of ROOTS) {
      for (const file of await sources(join(repoRoot, root))) {
        const name = relative(repoRoot, file);
        if (name === 'docs/design.md' || name === 'scripts/citations.test.ts') continue;
        const lines = (await readFile(file, 'utf8')).split('\n');
        lines.forEach((line, index) => {
          // Only where a rule is meant: "S54:", "(S12)", "S1–S16", "H7 in docs/design.md"…
          if (!/\b[SH]\d{1,3}\b/.test(line) && !FOREIGN_CITATION.test(line)) return;
          // H<n> also names things that are not rules (HTML headings): only in a citation's shape.
          const missing = undefinedCitations(line, defined).filter((rule) => rule.startsWith('S') || /\bH\d+ in docs\/design\.md|\(H\d+|\bH\d+[,:)]/.test(line));
          if (missing.length > 0) bad.push(`${name}:${index + 1}: cites ${missing.join(', ')}, not in docs/design.md`);
          if (FOREIGN_CITATION.test(line)) bad.push(`${name}:${index + 1}: cites a document outside the repository: ${line.trim().slice(0, 120)}`);
        });
      }
    }
    expect(bad).toEqual([]);
  }, 60_000);

  it('finds a rule number the document does not define', () => {
    const defined = new Set(['S1', 'S54', 'H7']);
    expect(undefinedCitations('// S54: the later flush wins; see also S99 and H7', defined)).toEqual(['S99']);
    expect(FOREIGN_CITATION.test('// house style 3: one contract suite')).toBe(true);
    expect(FOREIGN_CITATION.test('// as issue 12 asked')).toBe(true);
    expect(FOREIGN_CITATION.test('// S54: no lost updates')).toBe(false);
  });
});
