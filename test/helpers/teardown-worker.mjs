// One worker of test/helpers/teardown-stress.mjs: keeps every kind of native object busy
// (spawns with a user namespace, netlink sockets, mount and cgroup watches, namespace and
// mount handles it never closes) until the main thread terminates it, wherever it is.
import { parentPort, workerData } from 'node:worker_threads';

const m = await import(workerData.dist);
const { cgroupDir } = workerData;
const cg = cgroupDir ? m.cgroup(cgroupDir) : null;
let spawns = 0;
const counter = new Int32Array(workerData.counter);

// A few objects that only teardown can close: the kernel objects of a worker must not
// outlive it (docs/threading.md, "When a worker ends").
const kept = [];
const holdSome = () => {
  kept.push(m.openNamespace('net'), m.openNamespace('user'));
  if (workerData.root) {
    kept.push(m.createNamespace('net'), m.createNamespace('uts'), m.fsopen('tmpfs'));
    kept.push(m.openTree('/tmp', { recursive: false }));
  }
};

const busy = async () => {
  for (;;) {
    // Spawn with a user namespace (the case that aborted the process: issue 10, defect 4).
    const c = m.spawn('true', { namespaces: ['user'], stdio: 'ignore' });
    Atomics.add(counter, 0, 1);
    const sleeper = m.spawn('sleep', ['60'], { namespaces: ['user', 'net'], stdio: 'pipe' });
    Atomics.add(counter, 0, 1);
    spawns += 2;
    m.links().catch(() => {});
    if (spawns < 24) {
      // Bounded, so that a long-lived worker does not run out of fds.
      kept.push(m.openNamespace('net'));
      m.watchMounts()
        .next()
        .catch(() => {});
      if (cg)
        cg.events('cgroup')
          .next()
          .catch(() => {});
      m.events();
    }
    await c.exited;
    if (spawns % 8 === 0) {
      sleeper.kill('SIGKILL');
      await sleeper.exited;
    }
  }
};

holdSome();
parentPort.postMessage({ ready: true });
busy().catch((err) => parentPort.postMessage({ error: String(err?.stack ?? err) }));
