// Porthole's data path alone in its own process, so that its CPU time and memory can be read
// from /proc: an HTTPS server with the WebSocket proxy (VNC adapter), verifying tokens with a
// public key, with the synthetic displays as desktops (`bench/<mode>`). Prints its port as a JSON line.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Desktop } from '../contract/desktop.js';
import { DisplayProxy } from '../proxy/display-proxy.js';
import { TokenVerifier } from '../proxy/token-verifier.js';
import { VncAdapter } from '../proxy/vnc/adapter.js';

const [cert, key, publicKey, kid, origin, ...displays] = process.argv.slice(2) as [string, string, string, string, string, ...string[]];
/** One desktop per `mode=port` argument. */
const desktops = new Map<string, Desktop>(
  displays.map((d) => {
    const [mode, port] = d.split('=') as [string, string];
    return [
      `bench/${mode}`,
      {
        id: `bench/${mode}`,
        name: mode,
        hypervisor: 'bench',
        uuid: '00000000-0000-4000-8000-000000000000',
        power: false,
        state: 'running',
        users: ['bench'],
        groups: [],
        displays: [{ protocol: 'vnc', host: '127.0.0.1', port: Number(port) }],
      },
    ];
  }),
);
const proxy = new DisplayProxy({
  verifier: new TokenVerifier([[kid, readFileSync(publicKey, 'utf8')]]),
  targets: { get: async (id) => desktops.get(id) },
  origins: new Set([origin]),
  adapters: [new VncAdapter()],
  log: pino({ level: 'silent' }),
});
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) });
server.on('upgrade', (req, socket, head) => proxy.handleUpgrade(req, socket, head));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  proxy.close();
  server.close(() => process.exit(0));
});
