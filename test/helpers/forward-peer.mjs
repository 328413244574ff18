// For test/integration/forward.test.ts, run inside the target network namespace:
//   node forward-peer.mjs PORT   (or node --input-type=module -e "$(cat forward-peer.mjs)" PORT)
// TCP on 127.0.0.1:PORT: writes the client's address and a newline, then echoes until the
// client half-closes, then ends. UDP on 127.0.0.1:PORT: answers each datagram with
// `ADDRESS DATAGRAM`. Prints `ready` once both listen.
import dgram from 'node:dgram';
import net from 'node:net';

const port = Number(process.argv.at(-1));
net
  .createServer({ allowHalfOpen: true }, (s) => {
    s.write(`${s.remoteAddress}\n`);
    s.pipe(s);
  })
  .listen(port, '127.0.0.1', () => {
    const u = dgram.createSocket('udp4');
    u.on('message', (m, r) => u.send(`${r.address} ${m}`, r.port, r.address));
    u.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
  });
