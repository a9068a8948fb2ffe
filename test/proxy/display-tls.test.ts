// TLS to the displays, verified: a QEMU guest whose SPICE listens on its TLS port only and
// whose VNC demands VeNCrypt X.509, with certificates from a test CA. Porthole reaches both only
// with that CA configured; a display certificate from another CA, or no CA at all, is refused
// with a reason, and typing proves the sessions that open are real.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAuthority, issueHostCertificate, writeDisplayCredentials } from '../../certs/authority.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { rfbKeys, sendSlowly, spiceChannel, spiceLink, vncHandshake, WireReader, type Closed } from '../bed/protocol-clients.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { startTogether } from '../bed/start-together.js';

const DESK = '44444444-0000-4000-8000-000000000001';
const STRICT = '44444444-0000-4000-8000-000000000002'; // VNC that verifies its peers (verify-peer=on)
const MISNAMED = '44444444-0000-4000-8000-000000000003'; // certificates from the right CA, for another machine
const dir = mkdtempSync(join(tmpdir(), 'porthole-display-tls-'));
let guest: QemuGuest;
let strictGuest: QemuGuest;
let misnamedGuest: QemuGuest;
let withClientCertificate: RunningGateway;
const gateways: RunningGateway[] = [];
let trusting: RunningGateway;
let foreign: RunningGateway;
let unconfigured: RunningGateway;

before(async () => {
  const authority = await createAuthority('Porthole test hypervisor CA');
  const other = await createAuthority('Another CA');
  writeDisplayCredentials(join(dir, 'x509'), authority, await issueHostCertificate(authority, ['127.0.0.1']));
  writeDisplayCredentials(
    join(dir, 'x509-misnamed'),
    authority,
    await issueHostCertificate(authority, ['192.0.2.44', 'other-host.example']),
  );
  writeFileSync(join(dir, 'ca.pem'), authority.cert);
  writeFileSync(join(dir, 'other-ca.pem'), other.cert);
  const client = await issueHostCertificate(authority, ['porthole-proxy']);
  writeFileSync(join(dir, 'client-cert.pem'), client.cert);
  writeFileSync(join(dir, 'client-key.pem'), client.key, { mode: 0o600 });
  [guest, strictGuest, misnamedGuest] = await startTogether([
    startQemuGuest({ tls: { dir: join(dir, 'x509') } }),
    startQemuGuest({ spice: false, tls: { dir: join(dir, 'x509'), verifyPeer: true } }),
    startQemuGuest({ displaysOnly: true, tls: { dir: join(dir, 'x509-misnamed') } }),
  ]);
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    {
      name: 'tls-desk',
      uuid: DESK,
      users: ['alice'],
      spice: { tlsPort: guest.spiceTlsPort, password: guest.spicePassword },
      vnc: { port: guest.vncPort, password: guest.vncPassword },
    },
    {
      name: 'strict-desk',
      uuid: STRICT,
      users: ['alice'],
      vnc: { port: strictGuest.vncPort, password: strictGuest.vncPassword },
    },
    {
      name: 'misnamed-desk',
      uuid: MISNAMED,
      users: ['alice'],
      spice: { tlsPort: misnamedGuest.spiceTlsPort, password: misnamedGuest.spicePassword },
      vnc: { port: misnamedGuest.vncPort, password: misnamedGuest.vncPassword },
    },
  ]);
  const users = [{ name: 'alice', password: 'alice-password', role: 'user' as const }];
  const start = async (env: Record<string, string>) => {
    const gw = await startTestGateway({ libvirt: `lab=${uri}`, users, env });
    gateways.push(gw);
    return gw;
  };
  trusting = await start({ PORTHOLE_DISPLAY_CA: join(dir, 'ca.pem') });
  foreign = await start({ PORTHOLE_DISPLAY_CA: join(dir, 'other-ca.pem') });
  unconfigured = await start({});
  withClientCertificate = await start({
    PORTHOLE_DISPLAY_CA: join(dir, 'ca.pem'),
    PORTHOLE_DISPLAY_CLIENT_CERT: join(dir, 'client-cert.pem'),
    PORTHOLE_DISPLAY_CLIENT_KEY: join(dir, 'client-key.pem'),
  });
});

