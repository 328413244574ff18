#!/usr/bin/env node
// A Compose-like runner built only on nsbox's public API: the guide to composing nsbox into a
// Docker-like tool. It reads a JSON file (see compose.example.json):
//
//   { "name": "demo",                        the project: also the network's name
//     "network": { "subnet": "10.78.0.0/24" }, optional
//     "services": {
//       "web": { "image": "images/web",      a directory of layers, bottom first (sorted)
//                "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
//                "ports": ["8080:80"],        HOSTPORT:PORT[/udp], as docker run -p
//                "volumes": ["data:/data"] } } }   named volumes: NAME:/PATH
//
//   node compose.mjs up [-f FILE]             runs every service until SIGINT/SIGTERM
//   node compose.mjs down [-f FILE] [--volumes]
//
// Root only (bridges and NAT in the host's network namespace). What `up` makes, and who
// removes it:
//   - the network (bridge, subnet, NAT): createNetwork; removed by `down` (removeNetwork).
//   - each service's address and /etc/hosts naming every service: Network.join; the claim is
//     a lock this process holds, so a killed `up` frees it by itself.
//   - published ports: publishPorts, an nf_tables table owned by this process's socket: it
//     goes with the process, even on SIGKILL.
//   - the containers: spawn, killed with this process (dieWithParent is spawn's default).
//   - named volumes: directories under .nsbox-compose/volumes beside the file, bound with an
//     idmapped mount so the containers' root owns them as host root does; they outlive
//     `down` unless --volumes.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNetwork, openNetwork, publishPorts, removeNetwork, spawn } from 'nsbox';

const args = process.argv.slice(2);
const cmd = args[0];
const fileArg = args.indexOf('-f') >= 0 ? args[args.indexOf('-f') + 1] : 'compose.json';
const file = resolve(fileArg);
const project = JSON.parse(readFileSync(file, 'utf8'));
const base = dirname(file);
const stateDir = join(base, '.nsbox-compose');
const pidFile = join(stateDir, 'up.pid');

/** The layers of an image directory, bottom first. */
const layersOf = (image) => {
  const dir = resolve(base, image);
  return readdirSync(dir).sort().map((l) => join(dir, l));
};

/** `data:/data` → an idmapped bind of the named volume's directory. */
function volumeMount(spec) {
  const [name, target] = spec.split(':');
  const source = join(stateDir, 'volumes', name);
  mkdirSync(source, { recursive: true });
  return { type: 'bind', source, target, idmap: true };
}

/** `8080:80[/udp]` → a port of publishPorts. */
function port(spec, target) {
  const [ports, protocol = 'tcp'] = spec.split('/');
  const [hostPort, targetPort] = ports.split(':').map(Number);
  return { hostPort, targetPort, protocol, target };
}

/** Prefixes each line of a service's output with its name, as docker compose does. */
function relay(name, stream, out) {
  let rest = '';
  stream.setEncoding('utf8').on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    for (const l of lines) out.write(`${name} | ${l}\n`);
  });
}

async function up() {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(pidFile, `${process.pid}\n`);
  const subnet = project.network?.subnet;
  const net = await createNetwork(project.name, subnet ? { subnet } : {}).catch((err) => {
    if (err.code === 'ERR_NSBOX_NETWORK_EXISTS') return openNetwork(project.name); // a crashed `up`
    throw err;
  });
  const running = [];
  for (const [name, svc] of Object.entries(project.services)) {
    const member = await net.join(name);
    const ports = (svc.ports ?? []).map((p) => port(p, member.address));
    const published = ports.length > 0 ? await publishPorts({ ports }) : undefined;
    const { hostname, network, mounts } = member.spawnOptions();
    const child = spawn(svc.command[0], svc.command.slice(1), {
      namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'],
      init: true, // PID 1 is nsbox's init, which passes SIGTERM on to the command
      rootfs: { layers: layersOf(svc.image) },
      hostname,
      network,
      mounts: [...mounts, ...(svc.volumes ?? []).map(volumeMount)],
      env: { PATH: '/bin:/usr/bin', ...svc.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    relay(name, child.stdout, process.stdout);
    relay(name, child.stderr, process.stderr);
    running.push({ name, child, member, published });
    console.log(`${name}: ${member.address}${ports.map((p) => ` ${p.hostPort}->${p.targetPort}/${p.protocol}`).join('')}`);
  }
  const stop = () => running.forEach((r) => r.child.kill('SIGTERM'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log('up');
  // Each service: once it has exited, its ports go and it leaves the network.
  await Promise.all(
    running.map(async (r) => {
      const { code, signal } = await r.child.exited;
      console.log(`${r.name}: exited ${signal ?? code}`);
      await r.published?.close();
      await r.member.leave();
    }),
  );
  rmSync(pidFile, { force: true });
}

/** True while `pid` runs (a zombie, exited but not yet reaped by its parent, does not). */
function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function down() {
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGTERM'); // `up` stops its services, then exits
      for (let ms = 0; alive(pid); ms += 50) {
        if (ms === 10_000) process.kill(pid, 'SIGKILL'); // its services die with it
        await sleep(50);
      }
    } catch {
      // not running any more
    }
    rmSync(pidFile, { force: true });
  }
  await removeNetwork(project.name, { force: true }).catch((err) => {
    if (err.code !== 'ERR_NSBOX_NETWORK_NOT_FOUND') throw err;
  });
  if (args.includes('--volumes')) rmSync(stateDir, { recursive: true, force: true });
}

if (cmd === 'up') await up();
else if (cmd === 'down') await down();
else {
  console.error('usage: compose.mjs up|down [-f FILE] [--volumes]');
  process.exit(2);
}
