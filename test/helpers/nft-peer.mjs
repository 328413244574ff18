// For test/integration/nft.test.ts, run inside a network namespace (`ip netns exec NS node …`):
//   serve PORT            TCP and UDP on PORT; each answers with the address it saw the client
//                         come from; prints `ready` once both listen.
//   tcp|udp HOST PORT     one exchange; prints the answer, or `timeout` after 1.5 s.
//   own DIST NETNS SUBNET masquerade() from nsbox at DIST, prints the table name, then waits
//                         (the test SIGKILLs it).
import dgram from 'node:dgram';
import net from 'node:net';

const [, , mode, a, b, c] = process.argv;
if (mode === 'serve') {
  const port = Number(a);
  net
    .createServer((s) => s.end(`${s.remoteAddress}\n`))
    .listen(port, '0.0.0.0', () => {
      const u = dgram.createSocket('udp4');
      u.on('message', (_m, r) => u.send(`${r.address}\n`, r.port, r.address));
      u.bind(port, '0.0.0.0', () => process.stdout.write('ready\n'));
    });
} else if (mode === 'tcp' || mode === 'udp') {
  const done = (s) => {
    process.stdout.write(`${s.trim()}\n`);
    process.exit(0);
  };
  setTimeout(() => done('timeout'), 1500);
  if (mode === 'tcp') {
    let got = '';
    net
      .connect(Number(b), a)
      .on('data', (d) => (got += d))
      .on('end', () => done(got))
      .on('error', (e) => done(e.code));
  } else {
    const u = dgram.createSocket('udp4');
    u.on('message', (m) => done(m.toString()));
    u.send('hi', Number(b), a);
  }
} else if (mode === 'own') {
  const { masquerade } = await import(a);
  const h = await masquerade({ netns: b, subnet: c });
  process.stdout.write(`${h.table}\n`);
  setInterval(() => {}, 1000);
}
