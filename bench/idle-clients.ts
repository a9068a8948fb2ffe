// The idle-session load for the memory benchmark, in a process of its own so that its sockets
// and buffers are not counted against the proxy and do not share its file-descriptor limit:
// opens one WebSocket per URL (100 at a time), completes each RFB handshake as noVNC would,
// prints "ready N" and holds every session open, silent, until it is terminated.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const { urls, protocols, origin, ca } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { urls: string[]; protocols: string[]; origin: string; ca: string };
const open: WebSocket[] = [];

function session(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { origin, ca, perMessageDeflate: false });
    let got = 0;
    let stage = 0;
    ws.on('message', (data: Buffer) => {
      got += data.length;
      if (stage === 0 && got >= 12) { ws.send(Buffer.from('RFB 003.008\n')); stage = 1; }
      if (stage === 1 && got >= 14) { ws.send(Buffer.from([1])); stage = 2; }
      if (stage === 2 && got >= 18) { ws.send(Buffer.from([1])); stage = 3; }
      if (stage === 3 && got >= 18 + 24 + 5) { stage = 4; open.push(ws); resolve(); }
    });
    ws.on('error', reject);
    ws.on('close', () => { if (stage < 4) reject(new Error('closed during the handshake')); });
  });
}

let next = 0;
async function worker(): Promise<void> {
  while (next < urls.length) await session(urls[next++]!);
}
await Promise.all(Array.from({ length: 100 }, worker));
process.stdout.write(`ready ${open.length}\n`);
process.on('SIGTERM', () => {
  for (const ws of open) ws.terminate();
  process.exit(0);
});
setInterval(() => {}, 60_000);
