// Every TypeScript code block in README.md and docs/*.md, typechecked against the packages as a
// user's app would import them: what a newcomer copies must compile. Run by
// scripts/docsCheck.test.ts (part of `npm run test:unit`) and by hand:
//   node --import tsx scripts/docsCheck.ts
//
// A block is a module of its own. The words after the fence's language say how to treat it:
//   ```ts                 self-contained: compiles as written
//   ```ts fragment        a few lines out of a larger program: compiled after FRAGMENT_PRELUDE,
//                         which declares the names such snippets take for granted (req, res, dir…)
//   ```ts continues       appended to the previous TypeScript block of the same file
//   ```ts skip: <reason>  not compiled; the reason is mandatory and reported
//   ```ts file=lib/x.ts   written at that path (with `fragment` or alone): blocks of one
//                         markdown file share a directory, so one block can import another
//                         ('./lib/x' or '@/lib/x', as in a Next.js app)
//
// Resolution is a bundler's (Next.js, Playwright, Vite), as in the apps these docs are for.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface DocBlock {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'tsx';
  kind: 'module' | 'fragment' | 'skip';
  skipReason?: string;
  /** Where it is written, relative to its markdown file's directory (`file=`). */
  path?: string;
  code: string;
}

export interface DocProblem {
  file: string;
  line: number;
  message: string;
}

export interface DocsCheckReport {
  checked: DocBlock[];
  skipped: DocBlock[];
  problems: DocProblem[];
}

const FENCE = /^```(ts|tsx|typescript)(?:[ \t]+(.*))?$/;

/** The TypeScript blocks of one markdown text, `continues` blocks already joined to their predecessor. */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!.trimEnd());
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: code block is never closed`);
    const lang = open[1] === 'tsx' ? 'tsx' : 'ts';
    const meta = (open[2] ?? '').trim();
    const code = body.join('\n') + '\n';
    if (meta === 'continues') {
      const previous = blocks.at(-1);
      if (!previous) throw new Error(`${file}:${start + 1}: a "continues" block with no block before it`);
      previous.code += `\n// ${file}:${start + 1}\n${code}`;
      continue;
    }
    if (meta.startsWith('skip')) {
      const reason = /^skip:\s*(\S.*)$/.exec(meta)?.[1];
      if (!reason) throw new Error(`${file}:${start + 1}: "skip" needs a reason: \`\`\`ts skip: <why this block cannot compile>`);
      blocks.push({ file, line: start + 1, lang, kind: 'skip', skipReason: reason, code });
      continue;
    }
    const words = meta.split(/\s+/).filter(Boolean);
    const path = words.find((word) => word.startsWith('file='))?.slice('file='.length);
    const unknown = words.filter((word) => word !== 'fragment' && !word.startsWith('file='));
    if (unknown.length > 0) throw new Error(`${file}:${start + 1}: unknown code block marker "${unknown.join(' ')}" (use fragment, file=<path>, continues or skip: <reason>)`);
    blocks.push({ file, line: start + 1, lang, kind: words.includes('fragment') ? 'fragment' : 'module', code, ...(path ? { path } : {}) });
  }
  return blocks;
}

/**
 * What a `fragment` block may use without declaring it: the packages' main exports and the
 * request, response and values the surrounding (unshown) code would have. A name the block
 * imports or declares itself is left out.
 */
const FRAGMENT_NAMES: [name: string, declaration: string][] = [
  ['Session', "import { Session } from '@isosession/server';"],
  ['SessionError', "import { SessionError } from '@isosession/server';"],
  ['purgeExpired', "import { purgeExpired } from '@isosession/server';"],
  ['getSession', "import { getSession } from '@isosession/next';"],
  ['createSessionRouter', "import { createSessionRouter } from '@isosession/trpc';"],
  ['createSessionContext', "import { createSessionContext } from '@isosession/trpc';"],
  ['req', "declare const req: import('node:http').IncomingMessage;"],
  ['res', "declare const res: import('node:http').ServerResponse;"],
  ['request', 'declare const request: Request;'],
  ['session', "declare const session: import('@isosession/server').Session;"],
  ['dir', 'declare const dir: string;'],
  ['sid', 'declare const sid: string;'],
  ['dsn', 'declare const dsn: string;'],
  ['dsnArgs', 'declare const dsnArgs: Record<string, unknown>;'],
  ['sessionParams', "declare const sessionParams: import('@isosession/server').SessionParams;"],
  ['userId', 'declare const userId: string;'],
];

