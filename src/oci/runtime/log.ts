/**
 * The runtime's log: `--log FILE` in `--log-format` text (logrus's, as runc writes it:
 * `time="…" level=error msg="…"`) or json (`{"level":"error","msg":"…","time":"…"}`, the
 * lines podman reads to tell the user why a container failed). Errors also go to stderr;
 * warnings go to stderr when there is no --log. Written synchronously (the command may exit
 * right after).
 * @internal
 * @module
 */
import { appendFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { print } from './output.js';

/** A line for stderr; one that cannot be written (stderr closed) is lost, as nothing else could say it. */
function stderr(text: string): void {
  try {
    print(text, 2);
  } catch {
    // nowhere to say it
  }
}

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export class Log {
  readonly #file: string | undefined;
  readonly #json: boolean;
  readonly #debug: boolean;

  constructor(file: string | undefined, format: string | undefined, debug: boolean) {
    if (format !== undefined && format !== 'text' && format !== 'json')
      throw new UsageError(`--log-format: "${format}" is not text or json`);
    this.#file = file === '' ? undefined : file;
    this.#json = format === 'json';
    this.#debug = debug;
  }

  #line(level: LogLevel, msg: string): string {
    const time = new Date().toISOString();
    if (this.#json) return `${JSON.stringify({ level, msg, time })}\n`;
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  #write(level: LogLevel, msg: string): boolean {
    if (this.#file === undefined) return false;
    try {
      appendFileSync(this.#file, this.#line(level, msg), { mode: 0o600 });
      return true;
    } catch (err) {
      stderr(`nsbox-oci: cannot write --log ${this.#file}: ${(err as Error).message}\n`);
      return false;
    }
  }

  error(msg: string): void {
    this.#write('error', msg);
    stderr(`nsbox-oci: ${msg}\n`);
  }

  warn(msg: string): void {
    if (!this.#write('warning', msg)) stderr(`nsbox-oci: warning: ${msg}\n`);
  }

  debug(msg: string): void {
    if (this.#debug && !this.#write('debug', msg)) stderr(`nsbox-oci: debug: ${msg}\n`);
  }
}
