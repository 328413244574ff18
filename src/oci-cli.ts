#!/usr/bin/env node
/**
 * The `nsbox-oci` command: an OCI runtime with runc's command line (create, start, state,
 * kill, delete, run, exec, list, ps, pause, resume, spec, features) on nsbox. Each command's
 * code is imported only when it runs, so `state` loads neither the addon nor the spawn code.
 * See `nsbox-oci --help` and docs/oci.md.
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COMMANDS, GLOBAL_FLAGS, commandHelp, globalHelp, parseCommand, parseFlags } from './oci/runtime/args.js';
import { RuntimeError, UsageError } from './oci/runtime/errors.js';
import { Log } from './oci/runtime/log.js';
import { defaultRoot, Store } from './oci/runtime/store.js';
import type { CommandMain } from './oci/runtime/context.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `nsbox-oci version ${pkg.version}\nspec: 1.2.0\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  let log = new Log(undefined, undefined, false);
  try {
    const g = parseFlags(argv, GLOBAL_FLAGS, true);
    log = new Log(g.flags.log as string | undefined, g.flags['log-format'] as string | undefined, g.flags.debug === true);
    if (g.flags.version) {
      process.stdout.write(version());
      return 0;
    }
    const name = g.args[0];
    if (g.flags.help || name === undefined || name === 'help') {
      process.stdout.write(globalHelp());
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
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    const root = resolve((g.flags.root as string | undefined) ?? defaultRoot());
    const mod = (await import(`./oci/runtime/commands/${cmd.module}.js`)) as { main: CommandMain };
    return await mod.main({ command: cmd.name, flags: p.flags, args: p.args, store: new Store(root), log });
  } catch (err) {
    log.error(errorText(err));
    return 1;
  }
}

/** The message of a failure: ours as written, the library's (SysError, config errors) by their message. */
function errorText(err: unknown): string {
  if (err instanceof UsageError) return `${err.message}\nTry 'nsbox-oci --help' for more information.`;
  if (err instanceof RuntimeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`nsbox-oci: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
