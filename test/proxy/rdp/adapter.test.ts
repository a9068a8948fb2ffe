// RDP through the running gateway to real RDP servers (FreeRDP's shadow server on Xvfb), as
// IronRDP's web client reaches them: one RDCleanPath request, then the proxy's answer. The
// certificate policies (pinned on first use; a configured CA) against real TLS servers.
import assert from 'node:assert/strict';
import { X509Certificate, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAuthority, issueHostCertificate, type KeyAndCertificate } from '../../../certs/authority.js';
import { CertificatePins } from '../../../proxy/tls/certificate-pins.js';
import { decodePdu, encodePdu, type RDCleanPathPdu } from '../../../proxy/rdp/rdcleanpath.js';
import { startTestGateway, type Attempt, type RunningGateway } from '../../bed/gateway.js';
import { freePort } from '../../bed/ports.js';
import { readDerPdu, WireReader, x224ConnectionRequest, type Closed } from '../../bed/protocol-clients.js';
import { startRdpServer, type RdpServer } from '../../bed/rdp-server.js';
import { writeTestDriver } from '../../bed/test-driver.js';
import { SigningKeyRing } from '../../../gateway/signing-keys.js';
import jwt from 'jsonwebtoken';
import { startTogether } from '../../bed/start-together.js';

const WIN = '22222222-0000-4000-8000-000000000001';
const WIN_NLA = '22222222-0000-4000-8000-000000000002';
const ROGUE = '22222222-0000-4000-8000-000000000003';
const DOWN = '22222222-0000-4000-8000-000000000004';
const MISNAMED = '22222222-0000-4000-8000-000000000005';

const dir = mkdtempSync(join(tmpdir(), 'porthole-rdp-test-'));
let authority: KeyAndCertificate;
let hostCertificate: KeyAndCertificate;
let tlsServer: RdpServer;
let nlaServer: RdpServer;
let rogueServer: RdpServer;
let misnamedServer: RdpServer;
let pinning: RunningGateway;
let verifying: RunningGateway;

before(async () => {
  authority = await createAuthority('Porthole test display CA');
  const otherAuthority = await createAuthority('Someone else');
  hostCertificate = await issueHostCertificate(authority, ['127.0.0.1']);
  [tlsServer, nlaServer, rogueServer, misnamedServer] = await startTogether([
    startRdpServer({ security: 'tls', certificate: hostCertificate }),
    startRdpServer({ security: 'nla', certificate: hostCertificate }),
    startRdpServer({ security: 'tls', certificate: await issueHostCertificate(otherAuthority, ['127.0.0.1']) }),
    // Signed by the configured CA, but for another machine.
    startRdpServer({ security: 'tls', certificate: await issueHostCertificate(authority, ['192.0.2.77', 'other-desktop.example']) }),
  ]);
  const closed = await freePort();
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'win', uuid: WIN, users: ['alice'], rdp: { port: tlsServer.port, address: '127.0.0.1' } },
    { name: 'win-nla', uuid: WIN_NLA, users: ['alice'], rdp: { port: nlaServer.port, address: '127.0.0.1' } },
    { name: 'rogue', uuid: ROGUE, users: ['alice'], rdp: { port: rogueServer.port, address: '127.0.0.1' } },
    { name: 'down', uuid: DOWN, users: ['alice'], rdp: { port: closed, address: '127.0.0.1' } },
    { name: 'misnamed', uuid: MISNAMED, users: ['alice'], rdp: { port: misnamedServer.port, address: '127.0.0.1' } },
  ]);
  const users = [
    { name: 'alice', password: 'alice-password', role: 'user' as const },
    { name: 'root', password: 'root-password', role: 'admin' as const },
  ];
  writeFileSync(join(dir, 'ca.pem'), authority.cert);
  [pinning, verifying] = await startTogether([
    startTestGateway({ libvirt: `lab=${uri}`, users }),
    startTestGateway({ libvirt: `lab=${uri}`, users, env: { PORTHOLE_RDP_CA: join(dir, 'ca.pem') } }),
  ]);
});

