// DSCP on real frames: tcpdump on the loopback interface while SPICE channels and a VNC
// connection run through the proxy; every connection's packets, on both legs the proxy sends,
// carry its kind's DSCP. (802.1p PCP needs a VLAN interface, which this machine's kernel lacks;
// the priority itself is checked on the sockets in traffic-class.test.ts.)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { spiceChannel, vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';

let guest: QemuGuest;
let gw: RunningGateway;
let alice: string;
const dir = mkdtempSync(join(tmpdir(), 'porthole-wire-'));
const DESKTOP = 'lab/d5c00000-0000-4000-8000-000000000001';

before(async () => {
  guest = await startQemuGuest();
  const uri = writeTestDriver(join(dir, 'node.xml'), [{
    name: 'wire', uuid: DESKTOP.slice(4), users: ['alice'],
    spice: { port: guest.spicePort, password: guest.spicePassword }, vnc: { port: guest.vncPort, password: guest.vncPassword },
  }]);
  gw = await startTestGateway({ libvirt: `lab=${uri}`, users: [{ name: 'alice', password: 'alice-password', role: 'user' }] });
  alice = await gw.signIn('alice', 'alice-password');
});

after(async () => {
  await gw?.close();
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Packet { tos: number; from: number; to: number }

/** tcpdump on lo for some ports; resolves with the packets seen once stopped. */
async function capture(ports: number[]): Promise<{ stop: () => Promise<Packet[]> }> {
  const filter = ports.map((p) => `port ${p}`).join(' or ');
  let child: ChildProcess;
  try {
    child = spawn('tcpdump', ['-i', 'lo', '-nn', '-v', '-l', '--immediate-mode', `tcp and (${filter})`], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new Error('tcpdump not found: apt-get install tcpdump');
  }
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.once('error', () => reject(new Error('tcpdump not found: apt-get install tcpdump')));
    child.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('listening on')) resolve(); });
    child.once('exit', (code) => reject(new Error(`tcpdump exited with ${code}`)));
  });
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      const packets: Packet[] = [];
      // -v prints the IP header (with tos) on one line and the addresses on the next.
      const re = /\(tos (0x[0-9a-f]+),[^\n]*\n\s+[\d.]+\.(\d+) > [\d.]+\.(\d+):/g;
      for (const m of out.matchAll(re)) packets.push({ tos: Number(m[1]), from: Number(m[2]), to: Number(m[3]) });
      return packets;
    },
  };
}

/** The DSCP of the last packet of each connection from `port` (sender side), by peer port. */
function lastDscpBy(packets: Packet[], select: (p: Packet) => number | undefined): Map<number, number> {
  const byConnection = new Map<number, number>();
  for (const p of packets) {
    const key = select(p);
    if (key !== undefined) byConnection.set(key, p.tos >> 2);
  }
  return byConnection;
}

const count = (values: Iterable<number>) => [...values].sort((a, b) => a - b);

test('each SPICE channel and the VNC connection carry their DSCP on both legs, on the wire', async () => {
  const dump = await capture([guest.spicePort, guest.vncPort, gw.port]);
  const [spice] = await gw.connect(alice, DESKTOP, { protocols: ['spice'] });
  const open = (protocol?: string) => new WireReader(gw.webSocket(spice!.url, { cookie: alice, ...(protocol ? { protocol } : {}) }));
  const main = open('binary');
  const { sessionId } = await spiceChannel(main, 0, 1);
  const channels = [main];
  for (const type of [2, 3, 4]) { // display, inputs, cursor
    const channel = open('binary');
    await spiceChannel(channel, sessionId!, type);
    channels.push(channel);
  }
  const [vnc] = await gw.connect(alice, DESKTOP, { protocols: ['vnc'] });
  const vncReader = new WireReader(gw.webSocket(vnc!.url, { cookie: alice }));
  await vncHandshake(vncReader);
  await new Promise((r) => setTimeout(r, 500));
  for (const c of [...channels, vncReader]) c.ws.close();
  const packets = await dump.stop();

  // Host-side leg: the proxy's packets to the displays.
  const toSpice = lastDscpBy(packets, (p) => (p.to === guest.spicePort ? p.from : undefined));
  const toVnc = lastDscpBy(packets, (p) => (p.to === guest.vncPort ? p.from : undefined));
  // Browser-side leg: the proxy's packets to the clients.
  const toClients = lastDscpBy(packets, (p) => (p.from === gw.port ? p.to : undefined));
  console.log(`# DSCP, host-side leg: SPICE connections ${count(toSpice.values()).join(', ')}; VNC ${count(toVnc.values()).join(', ')}`);
  console.log(`# DSCP, browser-side leg: ${count(toClients.values()).join(', ')} (main 18/AF21, display and cursor 34/AF41, inputs 32/CS4, VNC 34/AF41)`);
  assert.deepEqual(count(toSpice.values()), [18, 32, 34, 34], 'main AF21, inputs CS4, display and cursor AF41');
  assert.deepEqual(count(toVnc.values()), [34]);
  // The browser side also has the API calls' connections (unmarked, DSCP 0).
  assert.deepEqual(count(toClients.values()).filter((d) => d !== 0), [18, 32, 34, 34, 34]);
});
