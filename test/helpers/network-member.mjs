// For test/unit/network.test.ts: joins network NAME of STATEDIR as MEMBER through nsbox at
// DIST, prints its address, then holds the claim until killed (or leaves on SIGTERM). The
// claims only: no direct-access protection (isolate: false), which needs CAP_NET_ADMIN.
const [, , dist, stateDir, name, member] = process.argv;
const { openNetwork } = await import(dist);
const m = await (await openNetwork(name, { stateDir })).join(member, { isolate: false });
process.stdout.write(`${m.address}\n`);
process.on('SIGTERM', () => m.leave().then(() => process.exit(0)));
setInterval(() => {}, 1000);
