// The fenced code blocks of README.md and docs/*.md, with the marker each one carries
// (docs/ci.md, "Examples in the docs"), and how one run block is run. Used by
// test/unit/doc-examples.test.ts (every block is marked, every marker is valid),
// test/integration/doc-examples.test.ts (the run blocks run on the host) and
// test/guest/doc-examples.test.mjs (those needing cgroup v2 controllers run in the guest).
// Plain JavaScript with JSDoc types, so that node --test in the guest can load it too.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A block that is executed: `<!-- example: run [root] [node>=N] [cgroup2=a,b] [exit=N] [timeout=MS] -->`.
 * `root`: skipped, with that reason, when unprivileged; `node`: the least Node major version
 * (`node>=24`, for `using`); `cgroup2`: controllers the v2 root must offer; `exit`: the exit
 * status it must end with (default 0); `timeout`: its process group is killed after this many
 * milliseconds (default 20000).
 * @typedef {{ kind: 'run', root: boolean, node?: number, cgroup2?: string[], exit: number, timeout: number }} RunMarker
 */
/**
 * A block that is not executed, with the reason: fragment, sample (illustrative text), not-run.
 * @typedef {{ kind: 'fragment' | 'sample' | 'not-run', reason: string }} ReasonMarker
 */
/**
 * The expected standard output of the nearest `run` block before it in the same file.
 * @typedef {{ kind: 'output' }} OutputMarker
 */
/** @typedef {RunMarker | ReasonMarker | OutputMarker} Marker */
/**
 * One fenced code block: `file` relative to the repository (`docs/fs.md`), `line` of the
 * opening fence (1-based), `lang` the info string's first word (`js`, `sh`, `text`, … or `''`),
 * `code` without the fences and their indentation, `marker` from the last non-blank line before
 * the fence (or null), `markerError` why that line is invalid, `output` a run block's output block.
 * @typedef {{ file: string, line: number, lang: string, code: string, marker: Marker | null, markerError?: string, output?: DocBlock }} DocBlock
 */

/** Languages a run block may have: what the runner knows how to execute. */
export const RUN_LANGS = ['js', 'sh'];

const MARKER = /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/;

/** @param {string} text @returns {{ marker?: Marker, error?: string }} */
function parseMarker(text) {
  const m = /^(run|output|fragment|sample|not-run)\b(.*)$/s.exec(text);
  if (!m) return { error: `unknown kind in '${text}' (run, output, fragment, sample, not-run)` };
  const kind = m[1];
  const rest = m[2].trim();
  if (kind === 'fragment' || kind === 'sample' || kind === 'not-run') {
    const reason = rest.replace(/^:\s*/, '');
    if (!rest.startsWith(':') || reason === '') return { error: `'${kind}' needs a reason: <!-- example: ${kind}: why -->` };
    return { marker: { kind, reason } };
  }
  if (kind === 'output') return rest === '' ? { marker: { kind } } : { error: `'output' takes no words (got '${rest}')` };
  /** @type {RunMarker} */
  const run = { kind: 'run', root: false, exit: 0, timeout: 20_000 };
  for (const word of rest.split(/\s+/).filter((w) => w !== '')) {
    let v;
    if (word === 'root') run.root = true;
    else if ((v = /^node>=(\d+)$/.exec(word))) run.node = Number(v[1]);
    else if ((v = /^cgroup2=([a-z_,]+)$/.exec(word))) run.cgroup2 = v[1].split(',');
    else if ((v = /^exit=(\d+)$/.exec(word))) run.exit = Number(v[1]);
    else if ((v = /^timeout=(\d+)$/.exec(word))) run.timeout = Number(v[1]);
    else return { error: `unknown run option '${word}' (root, node>=N, cgroup2=a,b, exit=N, timeout=MS)` };
  }
  return { marker: run };
}

