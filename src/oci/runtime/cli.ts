/**
 * The `nsbox-oci` command line: global flags, `--help` and `--version`, then the one command
 * asked, run by the module that `load` gives it. tsc's `dist/oci-cli.js` loads a command as
 * its ES module; the bin npm links (`dist/oci-runtime/nsbox-oci.cjs`, scripts/bundle-oci.mjs)
 * loads that command's own linked file, so a command parses and runs only its own code.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COMMANDS, GLOBAL_FLAGS, commandHelp, globalHelp, parseCommand, parseFlags } from './args.js';
import type { CommandMain } from './context.js';
import { UsageError } from './errors.js';
import { Log } from './log.js';
import { print } from './output.js';
import { defaultRoot, Store } from './store.js';

/** Gives the module that runs a command (`CommandSpec.module`: `create`, `query`…). */
export type LoadCommand = (module: string) => Promise<{ main: CommandMain }>;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `nsbox-oci version ${pkg.version}\nspec: 1.2.0\n`;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: readonly string[], load: LoadCommand): Promise<number> {
  let log = new Log(undefined, undefined, false);
  try {
    const g = parseFlags(argv, GLOBAL_FLAGS, true);
    log = new Log(g.flags.log as string | undefined, g.flags['log-format'] as string | undefined, g.flags.debug === true);
    if (g.flags.version) {
      print(version());
      return 0;
    }
    const name = g.args[0];
    if (g.flags.help || name === undefined || name === 'help') {
      print(globalHelp());
      return name === undefined && !g.flags.help ? 1 : 0;
    }
    if (g.flags['systemd-cgroup'])
      throw new UsageError(
        '--systemd-cgroup: nsbox-oci has no systemd cgroup driver (it manages cgroup v2 directly); run without --systemd-cgroup',
      );
    const rootless = g.flags.rootless as string | undefined;
    if (rootless !== undefined && !['true', 'false', 'auto'].includes(rootless))
      throw new UsageError(`--rootless: "${rootless}" is not true, false or auto`);
    const cmd = COMMANDS.find((c) => c.name === name);
    if (cmd === undefined) throw new UsageError(`no such command: ${name}`);
    const p = parseCommand(cmd, g.args.slice(1));
    if (p.flags.help) {
      print(commandHelp(cmd));
      return 0;
    }
    const root = resolve((g.flags.root as string | undefined) ?? defaultRoot());
    const mod = await load(cmd.module);
    return await mod.main({ command: cmd.name, flags: p.flags, args: p.args, store: new Store(root), log });
  } catch (err) {
    log.error(errorText(err));
    return 1;
  }
}

/**
 * The message of a failure: ours as written, the library's (SysError, config errors) by their
 * message. By `name`, not `instanceof`: a command's linked file has its own copy of the error
 * classes.
 */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'UsageError') return `${err.message}\nTry 'nsbox-oci --help' for more information.`;
  return err.message;
}

/** Runs the command line of this process and sets its exit status. */
export function run(load: LoadCommand): void {
  main(process.argv.slice(2), load).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`nsbox-oci: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
