// The 802.1p/DSCP wire scenario, run inside the Debian-kernel machine (debian-kernel-vm.ts) as
// `node dist/test/bed/vlan-wire.js SHARE`. Porthole (`porthole serve`, as operators start it)
// runs in a network namespace of its own between two VLANs on veth pairs: VLAN 10 to the browser
// side (this process, 10.0.1.2) and VLAN 20 to the hypervisor side (QEMU's SPICE and VNC
// displays, 10.0.2.2). The VLAN interfaces map socket priority n to PCP n (egress-qos-map 0:0 ...
// 7:7), as a host would be set up. tcpdump on this side's veth ends records every frame Porthole
// sends, 802.1Q tag included, while four SPICE channels and a VNC connection are opened through
// it. What each connection carried goes to SHARE/wire.json (a WireObservation) for the test.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCertificate } from '../../certs/self-signed.js';
import { waitFor } from './deadline.js';
import { gatewayClient } from './gateway-client.js';
import { spiceChannel, vncHandshake, WireReader } from './protocol-clients.js';
import { startQemuGuest } from './qemu-guest.js';
import { writeTestDriver } from './test-driver.js';

export type WireLeg = 'browser' | 'hypervisor';
export type WireKind = 'spice-main' | 'spice-display' | 'spice-inputs' | 'spice-cursor' | 'vnc';

export interface WireConnection {
  leg: WireLeg;
  kind: WireKind;
  /** Frames Porthole sent on this connection, by "PCP/DSCP". */
  marks: Record<string, number>;
}

export interface WireObservation {
  connections: WireConnection[];
  /** Frames Porthole sent on either leg without an 802.1Q tag (none expected). */
  untagged: number;
  /** VLAN ids seen per leg. */
  vlans: Record<WireLeg, number[]>;
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const NS = 'porthole';
const GATEWAY = { browser: '10.0.1.1', hypervisor: '10.0.2.1' };
const PEER = { browser: '10.0.1.2', hypervisor: '10.0.2.2' };
const PORT = 8443;
const DESKTOP = 'd5c00000-0000-4000-8000-000000000002';
const SPICE_KINDS: Record<number, WireKind> = { 1: 'spice-main', 2: 'spice-display', 3: 'spice-inputs', 4: 'spice-cursor' };

const startedAt = Date.now();
/** Progress on standard output: the test shows it when the scenario fails (TCG is slow; where did the time go?). */
function progress(step: string): void {
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${step}`);
}

function ip(args: string): void {
  execFileSync('ip', args.split(' '), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Two veth pairs from here into Porthole's namespace, a VLAN on each, priority n -> PCP n. */
function buildNetwork(): void {
  const qos = 'egress-qos-map 0:0 1:1 2:2 3:3 4:4 5:5 6:6 7:7';
  ip(`netns add ${NS}`);
  ip(`-n ${NS} link set lo up`);
  for (const [leg, id, here, there] of [
    ['browser', 10, 'b0', 'b1'],
    ['hypervisor', 20, 'h0', 'h1'],
  ] as const) {
    ip(`link add ${here} type veth peer name ${there} netns ${NS}`);
    ip(`link add link ${here} name ${here}.${id} type vlan id ${id} ${qos}`);
    ip(`-n ${NS} link add link ${there} name ${there}.${id} type vlan id ${id} ${qos}`);
    ip(`addr add ${PEER[leg]}/24 dev ${here}.${id}`);
    ip(`-n ${NS} addr add ${GATEWAY[leg]}/24 dev ${there}.${id}`);
    for (const dev of [here, `${here}.${id}`]) ip(`link set ${dev} up`);
    for (const dev of [there, `${there}.${id}`]) ip(`-n ${NS} link set ${dev} up`);
  }
}

interface Frame {
  vlan?: number;
  pcp?: number;
  dscp: number;
  from: string;
  fromPort: number;
  to: string;
  toPort: number;
}

/** The frames tcpdump printed (-e -v) so far. */
function framesIn(out: string): Frame[] {
  // -e -v: "..., ethertype 802.1Q (0x8100), length N: vlan 10, p 5, ethertype IPv4 (0x0800), (tos 0x88, ...)"
  // then the addresses on the next line; untagged frames have no "vlan" part.
  const re = /ethertype ([^,]+),[^\n]*?(?:vlan (\d+), p (\d+), [^\n]*?)?\(tos (0x[0-9a-f]+),[^\n]*\n\s+([\d.]+)\.(\d+) > ([\d.]+)\.(\d+):/g;
  return [...out.matchAll(re)].map((m) => ({
    ...(m[2] !== undefined ? { vlan: Number(m[2]), pcp: Number(m[3]) } : {}),
    dscp: Number(m[4]) >> 2,
    from: m[5]!,
    fromPort: Number(m[6]),
    to: m[7]!,
    toPort: Number(m[8]),
  }));
}

/** tcpdump on an interface, with link-level headers: the frames so far, and all of them once stopped. */
async function capture(dev: string): Promise<{ frames(): Frame[]; stop(): Promise<Frame[]> }> {
  const child = spawn('tcpdump', ['-i', dev, '-e', '-nn', '-v', '-l', '--immediate-mode', 'tcp'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', () => reject(new Error('tcpdump not found: apt-get install tcpdump')));
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump on ${dev} exited with ${code}`)));
  });
  return {
    frames: () => framesIn(out),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT'); // tcpdump prints what it has captured, then exits
        await exited;
      }
      return framesIn(out);
    },
  };
}

