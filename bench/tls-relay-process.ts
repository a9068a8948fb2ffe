// The floor for any proxy in Node on this machine: a bare TLS-to-TCP relay (Node's TLS server,
// a pipe each way, no WebSocket, no token, no handshake checks) to one synthetic display. Its
// CPU per GB is what TLS and the kernel's copies cost alone; a WebSocket proxy cannot go below
// it. Prints its port as a JSON line. Usage: tls-relay-process.js CERT KEY DISPLAY_PORT
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { createServer } from 'node:tls';

const [cert, key, displayPort] = process.argv.slice(2) as [string, string, string];
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (client) => {
  const display = connect(Number(displayPort), '127.0.0.1');
  client.setNoDelay(true);
  display.setNoDelay(true);
  client.pipe(display);
  display.pipe(client);
  const end = () => {
    client.destroy();
    display.destroy();
  };
  client.on('error', end);
  display.on('error', end);
  client.on('close', end);
  display.on('close', end);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