after(async () => {
  await pinning?.close();
  await verifying?.close();
  await Promise.all([tlsServer?.stop(), nlaServer?.stop(), rogueServer?.stop(), misnamedServer?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const signedIn = new Map<RunningGateway, string>();

/** A fresh RDP attempt for Alice, signed in once per gateway (tokens are bound to her browser). */
async function rdpAttempt(gw: RunningGateway, uuid: string): Promise<{ attempt: Attempt; cookie: string }> {
  const cookie = signedIn.get(gw) ?? (await gw.signIn('alice', 'alice-password'));
  signedIn.set(gw, cookie);
  const [attempt] = await gw.connect(cookie, `${uuid}`, { protocols: ['rdp'] });
  assert.equal(attempt!.protocol, 'rdp');
  return { attempt: attempt!, cookie };
}

interface Answer {
  pdu: RDCleanPathPdu;
  reader: WireReader;
  closed: Promise<Closed>;
}

/** Sends one RDCleanPath request (or `raw` bytes) and reads the proxy's answer. */
async function request(
  gw: RunningGateway,
  cookie: string,
  attempt: Attempt,
  fields: { destination?: string; token?: string; protocols?: number; raw?: Buffer } = {},
): Promise<Answer> {
  const reader = new WireReader(gw.webSocket(attempt.url, { cookie }));
  await reader.opened;
  reader.ws.send(
    fields.raw ??
      encodePdu({
        destination: fields.destination ?? (attempt as Attempt & { destination: string }).destination,
        proxyAuth: fields.token ?? attempt.token,
        x224: x224ConnectionRequest(fields.protocols ?? 3),
      }),
  );
  const pdu = decodePdu(await readDerPdu(reader));
  if (pdu.error) void reader.closed.then((c) => console.log(`# refused: ${c.code} ${c.reason}`));
  return { pdu, reader, closed: reader.closed };
}

function leafOf(pdu: RDCleanPathPdu): X509Certificate {
  assert.ok(pdu.serverCertChain && pdu.serverCertChain.length > 0, 'the answer carries the server certificate chain');
  return new X509Certificate(pdu.serverCertChain[0]!);
}

test('the proxy connects to the inventory target, does TLS itself and answers with the confirm, the chain and the address', async () => {
  const { attempt, cookie } = await rdpAttempt(pinning, WIN);
  assert.equal(attempt.url, `${pinning.origin.replace('https', 'wss')}/ws/rdp`);
  assert.equal((attempt as Attempt & { destination: string }).destination, `127.0.0.1:${tlsServer.port}`);
  assert.doesNotMatch(attempt.url, /token/);
  const answer = await request(pinning, cookie, attempt);
  assert.equal(answer.pdu.error, undefined);
  assert.equal(answer.pdu.serverAddr, '127.0.0.1');
  // The server's X.224 confirm as sent: a negotiation response selecting TLS (1).
  const confirm = answer.pdu.x224!;
  assert.equal(confirm[5]! & 0xf0, 0xd0);
  assert.equal(confirm[11], 0x02);
  assert.equal(confirm.readUInt32LE(15), 1);
  assert.equal(leafOf(answer.pdu).fingerprint256, new X509Certificate(hostCertificate.cert).fingerprint256);
  answer.reader.ws.close();

  // The first certificate is pinned, and administrators see it.
  const root = await pinning.signIn('root', 'root-password');
  const pins = await pinning.api('GET', '/api/rdp/certificates', { cookie: root });
  assert.equal(pins.status, 200);
  const pin = (pins.body as Array<{ desktop: string; fingerprint: string; subject: string }>).find((p) => p.desktop === `${WIN}`);
  assert.equal(pin?.fingerprint, new X509Certificate(hostCertificate.cert).fingerprint256);
  assert.match(pin!.subject, /CN=127\.0\.0\.1/);
  assert.equal((await pinning.api('GET', '/api/rdp/certificates', { cookie })).status, 403, 'users do not see pins');
});

test('tokens: a replayed, a forged and a missing token are refused with HTTP 401 in the PDU and a reason', async () => {
  const { attempt, cookie } = await rdpAttempt(pinning, WIN);
  const first = await request(pinning, cookie, attempt);
  assert.equal(first.pdu.error, undefined);
  first.reader.ws.close();
  const replay = await request(pinning, cookie, attempt);
  assert.equal(replay.pdu.error?.httpStatus, 401);
  const closed = await replay.closed;
  assert.equal(closed.code, 4001);
  assert.match(closed.reason, /already used/);

  const forged = await request(pinning, cookie, attempt, { token: `${attempt.token.slice(0, -4)}AAAA` });
  assert.equal(forged.pdu.error?.httpStatus, 401);
  assert.equal((await forged.closed).code, 4001);
  const empty = await request(pinning, cookie, attempt, { token: '' });
  assert.equal(empty.pdu.error?.httpStatus, 401);
});

test('a view-only RDP token, validly signed, is refused by the proxy: RDP input cannot be filtered', async () => {
  // The API never issues one (test/gateway/app.test.ts); the proxy must refuse it all the same.
  const { attempt, cookie } = await rdpAttempt(pinning, WIN);
  const [header, payload] = attempt.token.split('.') as [string, string];
  const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
  const key = new SigningKeyRing(pinning.dataDir).all().find((k) => k.kid === kid)!;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const viewOnly = jwt.sign({ ...claims, viewOnly: true, jti: randomUUID() }, key.privateKey, { algorithm: 'ES256', keyid: kid });
  const refused = await request(pinning, cookie, attempt, { token: viewOnly });
  assert.equal(refused.pdu.error?.httpStatus, 403);
  const closed = await refused.closed;
  assert.equal(closed.code, 4003);
  assert.match(closed.reason, /Watching without control is not available over RDP/);
  // The same claims with control, signed the same way, connect: the refusal is the view-only flag's.
  const control = await request(pinning, cookie, attempt, {
    token: jwt.sign({ ...claims, jti: randomUUID() }, key.privateKey, { algorithm: 'ES256', keyid: kid }),
  });
  assert.equal(control.pdu.error, undefined);
  control.reader.ws.close();
});

test('a destination other than the inventory target is refused with 403', async () => {
  const { attempt, cookie } = await rdpAttempt(pinning, WIN);
  const other = await request(pinning, cookie, attempt, { destination: '192.0.2.66:3389' });
  assert.equal(other.pdu.error?.httpStatus, 403);
  const closed = await other.closed;
  assert.equal(closed.code, 4003);
  assert.match(closed.reason, /another machine/);
  // Same host named with the default port omitted is another port: still refused.
  const { attempt: second } = await rdpAttempt(pinning, WIN);
  const noPort = await request(pinning, cookie, second, { destination: '127.0.0.1' });
  assert.equal(noPort.pdu.error?.httpStatus, 403);
});

test('a certificate other than the pinned one is refused with a TLS alert and a clear reason; an admin can accept the new one', async () => {
  const pins = new CertificatePins(pinning.dataDir);
  pins.record({
    desktop: `${ROGUE}`,
    fingerprint: new X509Certificate(hostCertificate.cert).fingerprint256,
    subject: 'CN=127.0.0.1',
    issuer: 'CN=Porthole test display CA',
    validTo: 'later',
    firstSeen: new Date().toISOString(),
  });
  const { attempt, cookie } = await rdpAttempt(pinning, ROGUE);
  const refused = await request(pinning, cookie, attempt);
  assert.equal(refused.pdu.error?.tlsAlert, 42);
  const closed = await refused.closed;
  assert.equal(closed.code, 4012);
  assert.match(closed.reason, /certificate changed since/);

  const root = await pinning.signIn('root', 'root-password');
  assert.equal((await pinning.api('DELETE', `/api/rdp/certificates/${encodeURIComponent(`${ROGUE}`)}`, { cookie: root })).status, 204);
  assert.equal((await pinning.api('DELETE', `/api/rdp/certificates/${encodeURIComponent(`${ROGUE}`)}`, { cookie: root })).status, 404);
  const { attempt: again } = await rdpAttempt(pinning, ROGUE);
  const accepted = await request(pinning, cookie, again);
  assert.equal(accepted.pdu.error, undefined);
  accepted.reader.ws.close();
});

test("with a configured CA: a server certificate it signed is accepted, another CA's is refused (unknown CA)", async () => {
  const { attempt, cookie } = await rdpAttempt(verifying, WIN);
  const good = await request(verifying, cookie, attempt);
  assert.equal(good.pdu.error, undefined);
  good.reader.ws.close();
  const { attempt: rogue } = await rdpAttempt(verifying, ROGUE);
  const refused = await request(verifying, cookie, rogue);
  assert.equal(refused.pdu.error?.tlsAlert, 48);
  const closed = await refused.closed;
  assert.equal(closed.code, 4012);
  assert.match(closed.reason, /does not trust the desktop's RDP certificate \(unknown authority\)/);
});

test('with a configured CA: a certificate it signed for another machine is refused (bad certificate), before the browser sees a byte of it', async () => {
  const { attempt, cookie } = await rdpAttempt(verifying, MISNAMED);
  const refused = await request(verifying, cookie, attempt);
  assert.equal(refused.pdu.error?.tlsAlert, 42);
  assert.equal(refused.pdu.serverCertChain, undefined, 'the chain of a refused server is not forwarded');
  const closed = await refused.closed;
  assert.equal(closed.code, 4012);
  assert.match(closed.reason, /certificate names another machine/);
  assert.ok(
    verifying.logs.some((l) => l.includes('does not name 127.0.0.1')),
    'the log says which name was expected',
  );
});

test('network failures come back as WSA codes; a server that requires NLA refuses a TLS-only client by negotiation', async () => {
  const { attempt, cookie } = await rdpAttempt(pinning, DOWN);
  const down = await request(pinning, cookie, attempt);
  assert.equal(down.pdu.error?.wsaLastError, 10061);
  assert.match((await down.closed).reason, /refused the connection/);

  const { attempt: nla } = await rdpAttempt(pinning, WIN_NLA);
  const tlsOnly = await request(pinning, cookie, nla, { protocols: 1 });
  assert.equal(tlsOnly.pdu.error?.code, 2, 'a negotiation error');
  assert.equal(tlsOnly.pdu.x224?.[11], 0x03, "the server's RDP_NEG_FAILURE as it sent it");
  assert.match((await tlsOnly.closed).reason, /Network Level Authentication/);
  const { attempt: nla2 } = await rdpAttempt(pinning, WIN_NLA);
  const withNla = await request(pinning, cookie, nla2, { protocols: 3 });
  assert.equal(withNla.pdu.error, undefined);
  assert.equal(withNla.pdu.x224!.readUInt32LE(15), 2, 'the server selected CredSSP (NLA)');
  withNla.reader.ws.close();
});

test('garbage, trailing bytes and a second PDU are refused with 400 and a reason; the proxy goes on serving', async () => {
  const { attempt, cookie } = await rdpAttempt(pinning, WIN);
  const garbage = await request(pinning, cookie, attempt, { raw: Buffer.from('GET / HTTP/1.1\r\n\r\n') });
  assert.equal(garbage.pdu.error?.httpStatus, 400);
  const closed = await garbage.closed;
  assert.equal(closed.code, 4400);
  assert.match(closed.reason, /not an RDCleanPath PDU/);

  const pduFor = (a: Attempt) =>
    encodePdu({ destination: `127.0.0.1:${tlsServer.port}`, proxyAuth: a.token, x224: x224ConnectionRequest(3) });
  const before = 'The RDP client sent data before Porthole answered its request.';
  const trailing = await request(pinning, cookie, attempt, { raw: Buffer.concat([pduFor(attempt), Buffer.from([0])]) });
  assert.equal(trailing.pdu.error?.httpStatus, 400);
  const t = await trailing.closed;
  assert.equal(t.code, 4400);
  assert.equal(t.reason, before);
  assert.ok(
    pinning.logs.some((l) => l.includes('1 bytes after the RDCleanPath request')),
    'the log counts the trailing byte',
  );

  // A second, complete PDU in the same message...
  const { attempt: twice } = await rdpAttempt(pinning, WIN);
  const second = pduFor(twice);
  const doubled = await request(pinning, cookie, twice, { raw: Buffer.concat([second, second]) });
  assert.equal(doubled.pdu.error?.httpStatus, 400);
  assert.equal(doubled.pdu.serverCertChain, undefined, 'no answer of a relayed session came first');
  const d = await doubled.closed;
  assert.equal(d.code, 4400);
  assert.equal(d.reason, before);
  assert.ok(
    pinning.logs.some((l) => l.includes(`${second.length} bytes after the RDCleanPath request`)),
    'the log counts the second PDU',
  );

  // ...and in a message of its own, sent before the answer.
  const { attempt: apart } = await rdpAttempt(pinning, WIN);
  const reader = new WireReader(pinning.webSocket(apart.url, { cookie }));
  await reader.opened;
  reader.ws.send(pduFor(apart));
  reader.ws.send(pduFor(apart));
  const answer = decodePdu(await readDerPdu(reader));
  assert.equal(answer.error?.httpStatus, 400);
  const a = await reader.closed;
  assert.equal(a.code, 4400);
  assert.equal(a.reason, before);

  const { attempt: fresh } = await rdpAttempt(pinning, WIN);
  const ok = await request(pinning, cookie, fresh);
  assert.equal(ok.pdu.error, undefined);
  ok.reader.ws.close();
  assert.ok(!pinning.logs.some((l) => l.includes(fresh.token)), 'no token in the logs');
});