async function waitUntilListening(client: ReturnType<typeof gatewayClient>, gateway: ChildProcess, log: () => string): Promise<void> {
  // Node loads the product over 9p under TCG: more than 120 s on two loaded cores.
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (gateway.exitCode !== null) throw new Error(`porthole serve exited with ${gateway.exitCode}:\n${log()}`);
    try {
      await client.api('GET', '/api/desktops');
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`porthole serve did not listen within 300 s:\n${log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** `porthole user add alice`, as an operator would. */
async function addUser(env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, ['bin/porthole.js', 'user', 'add', 'alice', '--role', 'user'], {
    cwd: REPO,
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end('alice-password\n');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`porthole user add exited with ${code}: ${stderr}`);
}

async function main(share: string): Promise<void> {
  buildNetwork();
  progress('network built');
  const data = join(tmpdir(), 'porthole-data');
  mkdirSync(data, { recursive: true });
  const tls = await ensureSelfSignedCertificate(GATEWAY.browser, join(data, 'certs'));
  const qemu = await startQemuGuest({ displaysOnly: true, address: PEER.hypervisor });
  progress('QEMU displays listening');
  const uri = writeTestDriver(join(data, 'node.xml'), [
    {
      name: 'wire',
      uuid: DESKTOP,
      users: ['alice'],
      spice: { port: qemu.spicePort, password: qemu.spicePassword, address: PEER.hypervisor },
      vnc: { port: qemu.vncPort, password: qemu.vncPassword, address: PEER.hypervisor },
    },
  ]);
  const origin = `https://${GATEWAY.browser}:${PORT}`;
  const env = {
    ...process.env,
    PORTHOLE_DATA: data,
    PORTHOLE_LISTEN: `${GATEWAY.browser}:${PORT}`,
    PORTHOLE_PUBLIC_URL: origin,
    PORTHOLE_LIBVIRT: `lab=${uri}`,
    PORTHOLE_TLS_CERT: tls.cert,
    PORTHOLE_TLS_KEY: tls.key,
    PORTHOLE_LOG_LEVEL: 'warn',
  };
  const gateway = spawn('ip', ['netns', 'exec', NS, process.execPath, 'bin/porthole.js', 'serve'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  gateway.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  gateway.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const dumps: Array<{ stop(): Promise<Frame[]> }> = [];
  try {
    const client = gatewayClient({ address: GATEWAY.browser, port: PORT, origin, ca: readFileSync(tls.cert) });
    // The local user is added while the gateway starts (each takes seconds under TCG): users are
    // read at sign-in, so the order does not matter.
    await Promise.all([waitUntilListening(client, gateway, () => log), addUser(env)]);
    progress('porthole serve listening, user added');
    const [browserDump, hypervisorDump] = [await capture('b0'), await capture('h0')];
    dumps.push(browserDump, hypervisorDump);
    progress('capturing');

    const cookie = await client.signIn('alice', 'alice-password');
    /** Browser-side port of each WebSocket, by kind; the display-side connections follow in the same order. */
    const opened: Array<{ kind: WireKind; port: number; protocol: 'spice' | 'vnc' }> = [];
    const open = (url: string, kind: WireKind, protocol: 'spice' | 'vnc') => {
      const ws = client.webSocket(url, { cookie, ...(protocol === 'spice' ? { protocol: 'binary' } : {}) });
      ws.once('upgrade', (res) => opened.push({ kind, protocol, port: res.socket.localPort! }));
      return new WireReader(ws);
    };
    const [spice] = await client.connect(cookie, DESKTOP, { protocols: ['spice'] });
    const main = open(spice!.url, 'spice-main', 'spice');
    const { sessionId } = await spiceChannel(main, 0, 1);
    const readers = [main];
    for (const type of [2, 3, 4]) {
      const channel = open(spice!.url, SPICE_KINDS[type]!, 'spice');
      await spiceChannel(channel, sessionId!, type);
      readers.push(channel);
    }
    const [vnc] = await client.connect(cookie, DESKTOP, { protocols: ['vnc'] });
    const vncReader = open(vnc!.url, 'vnc', 'vnc');
    await vncHandshake(vncReader);
    readers.push(vncReader);
    // Each connection carried frames on its leg of the wire, both ways of the gateway, before they close.
    const spiceSources = () =>
      new Set(
        hypervisorDump
          .frames()
          .filter((f) => f.toPort === qemu.spicePort)
          .map((f) => f.fromPort),
      ).size;
    await waitFor(
      () =>
        opened.length === readers.length &&
        opened.every((o) => browserDump.frames().some((f) => f.from === GATEWAY.browser && f.toPort === o.port)) &&
        spiceSources() === 4 &&
        hypervisorDump.frames().some((f) => f.toPort === qemu.vncPort),
      30_000,
      "every connection's frames on both legs",
      100,
    );
    for (const r of readers) r.ws.close();
    await Promise.all(readers.map((r) => r.closed));
    progress('connections opened and closed');

    const browserFrames = (await browserDump.stop()).filter((f) => f.from === GATEWAY.browser);
    const hypervisorFrames = (await hypervisorDump.stop()).filter((f) => f.from === GATEWAY.hypervisor);
    dumps.length = 0;
    const tally = (frames: Frame[]) =>
      frames.reduce<Record<string, number>>((marks, f) => {
        const key = `${f.pcp ?? '-'}/${f.dscp}`;
        marks[key] = (marks[key] ?? 0) + 1;
        return marks;
      }, {});
    const connections: WireConnection[] = [];
    for (const o of opened)
      connections.push({ leg: 'browser', kind: o.kind, marks: tally(browserFrames.filter((f) => f.toPort === o.port)) });
    // Display-side connections, each identified by Porthole's source port, in the order they opened.
    for (const [protocol, port] of [
      ['spice', qemu.spicePort],
      ['vnc', qemu.vncPort],
    ] as const) {
      const sources = [...new Set(hypervisorFrames.filter((f) => f.toPort === port).map((f) => f.fromPort))];
      const kinds = opened.filter((o) => o.protocol === protocol).map((o) => o.kind);
      if (sources.length !== kinds.length)
        throw new Error(`${sources.length} ${protocol} connections on the hypervisor side for ${kinds.length} WebSockets`);
      sources.forEach((source, i) =>
        connections.push({ leg: 'hypervisor', kind: kinds[i]!, marks: tally(hypervisorFrames.filter((f) => f.fromPort === source)) }),
      );
    }
    const observation: WireObservation = {
      connections,
      untagged: [...browserFrames, ...hypervisorFrames].filter((f) => f.vlan === undefined).length,
      vlans: {
        browser: [...new Set(browserFrames.map((f) => f.vlan ?? 0))],
        hypervisor: [...new Set(hypervisorFrames.map((f) => f.vlan ?? 0))],
      },
    };
    writeFileSync(join(share, 'wire.json'), JSON.stringify(observation, null, 2));
    progress('frames read');
  } finally {
    for (const d of dumps) await d.stop().catch(() => {});
    const gatewayExited = new Promise((resolve) => {
      if (gateway.exitCode !== null) resolve(null);
      else gateway.once('exit', resolve);
    });
    gateway.kill('SIGTERM');
    await Promise.all([gatewayExited, qemu.stop()]);
    progress('stopped');
  }
}

main(process.argv[2]!).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
