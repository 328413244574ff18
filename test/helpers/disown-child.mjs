// For test/integration/start-gate.test.ts: `exec --detach` as an OCI runtime does it. Spawns
// `true` behind a start gate, disowns it, starts it, waits until it has exited, then prints
// the state letter of /proc/PID/stat (Z: exited and NOT reaped by us — its status is left for
// our subreaper or init once we exit), then `running` and `kill()`.
// argv: <dist/index.js> <gate path>
import { readFileSync } from 'node:fs';

const [, , dist, gate] = process.argv;
const { spawn, openStartGate } = await import(dist);
const child = spawn('true', [], { namespaces: ['user', 'pid', 'mnt'], rootfs: 'host', stdio: 'ignore', startGate: gate });
child.disown();
await openStartGate(gate);
const state = () => /\) (\S)/.exec(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))?.[1];
for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 10));
await new Promise((r) => setTimeout(r, 100)); // time for a watcher to reap, were there one
process.stdout.write(`${state()} ${child.running} ${child.kill(0)}\n`);
