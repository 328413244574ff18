/**
 * The `nsbox` command line: `--help`, `--version`, `run` (run.ts) and `network`. The network
 * module (network.ts: nf_tables, rtnetlink, the named networks, most of the library a run
 * does not need) is imported only by the commands that use it. In the bin npm links
 * (`dist/nsbox-cli/nsbox.cjs`, scripts/bundle.mjs) this module and everything it imports
 * statically are one linked file, `cli.cjs`; that import loads the second, `rest.cjs`, the
 * first time it is asked for. A module is in one file only, so its classes are the same for
 * every part.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { exitWhenWritten, watchStdio } from '../exit-now.js';
import { UsageError, helpText, parseArgs } from './args.js';
import { EXIT_NSBOX, TRY_HELP } from './exit.js';
import { runCommand } from './run.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

let ran = false;

/**
 * Whether this process ran a command to its end (`run` or `network`, whatever its status): the
 * bin writes its code cache only then (src/cli/bin.ts), so that `--help`, `--version` and
 * usage errors never fill the cache's few generations with code that a run does not use.
 * @internal
 */
export function ranCommand(): boolean {
  return ran;
}

/**
 * Runs the `nsbox` command with `argv` (the arguments after the script) and resolves with
 * the exit status to use. Writes only to stderr/stdout for help, version and errors, and
 * never touches stdin: the command owns the terminal while it runs.
 * @internal
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const parsed = parseArgs(argv);
    if (parsed.action === 'help') {
      process.stdout.write(helpText());
      return 0;
    }
    if (parsed.action === 'version') {
      process.stdout.write(`nsbox ${version()}\n`);
      return 0;
    }
    const status =
      parsed.action === 'network'
        ? await (await import('./network.js')).networkCommand(
            parsed.network,
            (t) => process.stdout.write(t),
            (t) => process.stderr.write(t),
          )
        : await runCommand(parsed.run);
    ran = true;
    return status;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nsbox: ${err.message}${TRY_HELP}\n`);
    return EXIT_NSBOX;
  }
}

/** Runs the command line of this process and exits with its status. @internal */
export function start(): void {
  watchStdio();
  main(process.argv.slice(2)).then(
    (status) => exitWhenWritten(status),
    (err: unknown) => {
      process.stderr.write(`nsbox: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      exitWhenWritten(EXIT_NSBOX);
    },
  );
}