after(async () => {
  for (const gw of gateways) await gw.close();
  await Promise.all([guest?.stop(), strictGuest?.stop(), misnamedGuest?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function open(gw: RunningGateway, protocol: 'spice' | 'vnc', desktop = DESK): Promise<WireReader> {
  const cookie = await gw.signIn('alice', 'alice-password');
  const [a] = await gw.connect(cookie, `${desktop}`, { protocols: [protocol] });
  return new WireReader(gw.webSocket(a!.url, { cookie, ...(protocol === 'spice' ? { protocol: 'binary' } : {}) }));
}

test("with the hypervisors' CA: SPICE over its TLS port and VNC over VeNCrypt X.509 open, and keys reach the guest", async () => {
  const spice = await open(trusting, 'spice');
  const { auth, sessionId } = await spiceChannel(spice, 0, 1);
  assert.equal(auth, 0, 'the SPICE display accepted the ticket over TLS');
  assert.ok(sessionId !== undefined);

  const vnc = await open(trusting, 'vnc');
  const init = await vncHandshake(vnc);
  assert.deepEqual(init.securityTypes, [1], 'the browser is offered None; TLS and the password stay between proxy and display');
  const word = `tls${randomBytes(3).toString('hex')}`;
  await sendSlowly(vnc.ws, rfbKeys(`echo ${word} > /dev/ttyS0\n`));
  await guest.serial.waitFor(word, 15_000);
  vnc.ws.close();
  spice.ws.close();
  assert.ok(!trusting.logs.some((l) => l.includes(guest.vncPassword) || l.includes(guest.spicePassword)));
});

/** Opens `protocol` through `gw` as a client would (SPICE: a main-channel link) and returns how the proxy closed it. */
async function refusal(gw: RunningGateway, protocol: 'spice' | 'vnc', desktop = DESK): Promise<Closed> {
  const reader = await open(gw, protocol, desktop);
  await reader.opened;
  if (protocol === 'spice') reader.ws.send(spiceLink(0, 1));
  return reader.closed;
}

test('a display certificate from another CA is refused with a clear reason, for SPICE and for VNC', async () => {
  for (const protocol of ['spice', 'vnc'] as const) {
    const closed = await refusal(foreign, protocol);
    assert.equal(closed.code, 4012);
    assert.match(closed.reason, new RegExp(`does not trust the desktop's ${protocol.toUpperCase()} certificate \\(unknown authority\\)`));
  }
});

test('a display certificate from the right CA but for another machine is refused, for SPICE and for VNC', async () => {
  for (const protocol of ['spice', 'vnc'] as const) {
    const closed = await refusal(trusting, protocol, MISNAMED);
    assert.equal(closed.code, 4012, `${protocol}: ${closed.reason}`);
    assert.match(closed.reason, new RegExp(`desktop's ${protocol.toUpperCase()} certificate names another machine`));
  }
});

test('without a display CA, TLS-only displays are refused rather than reached unverified', async () => {
  const spice = await refusal(unconfigured, 'spice');
  assert.equal(spice.code, 4012);
  assert.match(spice.reason, /accepts only TLS, and Porthole has no authority to check it with/);
  const vnc = await refusal(unconfigured, 'vnc');
  assert.equal(vnc.code, 4012);
  assert.match(vnc.reason, /requires TLS, and Porthole has no authority to check it with/);
});

test('a VNC display that verifies its peers admits Porthole with its client certificate, and refuses it without', async () => {
  const vnc = await open(withClientCertificate, 'vnc', STRICT);
  await vncHandshake(vnc);
  const word = `peer${randomBytes(3).toString('hex')}`;
  await sendSlowly(vnc.ws, rfbKeys(`echo ${word} > /dev/ttyS0\n`));
  await strictGuest.serial.waitFor(word, 15_000);
  vnc.ws.close();

  const refused = await open(trusting, 'vnc', STRICT);
  await refused.opened;
  const closed = await refused.closed;
  assert.equal(closed.code, 4010);
  assert.match(closed.reason, /TLS with the desktop's VNC display failed|closed the connection/);
});
