// A static busybox (Debian busybox-static) and a directory rootfs made of it, for the tests that
// start containers on a root of their own.
import { chmodSync, copyFileSync, existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The static busybox's path (a dynamic one is under 500 kB), or undefined. */
export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);

/** `rootfs` with `dirs` made, /bin/busybox and a symlink to it for each applet (all by default). */
export function busyboxRootfs(rootfs: string, dirs: readonly string[], applets?: readonly string[]): void {
  for (const d of ['bin', ...dirs]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX!, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const names = applets ?? execFileSync(BUSYBOX!, ['--list'], { encoding: 'utf8' }).trim().split('\n');
  for (const a of names) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
}
