// Hostile and broken display servers, and requests that try to pick their own target: each
// offending connection is closed with a reason, and a live session opened before goes on
// (checked by typing into a real guest through it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { rfbKeys, sendSlowly, spiceChannel, vncHandshake, WireReader, x224ConnectionRequest } from '../bed/protocol-clients.js';
import { encodePdu } from '../../proxy/rdp/rdcleanpath.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';

/** A display that answers every connection with `behave`. */
async function hostile(behave: (s: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    behave(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, server };
}

const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

const BEHAVIOURS: Record<string, (s: Socket) => void> = {
  // RFB: "no security types" with a reason length of 4 GiB.
  hugeReason: (s) => {
    s.write('RFB 003.008\n');
    s.once('data', () => s.write(Buffer.concat([Buffer.from([0]), u32be(0xffffffff), Buffer.from('<b>x</b>')])));
  },
  // RFB: 255 security types announced, 3 sent, then silence is not reached: the server closes.
  earlyClose: (s) => {
    s.write('RFB 003.008\n');
    s.once('data', () => s.end(Buffer.from([255, 1, 2])));
  },
  // Not RFB at all: an HTML page.
  html: (s) => {
    s.end('<html><script>alert(1)</script></html>\n');
  },
  // RFB: accepts the connection and never says a word.
  silent: () => {},
  // RDP: an X.224 confirm that announces 65,535 bytes.
  rdpHugeConfirm: (s) => {
    s.once('data', () => s.write(Buffer.from([3, 0, 0xff, 0xff, 2, 0xd0, 0])));
  },
  // RDP: an HTML page instead of an X.224 confirm.
  rdpHtml: (s) => {
    s.once('data', () => s.end('<html><script>alert(1)</script></html>\n'));
  },
  // SPICE: a link reply that claims to be 4 GiB long.
  spiceHugeReply: (s) => {
    s.once('data', () => s.write(Buffer.concat([Buffer.from('REDQ'), u32le(2), u32le(2), u32le(0xffffffff)])));
  },
  // SPICE: a reply whose capability offset points far outside it.
  spiceBadCaps: (s) => {
    s.once('data', () => {
      const body = Buffer.alloc(4 + 162 + 12);
      body.writeUInt32LE(1000, 166);
      body.writeUInt32LE(0, 170);
      body.writeUInt32LE(0xfffffff0, 174);
      s.write(Buffer.concat([Buffer.from('REDQ'), u32le(2), u32le(2), u32le(body.length), body]));
    });
  },
};

const uuid = (n: number) => `5ec00000-0000-4000-8000-${String(n).padStart(12, '0')}`;
let guest: QemuGuest;
let synthetic: DisplayServer;
let gw: RunningGateway;
let alice: string;
const servers: Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'porthole-security-'));
const ids: Record<string, string> = {};

