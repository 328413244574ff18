/**
 * What a command prints: written at once with write(2) on fd 1 or 2, as runc prints it,
 * without `process.stdout`/`process.stderr`: making those loads Node's streams, a noticeable
 * part of `state`'s start-up. A descriptor its giver left non-blocking and full (EAGAIN)
 * takes the rest through the stream after all.
 * @internal
 * @module
 */
import { writeSync } from 'node:fs';

/** Writes `text` to fd 1 (stdout) or 2 (stderr). @throws the write's error (EPIPE, EBADF…). */
export function print(text: string, fd: 1 | 2 = 1): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(off));
      return;
    }
  }
}