export function fragmentPrelude(code: string): string {
  const ownName = (name: string) =>
    new RegExp(`\\bimport\\b[^;]*\\b${name}\\b[^;]*\\bfrom\\b|\\b(const|let|var|function|class)\\s+${name}\\b`).test(code);
  return FRAGMENT_NAMES.filter(([name]) => !ownName(name)).map(([, declaration]) => declaration).join('\n') + '\n';
}

function markdownFiles(): Promise<string[]> {
  return readdir(join(repoRoot, 'docs')).then((names) => ['README.md', ...names.filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)]);
}

/** Extracts every block, writes each as a module under `.docs-check/`, typechecks them in one program. */
export async function checkDocs(options: { files?: string[]; sources?: Record<string, string> } = {}): Promise<DocsCheckReport> {
  const blocks: DocBlock[] = [];
  if (options.sources) {
    for (const [file, markdown] of Object.entries(options.sources)) blocks.push(...extractBlocks(file, markdown));
  } else {
    for (const file of options.files ?? (await markdownFiles())) blocks.push(...extractBlocks(file, await readFile(join(repoRoot, file), 'utf8')));
  }

  // Inside the repository, so that `@isosession/*` resolves through node_modules as in an app.
  const outDir = await mkdtemp(join(repoRoot, '.docs-check-'));
  try {
    return await typecheckBlocks(blocks, outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function typecheckBlocks(blocks: DocBlock[], outDir: string): Promise<DocsCheckReport> {
  const byPath = new Map<string, { block: DocBlock; offset: number }>();
  const checked = blocks.filter((block) => block.kind !== 'skip');
  for (const block of checked) {
    const docDir = join(outDir, block.file.replace(/[/.]/g, '_'));
    const path = join(docDir, block.path ?? `block_${block.line}.${block.lang}`);
    await mkdir(dirname(path), { recursive: true });
    const prelude = block.kind === 'fragment' ? fragmentPrelude(block.code) : '';
    // `export {}` makes a block without imports a module, so two blocks never share globals.
    // '@/lib/x' is the markdown file's own directory of blocks, as a Next.js app maps it.
    const toDocDir = relative(dirname(path), docDir) || '.';
    const code = block.code.replace(/(['"])@\//g, `$1${toDocDir}/`);
    await writeFile(path, `${prelude}${code}\nexport {};\n`);
    byPath.set(path, { block, offset: prelude.split('\n').length - 1 });
  }

  const base = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.base.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!base) throw new Error('cannot read tsconfig.base.json');
  const program = ts.createProgram([...byPath.keys()], {
    ...base.options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    rootDir: undefined,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    jsx: ts.JsxEmit.ReactJSX,
    types: ['node', 'react', 'react-dom'],
  });
  const problems: DocProblem[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const source = diagnostic.file ? byPath.get(diagnostic.file.fileName) : undefined;
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!source || diagnostic.start === undefined) {
      problems.push({ file: diagnostic.file ? relative(repoRoot, diagnostic.file.fileName) : '(program)', line: 0, message: `TS${diagnostic.code}: ${text}` });
      continue;
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
    const inBlock = line - source.offset;
    const where = inBlock < 0 ? 'in the fragment prelude' : `block line ${inBlock + 1}`;
    problems.push({ file: source.block.file, line: source.block.line, message: `${where}: TS${diagnostic.code}: ${text}` });
  }
  return { checked, skipped: blocks.filter((block) => block.kind === 'skip'), problems };
}

export function formatReport(report: DocsCheckReport): string {
  const lines = report.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
  for (const block of report.skipped) lines.push(`${block.file}:${block.line}: skipped: ${block.skipReason}`);
  lines.push(`${report.checked.length} code blocks typechecked, ${report.skipped.length} skipped, ${report.problems.length} problems`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await checkDocs();
  process.stdout.write(formatReport(report) + '\n');
  process.exitCode = report.problems.length > 0 ? 1 : 0;
}
