// The idle-session load for the memory benchmark, in a process of its own so that its sockets
// and buffers are not counted against the proxy and do not share its file-descriptor limit.
// Given how many sessions to open, it asks the harness for URLs in batches ("need" on stdout,
// one URL per line back on stdin: tokens live 60 s, so they are made just in time), opens them
// 100 at a time, completes each RFB handshake as noVNC would, prints "ready N" and holds every
// session open, silent, until it is terminated. It is the capacity test's browsers too: what a
// paced display streams is read and dropped. `cookie` is the sign-in cookie a browser sends
// along to the full product.
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const { sessions, protocols, origin, ca, ciphers, cookie } = JSON.parse(process.argv[2]!) as {
  sessions: number;
  protocols: string[];
  origin: string;
  ca: string;
  ciphers: string;
  cookie?: string;
};
const open: WebSocket[] = [];
const queue: string[] = [];
let asked = false;
let waiting: Array<() => void> = [];
createInterface({ input: process.stdin }).on('line', (url) => {
  queue.push(url);
  asked = false;
  const woken = waiting;
  waiting = [];
  for (const wake of woken) wake();
});

async function nextUrl(): Promise<string> {
  while (queue.length === 0) {
    if (!asked) {
      asked = true;
      process.stdout.write('need\n');
    }
    await new Promise<void>((r) => {
      waiting.push(r);
    });
  }
  if (queue.length < 50 && !asked) {
    asked = true;
    process.stdout.write('need\n');
  }
  return queue.shift()!;
}

function session(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, {
      origin,
      ca,
      ciphers,
      perMessageDeflate: false,
      ...(cookie ? { headers: { cookie } } : {}),
    });
    let got = 0;
    let stage = 0;
    ws.on('message', (data: Buffer) => {
      got += data.length;
      if (stage === 0 && got >= 12) {
        ws.send(Buffer.from('RFB 003.008\n'));
        stage = 1;
      }
      if (stage === 1 && got >= 14) {
        ws.send(Buffer.from([1]));
        stage = 2;
      }
      if (stage === 2 && got >= 18) {
        ws.send(Buffer.from([1]));
        stage = 3;
      }
      if (stage === 3 && got >= 18 + 24 + 5) {
        stage = 4;
        open.push(ws);
        resolve();
      }
    });
    ws.on('error', reject);
    ws.on('close', (code, reason) => {
      if (stage < 4) reject(new Error(`session ${open.length + 1} closed during the handshake: ${code} ${reason.toString()}`));
    });
  });
}

let started = 0;
async function worker(): Promise<void> {
  while (started < sessions) {
    started++;
    await session(await nextUrl());
  }
}
await Promise.all(Array.from({ length: 100 }, worker));
process.stdout.write(`ready ${open.length}\n`);
process.on('SIGTERM', () => {
  for (const ws of open) ws.terminate();
  process.exit(0);
});
setInterval(() => {}, 60_000);
