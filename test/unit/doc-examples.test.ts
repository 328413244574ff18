// Every fenced block in README.md and docs/*.md says what it is (docs/ci.md, "Examples in the
// docs"): run (test/integration/doc-examples.test.ts executes it), output (asserted), or
// fragment / sample / not-run with a reason. An unmarked block fails here, so a new example
// cannot slip in untested.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { RUN_LANGS, docBlocks, outputMatches, parseBlocks } from '../helpers/doc-examples.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const blocks = docBlocks(root);

test('every fenced block in README.md and docs/*.md carries a valid example marker', () => {
  const problems = blocks.flatMap((b) => {
    const at = `${b.file}:${b.line}`;
    if (b.markerError) return [`${at}: ${b.markerError}`];
    if (!b.marker)
      return [`${at}: unmarked \`\`\`${b.lang} block (add <!-- example: run|output|fragment: why|sample: why|not-run: why -->)`];
    if (b.marker.kind === 'run' && !RUN_LANGS.includes(b.lang))
      return [`${at}: a run block must be ${RUN_LANGS.join(' or ')}, not '${b.lang}'`];
    return [];
  });
  expect(problems).toEqual([]);
  expect(blocks.length).toBeGreaterThan(20);
});

test('a run block in JavaScript is plain JavaScript for our engines (no TypeScript syntax; `using` only with node>=24)', async () => {
  const ts = (await import('typescript')).default;
  const opts = {
    reportDiagnostics: true,
    compilerOptions: { allowJs: true, target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext },
  };
  const bad = blocks
    .filter((b) => b.marker?.kind === 'run' && b.lang === 'js')
    .flatMap((b) => {
      const at = `${b.file}:${b.line}`;
      const diags = ts.transpileModule(b.code, { ...opts, fileName: 'example.mjs' }).diagnostics ?? [];
      const out = diags.map((d) => `${at}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
      const needs24 = b.marker?.kind === 'run' && (b.marker.node ?? 0) >= 24;
      if (!needs24 && /^\s*(await\s+)?using\s+[\w{[]/m.test(b.code))
        out.push(`${at}: \`using\` needs Node 24: use try/finally, or mark the block node>=24`);
      return out;
    });
  expect(bad).toEqual([]);
});

describe('the marker parser', () => {
  test('an unmarked block, an unknown kind, a reason missing, and an orphan output are all reported', () => {
    const md = [
      '```js',
      'x',
      '```',
      '<!-- example: runn -->',
      '```js',
      '```',
      '<!-- example: fragment -->',
      '```ts',
      '```',
      '<!-- example: output -->',
      '```text',
      '```',
    ].join('\n');
    const [a, b, c, d] = parseBlocks('t.md', md);
    expect(a!.marker).toBeNull();
    expect(b!.markerError).toMatch(/unknown kind/);
    expect(c!.markerError).toMatch(/needs a reason/);
    expect(d!.markerError).toMatch(/needs a run block/);
  });

  test('run options, an indented fence, and the output block attached to its run block', () => {
    const md = [
      '- item',
      '  <!-- example: run root node>=24 cgroup2=memory,pids exit=3 timeout=5000 -->',
      '  ```js',
      '  console.log(1);',
      '  ```',
      '',
      '<!-- example: output -->',
      '```text',
      '1',
      '```',
    ].join('\n');
    const [run, out] = parseBlocks('t.md', md);
    expect(run!.marker).toEqual({ kind: 'run', root: true, node: 24, cgroup2: ['memory', 'pids'], exit: 3, timeout: 5000 });
    expect(run!.code).toBe('console.log(1);\n');
    expect(run!.output).toBe(out);
    expect(out!.code).toBe('1\n');
  });

  test('output matching: exact lines, … within a line, a line of … for any lines', () => {
    expect(outputMatches('a\nb\n', 'a\nb\n')).toBe(true);
    expect(outputMatches('a\nb\n', 'a\nb\nc\n')).toBe(false);
    expect(outputMatches('net:[…]\n', 'net:[4026531840]\n')).toBe(true);
    expect(outputMatches('0000: ld […\n…\nend\n', '0000: ld [4]\n1\n2\nend\n')).toBe(true);
    expect(outputMatches('x.y\n', 'xzy\n')).toBe(false);
    expect(outputMatches('', '')).toBe(true);
  });
});
