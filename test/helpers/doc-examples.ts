// The fenced code blocks of README.md and docs/*.md, with the marker each one carries
// (docs/ci.md, "Examples in the docs"). Used by test/unit/doc-examples.test.ts (every block is
// marked, every marker is valid) and test/integration/doc-examples.test.ts (the run blocks run).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A block that is executed: `<!-- example: run [root] [node>=N] [cgroup2=a,b] [exit=N] [timeout=MS] -->`. */
export interface RunMarker {
  kind: 'run';
  /** Needs root: skipped, with that reason, when the suite runs unprivileged. */
  root: boolean;
  /** Needs at least this Node major version (`node>=24`, for `using`). */
  node?: number;
  /** Needs these controllers in the cgroup v2 root's cgroup.controllers. */
  cgroup2?: string[];
  /** The exit status it must end with (default 0). */
  exit: number;
  /** Killed (its whole process group) after this many milliseconds (default 20000). */
  timeout: number;
}

/** A block that is not executed, with the reason: fragment, sample (illustrative text), not-run. */
export interface ReasonMarker {
  kind: 'fragment' | 'sample' | 'not-run';
  reason: string;
}

/** The expected standard output of the nearest `run` block before it in the same file. */
export interface OutputMarker {
  kind: 'output';
}

export type Marker = RunMarker | ReasonMarker | OutputMarker;

/** One fenced code block. */
export interface DocBlock {
  /** Path relative to the repository, e.g. `docs/fs.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word (`js`, `sh`, `text`, … or `''`). */
  lang: string;
  /** The content, without the fences and without the fence's indentation. */
  code: string;
  /** The marker on the last non-blank line before the fence, or null. */
  marker: Marker | null;
  /** Why the marker line is invalid, when it is. */
  markerError?: string;
  /** For a run block: its `output` block, if it has one. */
  output?: DocBlock;
}

/** Languages a run block may have: what the runner knows how to execute. */
export const RUN_LANGS = ['js', 'sh'];

const MARKER = /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/;

function parseMarker(text: string): { marker?: Marker; error?: string } {
  const m = /^(run|output|fragment|sample|not-run)\b(.*)$/s.exec(text);
  if (!m) return { error: `unknown kind in '${text}' (run, output, fragment, sample, not-run)` };
  const kind = m[1]!;
  const rest = m[2]!.trim();
  if (kind === 'fragment' || kind === 'sample' || kind === 'not-run') {
    const reason = rest.replace(/^:\s*/, '');
    if (!rest.startsWith(':') || reason === '') return { error: `'${kind}' needs a reason: <!-- example: ${kind}: why -->` };
    return { marker: { kind, reason } };
  }
  if (kind === 'output') return rest === '' ? { marker: { kind } } : { error: `'output' takes no words (got '${rest}')` };
  const run: RunMarker = { kind: 'run', root: false, exit: 0, timeout: 20_000 };
  for (const word of rest.split(/\s+/).filter((w) => w !== '')) {
    let v: RegExpExecArray | null;
    if (word === 'root') run.root = true;
    else if ((v = /^node>=(\d+)$/.exec(word))) run.node = Number(v[1]);
    else if ((v = /^cgroup2=([a-z_,]+)$/.exec(word))) run.cgroup2 = v[1]!.split(',');
    else if ((v = /^exit=(\d+)$/.exec(word))) run.exit = Number(v[1]);
    else if ((v = /^timeout=(\d+)$/.exec(word))) run.timeout = Number(v[1]);
    else return { error: `unknown run option '${word}' (root, node>=N, cgroup2=a,b, exit=N, timeout=MS)` };
  }
  return { marker: run };
}

/** The fenced blocks of one Markdown text. */
export function parseBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  let lastRun: DocBlock | undefined;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(l);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const mk = k >= 0 ? MARKER.exec(lines[k]!) : null;
    const block: DocBlock = { file, line: i + 1, lang: info.split(/\s+/)[0] ?? '', code: `${body.join('\n')}\n`, marker: null };
    if (mk) {
      const { marker, error } = parseMarker(mk[1]!);
      if (marker) block.marker = marker;
      else block.markerError = error!;
    }
    if (block.marker?.kind === 'run') lastRun = block;
    if (block.marker?.kind === 'output') {
      if (!lastRun) block.markerError = 'an output block needs a run block before it in the same file';
      else if (lastRun.output) block.markerError = `${file}:${lastRun.line} already has an output block`;
      else lastRun.output = block;
    }
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/** Every block of README.md and docs/*.md under `root`. */
export function docBlocks(root: string): DocBlock[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((f) => parseBlocks(f, readFileSync(join(root, f), 'utf8')));
}

/**
 * Whether `actual` is the stated output: line by line, where `…` inside a line matches any
 * text and a line that is only `…` matches any number of lines.
 */
export function outputMatches(expected: string, actual: string): boolean {
  if (expected.trim() === '') return actual === '';
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = expected.replace(/\n$/, '').split('\n');
  const re = lines.map((l) => (l.trim() === '…' ? '(?:[^\\n]*\\n)*?' : `${l.split('…').map(esc).join('[^\\n]*')}\\n`)).join('');
  const text = actual === '' || actual.endsWith('\n') ? actual : `${actual}\n`;
  return new RegExp(`^${re}$`).test(text);
}
