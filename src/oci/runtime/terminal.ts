/**
 * `run` in the foreground with process.terminal and no console socket: the caller's terminal
 * is relayed to the container's pty, as runc does (tty.go): the caller's terminal in raw mode,
 * its input copied to the pty's master and the master's output to our stdout, the window size
 * copied at once and on every SIGWINCH (which is then not forwarded), and the terminal
 * restored at the end. The pty's ONLCR is cleared first, as runc's recvtty does.
 * @internal
 * @module
 */
import type { Pty } from '../../namespaces/pty.js';

/** A relay between this process's stdio and a pty master; `done()` once the output has ended. */
export interface TerminalRelay {
  /** Resolves once the container's side has hung up and its output is written; then restores our terminal. */
  done(): Promise<void>;
}

/** The caller's window size onto the pty, when stdout (or stderr) is a terminal. */
function copySize(pty: Pty): void {
  const tty = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  if (tty && tty.columns > 0 && tty.rows > 0) {
    try {
      pty.resize(tty.rows, tty.columns);
    } catch {
      // the pty is gone: the relay ends by itself
    }
  }
}

/** Starts relaying: raw mode on our stdin when it is a terminal, the size, SIGWINCH. */
export function relayTerminal(pty: Pty): TerminalRelay {
  // runc's ClearONLCR: our terminal (raw in Node's sense, which keeps output processing)
  // translates \n itself, so the pty must not, or each line would end \r\r\n.
  try {
    pty.setOnlcr(false);
  } catch {
    // the pty is gone: the relay ends by itself
  }
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  copySize(pty);
  const onWinch = () => copySize(pty);
  process.on('SIGWINCH', onWinch);
  const stream = pty.stream();
  stdin.pipe(stream);
  stream.pipe(process.stdout, { end: false });
  const ended = new Promise<void>((res) => {
    stream.once('end', res);
    stream.once('close', res);
    stream.once('error', () => res());
  });
  return {
    async done() {
      await ended;
      process.off('SIGWINCH', onWinch);
      stdin.unpipe(stream);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      stdin.unref?.();
      pty.close();
    },
  };
}
