// DSCP and priority on real packets: tcpdump on the loopback interface while SPICE channels and
// a VNC connection run through the proxy; every connection's packets, on both legs the proxy
// sends, carry its kind's DSCP. The priority (SO_PRIORITY, which a VLAN's egress-qos-map turns
// into the 802.1p PCP bits) is read per packet by the kernel's own nftables (`meta priority`
// into a counting set): this machine's kernel has no VLAN support (no 8021q), so the PCP bits
// themselves cannot be put on a frame here, but their input is checked packet by packet.
// The nftables table only counts (policy accept) and is removed afterwards.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

const TABLE = `porthole_wire_${process.pid}`;

/** nft, given a script on stdin; throws with its message. */
function nft(args: string[], script?: string): string {
  const run = spawnSync('nft', args, { input: script, encoding: 'utf8' });
  if (run.error) throw new Error('nft not found: apt-get install nftables');
  if (run.status !== 0) throw new Error(`nft ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** Counts the proxy's packets per connection and priority, on both legs. */
function countPriorities(proxyPort: number, displayPorts: number[]): { read(): { client: Map<number, Set<number>>; display: Map<number, Set<number>> }; remove(): void } {
  nft(['-f', '-'], `table inet ${TABLE} {
    set client { typeof tcp dport . meta priority; flags dynamic; counter; size 4096; }
    set display { typeof tcp sport . meta priority; flags dynamic; counter; size 4096; }
    chain out {
      type filter hook output priority 0; policy accept;
      tcp sport ${proxyPort} add @client { tcp dport . meta priority }
      tcp dport { ${displayPorts.join(', ')} } add @display { tcp sport . meta priority }
    }
  }`);
  const readSet = (name: string) => {
    const json = JSON.parse(nft(['-j', 'list', 'set', 'inet', TABLE, name])) as { nftables: Array<{ set?: { elem?: Array<{ elem: { val: { concat: [number, string] } } }> } }> };
    const byPort = new Map<number, Set<number>>();
    for (const entry of json.nftables.find((e) => e.set)?.set?.elem ?? []) {
      const [port, classid] = entry.elem.val.concat;
      // SO_PRIORITY n is classid 0:n; nft prints 0 as "none".
      const priority = classid === 'none' ? 0 : Number(classid.split(':')[1]);
      byPort.set(port, (byPort.get(port) ?? new Set()).add(priority));
    }
    return byPort;
  };
  return {
    read: () => ({ client: readSet('client'), display: readSet('display') }),
    remove: () => { spawnSync('nft', ['delete', 'table', 'inet', TABLE]); },
  };
}

after(async () => {
  spawnSync('nft', ['delete', 'table', 'inet', TABLE]);
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

test('each SPICE channel and the VNC connection carry their DSCP and priority on both legs, on the wire', async () => {
  const dump = await capture([guest.spicePort, guest.vncPort, gw.port]);
  const priorities = countPriorities(gw.port, [guest.spicePort, guest.vncPort]);
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
  const seen = priorities.read();
  priorities.remove();

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

  // Priorities, per connection, paired with its DSCP: each marked connection carries exactly one
  // priority besides 0 (its TLS handshake and upgrade answer, or its SYN, go out before the
  // proxy knows the connection's kind), and it is its kind's.
  const pairs = (dscps: Map<number, number>, byPort: Map<number, Set<number>>) => [...dscps].filter(([, d]) => d !== 0).map(([port, dscp]) => {
    const marked = [...(byPort.get(port) ?? [])].filter((p) => p !== 0);
    assert.equal(marked.length, 1, `connection on port ${port}: priorities ${[...(byPort.get(port) ?? [])].join(',')}`);
    return `${dscp}/${marked[0]}`;
  }).sort();
  const hostSide = pairs(new Map([...toSpice, ...toVnc]), seen.display);
  const browserSide = pairs(toClients, seen.client);
  console.log(`# DSCP/priority, host-side leg: ${hostSide.join(', ')}; browser-side leg: ${browserSide.join(', ')} (priority = the 802.1p PCP through a VLAN's egress-qos-map)`);
  assert.deepEqual(hostSide, ['18/4', '32/6', '34/5', '34/5', '34/5'], 'main 4, inputs 6, display, cursor and VNC 5');
  assert.deepEqual(browserSide, ['18/4', '32/6', '34/5', '34/5', '34/5']);
});