/** The fenced blocks of one Markdown text. @param {string} file @param {string} text @returns {DocBlock[]} */
export function parseBlocks(file, text) {
  const lines = text.split('\n');
  /** @type {DocBlock[]} */
  const blocks = [];
  /** @type {DocBlock | undefined} */
  let lastRun;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j];
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(l);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const mk = k >= 0 ? MARKER.exec(lines[k]) : null;
    /** @type {DocBlock} */
    const block = { file, line: i + 1, lang: info.split(/\s+/)[0] ?? '', code: `${body.join('\n')}\n`, marker: null };
    if (mk) {
      const { marker, error } = parseMarker(mk[1]);
      if (marker) block.marker = marker;
      else block.markerError = error;
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

/** Every block of README.md and docs/*.md under `root`. @param {string} root @returns {DocBlock[]} */
export function docBlocks(root) {
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
 * @param {string} expected @param {string} actual @returns {boolean}
 */
export function outputMatches(expected, actual) {
  if (expected.trim() === '') return actual === '';
  const esc = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = expected.replace(/\n$/, '').split('\n');
  const re = lines.map((l) => (l.trim() === '…' ? '(?:[^\\n]*\\n)*?' : `${l.split('…').map(esc).join('[^\\n]*')}\\n`)).join('');
  const text = actual === '' || actual.endsWith('\n') ? actual : `${actual}\n`;
  return new RegExp(`^${re}$`).test(text);
}

/**
 * A scratch directory laid out as a user's project that installed nsbox: node_modules/nsbox is
 * a symlink to the repository at `root` (so `import 'nsbox'` resolves through package.json's
 * exports to dist/), and node_modules/.bin/nsbox runs dist/cli.js (nsbox-oci: dist/oci-cli.js)
 * as npm's bin links would.
 * @param {string} root @returns {string}
 */
export function makeScratch(root) {
  const scratch = mkdtempSync(join(tmpdir(), 'docex-'));
  chmodSync(scratch, 0o755); // searchable by the examples' sandboxed users (PATH lookups pass through it)
  mkdirSync(join(scratch, 'node_modules/.bin'), { recursive: true });
  symlinkSync(root, join(scratch, 'node_modules/nsbox'));
  for (const [name, file] of [
    ['nsbox', 'dist/nsbox-cli/nsbox.cjs'],
    ['nsbox-oci', 'dist/oci-cli.js'],
  ]) {
    const bin = join(scratch, 'node_modules/.bin', name);
    writeFileSync(bin, `#!/bin/sh\nexec '${process.execPath}' '${join(root, file)}' "$@"\n`);
    chmodSync(bin, 0o755);
  }
  return scratch;
}

const STD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Runs one block in its own process group, in a fresh directory of `scratch` (see makeScratch),
 * killing the group after `timeout` ms.
 * @param {string} scratch @param {DocBlock} block @param {number} timeout
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function runBlock(scratch, block, timeout) {
  const dir = mkdtempSync(join(scratch, 'run-'));
  chmodSync(dir, 0o755);
  symlinkSync('../node_modules', join(dir, 'node_modules'));
  const file = join(dir, block.lang === 'js' ? 'example.mjs' : 'example.sh');
  writeFileSync(file, block.code);
  const [cmd, args] = block.lang === 'js' ? [process.execPath, [file]] : ['/bin/sh', ['-e', file]];
  const child = spawn(cmd, args, {
    cwd: dir,
    detached: true, // its own process group, killed whole on timeout
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // A plain PATH, as a user's: a test runner's (root's ~/.local/bin…) is not searchable by
      // a sandboxed user, and execvp then reports EACCES rather than ENOENT for a missing command.
      PATH: [join(dir, 'node_modules/.bin'), dirname(process.execPath), ...STD_PATH].join(':'),
      npm_config_offline: 'true', // npx finds nsbox in node_modules/.bin; never the registry
      npm_config_update_notifier: 'false',
      NODE_OPTIONS: '',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeout);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
