// Loopback clients for the forwarder tests: one TCP exchange and one UDP datagram to 127.0.0.1.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** One TCP exchange: sends `data`, half-closes, resolves with all that came back. */
export function tcp(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.end(data));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

/** One UDP datagram to 127.0.0.1:`port`; resolves with the first answer, rejects after 2 s. */
export function udp(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = createSocket('udp4');
    const t = setTimeout(() => {
      u.close();
      reject(new Error('no UDP answer'));
    }, 2000);
    u.on('message', (m) => {
      clearTimeout(t);
      u.close();
      resolve(m.toString());
    });
    u.send(data, port, '127.0.0.1');
  });
}
