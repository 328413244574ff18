// The OCI `create` process, for test/integration/start-gate.test.ts: spawns a container that
// waits at a start gate, prints its pid, and exits — by itself once the event loop is empty
// (`unref`), or with process.exit() (`exit`). The command, once started, writes to the volume.
// argv: <dist/index.js> <gate path> <volume dir> <unref|exit>
const [, , dist, gate, vol, how] = process.argv;
const { spawn } = await import(dist);
const child = spawn('sh', ['-c', 'echo "started as $$" > /vol/result'], {
  namespaces: ['user', 'pid', 'mnt'],
  rootfs: 'host',
  mounts: [{ type: 'bind', source: vol, target: '/vol' }],
  stdio: 'ignore',
  startGate: gate,
});
process.stdout.write(`${child.pid} ${child.gated}\n`);
if (how === 'exit') process.exit(0);
child.unref();