before(async () => {
  guest = await startQemuGuest();
  synthetic = await startDisplayServer();
  const domains = [
    {
      name: 'real',
      uuid: uuid(1),
      users: ['alice'],
      spice: { port: guest.spicePort, password: guest.spicePassword },
      vnc: { port: guest.vncPort, password: guest.vncPassword },
    },
    { name: 'synthetic', uuid: uuid(2), users: ['alice'], vnc: { port: synthetic.port, password: '' } },
  ];
  ids.real = `${uuid(1)}`;
  ids.synthetic = `${uuid(2)}`;
  let n = 10;
  for (const [name, behave] of Object.entries(BEHAVIOURS)) {
    const { port, server } = await hostile(behave);
    servers.push(server);
    const protocol = name.startsWith('spice') ? 'spice' : name.startsWith('rdp') ? 'rdp' : 'vnc';
    domains.push(
      (protocol === 'rdp'
        ? { name, uuid: uuid(n), users: ['alice'], rdp: { port, address: '127.0.0.1' } }
        : { name, uuid: uuid(n), users: ['alice'], [protocol]: { port, password: 'x' } }) as never,
    );
    ids[name] = `${uuid(n++)}`;
  }
  gw = await startTestGateway({
    libvirt: `lab=${writeTestDriver(join(dir, 'node.xml'), domains)}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
  alice = await gw.signIn('alice', 'alice-password');
});

after(async () => {
  await gw?.close();
  for (const s of servers) s.close();
  await synthetic?.close();
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function url(id: string, protocol: 'spice' | 'vnc' | 'rdp'): Promise<string> {
  return (await attemptFor(id, protocol)).url;
}
async function attemptFor(id: string, protocol: 'spice' | 'vnc' | 'rdp') {
  return (await gw.connect(alice, id, { protocols: [protocol] }))[0]! as Awaited<ReturnType<RunningGateway['connect']>>[number] & {
    destination?: string;
  };
}
const open = (u: string, protocol?: string) => new WireReader(gw.webSocket(u, { cookie: alice, ...(protocol ? { protocol } : {}) }));

test('hostile display servers get each connection closed with a reason; a live session goes on', async () => {
  const live = open(await url(ids.real!, 'vnc'));
  await vncHandshake(live);

  const expect: Record<string, [number, RegExp]> = {
    hugeReason: [4010, /refused the connection/],
    earlyClose: [4010, /closed the connection during the handshake/],
    html: [4400, /does not speak VNC/],
    silent: [4400, /stopped answering during the handshake/],
    rdpHugeConfirm: [4400, /announced a 65535-byte connection confirm/],
    rdpHtml: [4400, /did not send a TPKT frame/],
    spiceHugeReply: [4400, /did not start a valid SPICE connection/],
    spiceBadCaps: [4400, /did not start a valid SPICE connection/],
  };
  for (const [name, [code, reason]] of Object.entries(expect)) {
    const spice = name.startsWith('spice');
    const rdp = name.startsWith('rdp');
    const attempt = await attemptFor(ids[name]!, spice ? 'spice' : rdp ? 'rdp' : 'vnc');
    const reader = open(attempt.url, spice ? 'binary' : undefined);
    if (spice) await spiceChannel(reader, 0, 1).catch(() => {});
    if (rdp) {
      await reader.opened;
      reader.ws.send(encodePdu({ destination: attempt.destination!, proxyAuth: attempt.token, x224: x224ConnectionRequest(3) }));
    }
    const closed = await reader.closed;
    assert.equal(closed.code, code, `${name}: ${closed.reason}`);
    assert.match(closed.reason, reason, name);
    assert.doesNotMatch(closed.reason, /<|alert/, `${name}: the display's text reached the browser`);
  }

  const word = `stillalive${Date.now() % 100000}`;
  await sendSlowly(live.ws, rfbKeys(`echo ${word} > /dev/ttyS0\n`));
  await guest.serial.waitFor(word, 10_000);
  live.ws.close();
});

test('the target comes from the token alone: extra parameters cannot redirect a connection', async () => {
  const token = await url(ids.synthetic!, 'vnc');
  const reader = open(`${token}&desktop=${encodeURIComponent(ids.real!)}&host=127.0.0.1&port=${guest.vncPort}&path=..%2f..%2f`);
  const init = await vncHandshake(reader);
  assert.equal(init.name, 'bench', 'the connection went where the token says (the synthetic display), not where the URL asked');
  reader.ws.close();
});

test('tokens that look like paths, and oversized or repeated parameters, are refused', async () => {
  for (const bad of ['../../etc/passwd', '%2e%2e%2f%2e%2e%2f', 'A'.repeat(8000), '']) {
    const reader = open(`wss://localhost:${gw.port}/ws/vnc?token=${bad}`);
    const closed = await reader.closed;
    assert.equal(closed.code, 4001, bad.slice(0, 20));
  }
});

test('a repeated token parameter is refused, whichever comes first, and does not spend the valid one', async () => {
  // Two readers of one query string can disagree on which `token` counts (the first, the last, a
  // list): the proxy must take neither.
  const valid = new URL(await url(ids.synthetic!, 'vnc')).searchParams.get('token')!;
  const other = new URL(await url(ids.synthetic!, 'vnc')).searchParams.get('token')!;
  const base = `wss://localhost:${gw.port}/ws/vnc`;
  const cases: Array<[string, string]> = [
    ['valid first, garbage second', `${base}?token=${encodeURIComponent(valid)}&token=not-a-token`],
    ['garbage first, valid second', `${base}?token=not-a-token&token=${encodeURIComponent(valid)}`],
    ['valid first, empty second', `${base}?token=${encodeURIComponent(valid)}&token=`],
    ['empty first, valid second', `${base}?token=&token=${encodeURIComponent(valid)}`],
    ['two valid tokens', `${base}?token=${encodeURIComponent(valid)}&token=${encodeURIComponent(other)}`],
    ['the same valid token twice', `${base}?token=${encodeURIComponent(valid)}&token=${encodeURIComponent(valid)}`],
  ];
  for (const [name, u] of cases) {
    const reader = open(u);
    const closed = await reader.closed;
    assert.equal(closed.code, 4001, `${name}: ${closed.code} ${closed.reason}`);
    assert.match(closed.reason, /not valid/, name);
  }
  // The valid token alone still opens the display: the refusals above did not use it up.
  const alone = open(`${base}?token=${encodeURIComponent(valid)}`);
  assert.equal((await vncHandshake(alone)).name, 'bench');
  alone.ws.close();
});

test('an oversized WebSocket message closes only that connection', async () => {
  const live = open(await url(ids.real!, 'vnc'));
  await vncHandshake(live);
  const big = open(await url(ids.synthetic!, 'vnc'));
  await vncHandshake(big);
  big.ws.send(Buffer.alloc(5 * 1024 * 1024));
  const closed = await big.closed;
  assert.equal(closed.code, 1009, closed.reason);
  assert.equal(live.ws.readyState, live.ws.OPEN);
  live.ws.close();
});

test('oversized HTTP headers are refused and the server keeps serving', async () => {
  const res = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: gw.port, ca: gw.ca });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
    socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
  });
  assert.match(res, /^HTTP\/1\.1 431/);
  assert.equal((await gw.api('GET', '/healthz')).status, 200);
});
