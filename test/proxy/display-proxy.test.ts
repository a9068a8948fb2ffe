// The proxy on real displays: a QEMU guest with password-protected SPICE and VNC, described to
// Porthole through libvirt's test driver, reached through the running gateway over WSS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { freePort } from '../bed/ports.js';
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { rfbKeys, rfbUpdateRequest, sendSlowly, spiceChannel, spiceLink, vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startQemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { SigningKeyRing } from '../../gateway/signing-keys.js';
import { displayInitMessage } from '../../proxy/spice/display-init.js';
import jwt from 'jsonwebtoken';
import { waitFor, withDeadline } from '../bed/deadline.js';

type Guest = Awaited<ReturnType<typeof startQemuGuest>>;

const GOOD = '11111111-0000-4000-8000-000000000001';
const WRONG_PASSWORDS = '11111111-0000-4000-8000-000000000002';
const UNREACHABLE = '11111111-0000-4000-8000-000000000003';
const BOBS = '11111111-0000-4000-8000-000000000004';
/** An origin the configuration allows beside the public URL's (PORTHOLE_ALLOWED_ORIGINS). */
const EXTRA_ORIGIN = 'https://desktops.extra.example';

let guest: Guest;
let gw: RunningGateway;
let alice: string;
const dir = mkdtempSync(join(tmpdir(), 'porthole-proxy-'));

before(async () => {
  guest = await startQemuGuest({});
  const closed = await freePort();
  const real = {
    spice: { port: guest.spicePort, password: guest.spicePassword },
    vnc: { port: guest.vncPort, password: guest.vncPassword },
  };
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'good', uuid: GOOD, users: ['alice'], ...real },
    {
      name: 'wrong-passwords',
      uuid: WRONG_PASSWORDS,
      users: ['alice'],
      spice: { port: guest.spicePort, password: 'not-the-spice-password' },
      vnc: { port: guest.vncPort, password: 'nottheone' },
    },
    {
      name: 'unreachable',
      uuid: UNREACHABLE,
      users: ['alice'],
      spice: { port: closed, password: 'x' },
      vnc: { port: closed, password: 'x' },
    },
    { name: 'bobs', uuid: BOBS, users: ['bob'], ...real },
  ]);
  gw = await startTestGateway({
    libvirt: `lab=${uri}`,
    users: [
      { name: 'alice', password: 'alice-password', role: 'user' },
      { name: 'bob', password: 'bob-password', role: 'user' },
      { name: 'root', password: 'root-password', role: 'admin' },
      { name: 'hannah', password: 'hannah-password', role: 'helpdesk' },
      { name: 'harry', password: 'harry-password', role: 'helpdesk' },
    ],
    env: { PORTHOLE_ALLOWED_ORIGINS: EXTRA_ORIGIN },
  });
  alice = await gw.signIn('alice', 'alice-password');
});

after(async () => {
  await gw?.close();
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function attempt(id: string, protocol: 'spice' | 'vnc', cookie = alice, viewOnly = false) {
  const attempts = await gw.connect(cookie, `${id}`, { protocols: [protocol], viewOnly });
  return attempts[0]!;
}

/** A WebSocket from Alice's browser (her sign-in cookie goes with it, as a browser sends it). */
function open(url: string, protocol?: string, cookie = alice): WireReader {
  return new WireReader(gw.webSocket(url, { cookie, ...(protocol ? { protocol } : {}) }));
}

test('VNC: the proxy authenticates to the display; the browser is offered only "None"', async () => {
  const a = await attempt(GOOD, 'vnc');
  const reader = open(a.url);
  const init = await vncHandshake(reader);
  assert.deepEqual(init.securityTypes, [1]);
  assert.ok(init.width > 0 && init.height > 0);
  reader.ws.close();
  // The same token again is a replay.
  const again = open(a.url);
  const closed = await again.closed;
  assert.equal(closed.code, 4001);
  assert.match(closed.reason, /already used/);
});

/** porthole_proxy_bytes_total for VNC, per direction, from /metrics. */
async function vncBytes(): Promise<{ toClient: number; toDisplay: number }> {
  const text = await gw.metrics();
  const read = (direction: string) =>
    Number(new RegExp(`porthole_proxy_bytes_total\\{protocol="vnc",channel="vnc",direction="${direction}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { toClient: read('to_client'), toDisplay: read('to_display') };
}

test('/metrics counts the bytes of a live session while it runs, not only when it ends', async () => {
  const before = await vncBytes();
  const reader = open((await attempt(GOOD, 'vnc')).url);
  const { width, height } = await vncHandshake(reader);
  reader.ws.send(rfbUpdateRequest(width, height)); // a full screen, uncompressed: hundreds of KB
  await reader.read(4); // the update's header: the picture is on its way
  // The counter grows while the session lives: wait for it (a deadline, not a speed check).
  const took = await waitFor(
    async () => (await vncBytes()).toClient - before.toClient > 100_000,
    30_000,
    'porthole_proxy_bytes_total to count the live picture',
  );
  console.log(`# /metrics counted the live picture ${took} ms after its first bytes arrived`);
  const live = await vncBytes();
  console.log(
    `# live VNC session: ${live.toClient - before.toClient} bytes to the browser, ${live.toDisplay - before.toDisplay} to the display, counted before it closed`,
  );
  assert.ok(live.toClient - before.toClient > 100_000, `to_client grew by ${live.toClient - before.toClient}`);
  assert.ok(live.toDisplay - before.toDisplay >= 10, `to_display grew by ${live.toDisplay - before.toDisplay}`); // the request itself
  const closedLines = () => gw.logs.filter((l) => l.includes('connection closed')).length;
  const closedBefore = closedLines();
  reader.ws.close();
  await reader.closed;
  // The proxy's side has ended too (its close is logged after the counters are final).
  await waitFor(() => closedLines() > closedBefore, 30_000, "the proxy's log line for the closed session");
  const after = await vncBytes();
  assert.ok(after.toClient >= live.toClient, 'the counter never goes back');
});

test('VNC view-only: the proxy drops keyboard input; with control the same keys reach the guest', async () => {
  const watched = open((await attempt(GOOD, 'vnc', alice, true)).url);
  const init = await vncHandshake(watched);
  const hidden = `viewonly${randomBytes(3).toString('hex')}`;
  await sendSlowly(watched.ws, rfbKeys(`echo ${hidden} > /dev/ttyS0\n`));
  // The watcher still gets pictures: its update requests pass.
  watched.ws.send(rfbUpdateRequest(init.width, init.height));
  const update = await watched.read(4);
  assert.equal(update[0], 0, 'a FramebufferUpdate arrives for a view-only viewer');

  const control = open((await attempt(GOOD, 'vnc')).url);
  await vncHandshake(control);
  const typed = `control${randomBytes(3).toString('hex')}`;
  await sendSlowly(control.ws, rfbKeys(`echo ${typed} > /dev/ttyS0\n`));
  await guest.serial.waitFor(typed, 10_000);
  assert.ok(!guest.serial.contents().includes(hidden), 'view-only keystrokes reached the guest');
  assert.equal(watched.ws.readyState, watched.ws.OPEN, 'the shared flag kept the first viewer connected');
  watched.ws.close();
  control.ws.close();
  await watched.closed;
  const logged = () => gw.logs.some((l) => l.includes('view-only input dropped') && /"key":[1-9]/.test(l));
  await waitFor(logged, 30_000, 'the log line counting the dropped keys');
  assert.ok(logged(), 'the drops are logged');
});

test("SPICE: one token opens the main channel, then the session's other channels, with the real ticket", async () => {
  const a = await attempt(GOOD, 'spice');
  const main = open(a.url, 'binary');
  const { auth, sessionId } = await spiceChannel(main, 0, 1);
  assert.equal(auth, 0, 'the display accepted the ticket the proxy substituted');
  assert.ok(sessionId !== undefined);
  const channels: WireReader[] = [];
  for (const type of [2, 4, 3]) {
    // display, cursor, inputs
    const channel = open(a.url, 'binary');
    assert.equal((await spiceChannel(channel, sessionId, type)).auth, 0);
    channels.push(channel);
  }
  // Never a second main channel; never another session's id.
  const second = open(a.url, 'binary');
  await second.opened;
  second.ws.send(spiceLink(0, 1));
  assert.match((await second.closed).reason, /already used/);
  const foreign = open(a.url, 'binary');
  await foreign.opened;
  foreign.ws.send(spiceLink(sessionId + 1, 2));
  const f = await foreign.closed;
  assert.equal(f.code, 4003);
  assert.match(f.reason, /belongs to another session/);
  // The same channel twice is refused.
  const duplicate = open(a.url, 'binary');
  await duplicate.opened;
  duplicate.ws.send(spiceLink(sessionId, 2));
  assert.match((await duplicate.closed).reason, /same SPICE channel twice/);
  // Closing the main channel ends the session's other channels, and the token with them.
  main.ws.close();
  for (const channel of channels) await channel.closed;
  const late = open(a.url, 'binary');
  await late.opened;
  late.ws.send(spiceLink(sessionId, 2));
  assert.equal((await late.closed).code, 4001);
});

test('a SPICE channel that is not main cannot open a session', async () => {
  const a = await attempt(GOOD, 'spice');
  const reader = open(a.url, 'binary');
  await reader.opened;
  reader.ws.send(spiceLink(0, 2));
  const c = await reader.closed;
  assert.equal(c.code, 4001);
  assert.match(c.reason, /without its session/);
});

test('wrong display passwords in the inventory: a clear refusal, and other sessions go on', async () => {
  const live = open((await attempt(GOOD, 'vnc')).url);
  await vncHandshake(live);
  const vnc = open((await attempt(WRONG_PASSWORDS, 'vnc')).url);
  const v = await vnc.closed;
  assert.equal(v.code, 4011);
  assert.match(v.reason, /refused Porthole's credentials/);
  const spice = open((await attempt(WRONG_PASSWORDS, 'spice')).url, 'binary');
  assert.equal((await spiceChannel(spice, 0, 1)).auth, 7, 'the display answers "permission denied"');
  const s = await spice.closed;
  assert.equal(s.code, 4011);
  assert.match(s.reason, /SPICE display refused Porthole's credentials/);
  assert.equal(live.ws.readyState, live.ws.OPEN, 'the other session was disturbed');
  live.ws.close();
});

test('an unreachable display: a clear refusal naming the protocol', async () => {
  const reader = open((await attempt(UNREACHABLE, 'vnc')).url);
  const c = await reader.closed;
  assert.equal(c.code, 4010);
  assert.match(c.reason, /VNC display refused the connection/);
});

test('tokens: used on the wrong protocol, forged, or missing', async () => {
  const a = await attempt(GOOD, 'spice');
  const onVnc = open(a.url.replace('/ws/spice', '/ws/vnc'));
  assert.equal((await onVnc.closed).code, 4003);
  const bob = await gw.signIn('bob', 'bob-password');
  const bobs = await attempt(BOBS, 'vnc', bob);
  // A token whose signature bytes were changed no longer verifies.
  const forged = open(
    bobs.url.replace(/token=[^&]+/, (t) => t.slice(0, -4) + 'AAAA'),
    undefined,
    bob,
  );
  const f = await forged.closed;
  assert.equal(f.code, 4001);
  assert.match(f.reason, /not valid/);
  const none = open(bobs.url.replace(/\?token=.*/, ''), undefined, bob);
  assert.equal((await none.closed).code, 4001);
  // Bob's valid token, taken to Alice's browser, is refused: it is bound to Bob's sign-in.
  const stolen = open(bobs.url);
  const s = await stolen.closed;
  assert.equal(s.code, 4003);
  assert.match(s.reason, /another browser session/);
});

/** The claims of a token in a connection URL. */
function claimsOf(url: string): Record<string, unknown> & { jti: string; kid?: string } {
  const token = new URL(url).searchParams.get('token')!;
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown> & { jti: string };
}

/** A connection URL carrying `token` on `protocol`. */
const wsUrl = (protocol: string, token: string) => `wss://localhost:${gw.port}/ws/${protocol}?token=${encodeURIComponent(token)}`;

test('forged tokens: claims edited under the real signature, or signed by a key the proxy does not trust, are refused', async () => {
  // Alice's own view-only VNC token for her desktop: every forgery below starts from it.
  const issued = await attempt(GOOD, 'vnc', alice, true);
  const token = new URL(issued.url).searchParams.get('token')!;
  const [header, , signature] = token.split('.') as [string, string, string];
  const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
  const claims = claimsOf(issued.url);
  const edits: Array<[string, Record<string, unknown>, string]> = [
    ['another desktop', { desktop: BOBS }, 'vnc'],
    ['another user', { sub: 'bob' }, 'vnc'],
    ['another protocol', { protocol: 'spice' }, 'spice'],
    ['view-only flipped to control', { viewOnly: false }, 'vnc'],
  ];
  const trusted = new SigningKeyRing(gw.dataDir).all().find((k) => k.kid === kid)!;
  assert.ok(trusted, 'the key that signed the token is in the data directory');
  const { privateKey: untrusted } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sign = (payload: object, key: KeyObject, keyid = kid) => jwt.sign(payload, key, { algorithm: 'ES256', keyid });
  const refusal = async (label: string, protocol: string, forgedToken: string) => {
    const reader = open(wsUrl(protocol, forgedToken), protocol === 'spice' ? 'binary' : undefined);
    if (protocol === 'spice') {
      // SPICE looks at the token when the main channel's link arrives
      await reader.opened;
      reader.ws.send(spiceLink(0, 1));
    }
    const closed = await reader.closed;
    return { label, ...closed };
  };
  for (const [label, edit, protocol] of edits) {
    const edited = { ...claims, ...edit };
    // 1. The claims edited, the header and the broker's signature kept.
    const body = Buffer.from(JSON.stringify(edited)).toString('base64url');
    const kept = await refusal(`${label}, broker's signature kept`, protocol, `${header}.${body}.${signature}`);
    assert.equal(kept.code, 4001, `${kept.label}: ${kept.reason}`);
    assert.match(kept.reason, /not valid/, kept.label);
    // 2. Signed anew by a key the proxy does not trust, under the trusted key's id, and under an unknown id.
    for (const keyid of [kid, 'not-a-known-kid']) {
      const other = await refusal(
        `${label}, signed by an untrusted key (kid ${keyid})`,
        protocol,
        sign({ ...edited, jti: randomUUID() }, untrusted, keyid),
      );
      assert.equal(other.code, 4001, `${other.label}: ${other.reason}`);
      assert.match(other.reason, /not valid/, other.label);
    }
  }
  // 3. Signed with the broker's own key but other claims: the key is the authority on claims, so
  // what stops these is the proxy's own checks of the claims against the request and the inventory.
  const resigned = async (edit: Record<string, unknown>, protocol: string) =>
    refusal(JSON.stringify(edit), protocol, sign({ ...claims, ...edit, jti: randomUUID() }, trusted.privateKey));
  const desktop = await resigned({ desktop: BOBS }, 'vnc');
  assert.equal(desktop.code, 4003, desktop.reason);
  assert.match(desktop.reason, /may no longer open this desktop/);
  const onOtherPath = await resigned({ protocol: 'spice' }, 'vnc');
  assert.equal(onOtherPath.code, 4003, onOtherPath.reason);
  const otherBrowser = await resigned({ sub: 'bob', desktop: BOBS, bsh: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'vnc');
  assert.equal(otherBrowser.code, 4003, otherBrowser.reason);
  assert.match(otherBrowser.reason, /another browser session/);
  // The control: the same claims re-signed by the broker's key (a fresh id) are accepted, so the
  // refusals above come from the forgeries, not from how this test signs; and view-only flipped
  // to control is refused above only because the signature no longer matches.
  const control = new WireReader(gw.webSocket(wsUrl('vnc', sign({ ...claims, jti: randomUUID() }, trusted.privateKey)), { cookie: alice }));
  const init = await vncHandshake(control);
  assert.ok(init.width > 0);
  control.ws.close();
  // And the original token, refused in none of its forms, was not spent by them.
  const original = open(issued.url);
  assert.ok((await vncHandshake(original)).width > 0);
  original.ws.close();
});

test('the Origin is checked before any WebSocket opens', async () => {
  const a = await attempt(GOOD, 'vnc');
  await assert.rejects(new WireReader(gw.webSocket(a.url, { origin: 'https://evil.example' })).opened, /HTTP 403/);
  const wrongPath = new WireReader(gw.webSocket(a.url.replace('/ws/vnc', '/ws/telnet')));
  await assert.rejects(wrongPath.opened, /HTTP 404/);
});

test('an upgrade with no Origin at all is refused; one from an extra allowed origin opens; look-alikes are refused', async () => {
  const a = await attempt(GOOD, 'vnc');
  // ws sends no Origin header for an empty origin: a client that is not a browser page.
  await assert.rejects(new WireReader(gw.webSocket(a.url, { origin: '', cookie: alice })).opened, /HTTP 403/);
  for (const lookalike of [`${EXTRA_ORIGIN}.evil.example`, EXTRA_ORIGIN.replace('https:', 'http:'), `${EXTRA_ORIGIN}:8443`, 'null']) {
    await assert.rejects(new WireReader(gw.webSocket(a.url, { origin: lookalike, cookie: alice })).opened, /HTTP 403/, lookalike);
  }
  assert.ok(
    gw.logs.some((l) => l.includes('origin not allowed') && l.includes('"origin":null')),
    'the missing Origin is logged as such',
  );
  // The refusals came before the token was looked at: it still opens, from the extra origin.
  const extra = new WireReader(gw.webSocket(a.url, { origin: EXTRA_ORIGIN, cookie: alice }));
  assert.ok((await vncHandshake(extra)).width > 0);
  extra.ws.close();
  await extra.closed;
});

test('shadowing consent: the helpdesk cannot answer its own request, another helpdesk cannot fetch its links, a second answer gets 409', async () => {
  const live = open((await attempt(GOOD, 'vnc')).url);
  await vncHandshake(live);
  const hannah = await gw.signIn('hannah', 'hannah-password');
  const harry = await gw.signIn('harry', 'harry-password');
  const sessions = (await gw.api('GET', '/api/sessions', { cookie: hannah })).body as Array<{ id: string; user: string }>;
  const session = sessions.find((x) => x.user === 'alice');
  assert.ok(session, JSON.stringify(sessions));
  const asked = await gw.api('POST', `/api/sessions/${encodeURIComponent(session.id)}/shadow`, { cookie: hannah, body: { control: true } });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  const requestId = (asked.body as { requestId: string }).requestId;
  const shadow = (id: string) => `/api/shadow/${encodeURIComponent(id)}`;
  try {
    // The asker answering her own request: not a party to the answer, so the request stays pending.
    for (const accept of [true, false]) {
      const own = await gw.api('POST', `${shadow(requestId)}/answer`, { cookie: hannah, body: { accept } });
      assert.equal(own.status, 404, JSON.stringify(own.body));
    }
    const pending = (await gw.api('GET', shadow(requestId), { cookie: hannah })).body as {
      state: string;
      user?: string;
      attempts?: unknown;
    };
    assert.equal(pending.state, 'pending');
    assert.equal(pending.user, 'alice', 'the asker learns whose screen it asked for');
    assert.equal(pending.attempts, undefined, 'and no link before the answer');
    // Another helpdesk cannot answer it either, nor learn it exists.
    assert.equal((await gw.api('POST', `${shadow(requestId)}/answer`, { cookie: harry, body: { accept: true } })).status, 404);
    // The user answers once; a second answer, either way, is refused.
    assert.equal((await gw.api('POST', `${shadow(requestId)}/answer`, { cookie: alice, body: { accept: true } })).status, 204);
    for (const accept of [true, false]) {
      const again = await gw.api('POST', `${shadow(requestId)}/answer`, { cookie: alice, body: { accept } });
      assert.equal(again.status, 409);
      assert.match((again.body as { error: string }).error, /already accepted/);
    }
    // Accepted: the asker gets connection links; another helpdesk polling the request gets none.
    const theirs = await gw.api('GET', shadow(requestId), { cookie: harry });
    assert.equal(theirs.status, 404);
    assert.doesNotMatch(JSON.stringify(theirs.body), /token|wss:|accepted/);
    const hers = (await gw.api('GET', shadow(requestId), { cookie: hannah })).body as { state: string; attempts?: Array<{ url: string }> };
    assert.equal(hers.state, 'accepted');
    assert.equal(hers.attempts?.length, 1);
    // Even with the asker's link in hand, another helpdesk's browser cannot use it (bound to hannah's sign-in).
    const borrowed = new WireReader(gw.webSocket(hers.attempts![0]!.url, { cookie: harry }));
    const b = await borrowed.closed;
    assert.equal(b.code, 4003);
    assert.match(b.reason, /another browser session/);
  } finally {
    await gw.api('DELETE', shadow(requestId), { cookie: hannah });
    live.ws.close();
    await live.closed;
  }
});

test('garbage instead of a handshake closes that connection with a reason', async () => {
  const vnc = open((await attempt(GOOD, 'vnc')).url);
  await vnc.read(12);
  vnc.ws.send(Buffer.from('GET / HTTP/1.1\r\n'));
  const v = await vnc.closed;
  assert.equal(v.code, 4400);
  assert.match(v.reason, /does not speak VNC/);
  const spice = open((await attempt(GOOD, 'spice')).url, 'binary');
  await spice.opened;
  spice.ws.send(Buffer.alloc(64, 0x41));
  const s = await spice.closed;
  assert.equal(s.code, 4400);
  assert.match(s.reason, /not start a valid SPICE connection/);
});

test('no password and no token ever reaches the log', () => {
  const log = gw.logs.join('');
  assert.ok(log.includes('connection open'), 'the log should record connections');
  for (const secret of [guest.spicePassword, guest.vncPassword, 'alice-password', 'eyJ']) {
    assert.ok(!log.includes(secret), `the log contains ${secret.slice(0, 3)}…`);
  }
});

const kidOf = (url: string) =>
  (JSON.parse(Buffer.from(new URL(url).searchParams.get('token')!.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

test('rotating the signing key drops no live session; the key before the previous one stops verifying', async () => {
  const a = await attempt(GOOD, 'spice');
  const main = open(a.url, 'binary');
  const { sessionId } = await spiceChannel(main, 0, 1);
  new SigningKeyRing(gw.dataDir).rotate(); // as `porthole keys rotate` does, from another process
  const b = await attempt(GOOD, 'vnc');
  assert.notEqual(kidOf(b.url), kidOf(a.url), 'new tokens are signed with the new key');
  const fresh = open(b.url);
  await vncHandshake(fresh);
  fresh.ws.close();
  // The live SPICE session opened with the old key still takes its other channels.
  const display = open(a.url, 'binary');
  assert.equal((await spiceChannel(display, sessionId!, 2)).auth, 0);
  // Once the old key is two rotations old, it verifies nothing new.
  new SigningKeyRing(gw.dataDir).rotate();
  await attempt(GOOD, 'vnc'); // the gateway picks up the rotation when it next signs
  const cursor = open(a.url, 'binary');
  await cursor.opened;
  cursor.ws.send(spiceLink(sessionId!, 4));
  const refused = await cursor.closed;
  assert.equal(refused.code, 4001);
  assert.equal(display.ws.readyState, display.ws.OPEN, 'channels already open are not cut');
  main.ws.close();
});

test('an administrator revokes a user: their connections close at once (the time is printed) and their sign-ins end', async () => {
  const bob = await gw.signIn('bob', 'bob-password');
  const live = open((await attempt(BOBS, 'vnc', bob)).url, undefined, bob);
  await vncHandshake(live);
  const root = await gw.signIn('root', 'root-password');
  const started = Date.now();
  const revoked = await gw.api('DELETE', '/api/users/bob/sessions', { cookie: root });
  assert.equal(revoked.status, 200);
  const ended = revoked.body as { signIns: number; displaySessions: number };
  assert.equal(ended.displaySessions, 1);
  assert.ok(ended.signIns >= 1, 'every sign-in of bob ended (he signed in earlier in this file too)');
  const closed = await withDeadline(live.closed, 30_000, "the revoked user's connection to close");
  const ms = Date.now() - started;
  console.log(`# revoked user's connection closed ${ms} ms after the call`);
  assert.equal(closed.code, 4410);
  assert.match(closed.reason, /administrator ended your sessions/);
  assert.equal((await gw.api('GET', '/api/desktops', { cookie: bob })).status, 401);
  assert.equal((await gw.api('DELETE', '/api/users/alice/sessions', { cookie: bob })).status, 401);
});

test("signing out closes the desktops this browser opened and voids its unused links; the user's other browser goes on", async () => {
  const shared = await gw.signIn('bob', 'bob-password'); // a classroom computer
  const own = await gw.signIn('bob', 'bob-password'); // his laptop
  const onShared = open((await attempt(BOBS, 'vnc', shared)).url, undefined, shared);
  await vncHandshake(onShared);
  const onOwn = open((await attempt(BOBS, 'vnc', own)).url, undefined, own);
  await vncHandshake(onOwn);
  const unused = await attempt(BOBS, 'vnc', shared);

  const out = await gw.api('POST', '/api/logout', { cookie: shared });
  assert.equal(out.status, 204);
  const closed = await onShared.closed;
  assert.equal(closed.code, 4412);
  assert.match(closed.reason, /You signed out of Porthole/);
  const late = open(unused.url, undefined, shared);
  const refused = await late.closed;
  assert.equal(refused.code, 4003);
  assert.match(refused.reason, /signed out of Porthole. Sign in again/);
  // The laptop's session is another sign-in: it stays open and answers.
  onOwn.ws.send(rfbUpdateRequest(16, 16));
  assert.equal((await onOwn.read(4))[0], 0, "a FramebufferUpdate on the other browser's session");
  onOwn.ws.close();
  await onOwn.closed;
});

test('a browser that closes a SPICE display channel before, or right after, DISPLAY_INIT cannot crash the guest', async () => {
  // QEMU 7.2's spice-server segfaults the whole guest on this without the proxy's safeguard.
  for (const sendsInit of [false, true]) {
    const a = await attempt(GOOD, 'spice');
    const main = open(a.url, 'binary');
    const { sessionId } = await spiceChannel(main, 0, 1);
    const display = open(a.url, 'binary');
    await display.opened;
    display.ws.send(spiceLink(sessionId!, 2));
    const header = await display.read(16);
    await display.read(header.readUInt32LE(12));
    const ticket = Buffer.alloc(4 + 128);
    ticket.writeUInt32LE(1, 0);
    display.ws.send(ticket);
    assert.equal((await display.read(4)).readUInt32LE(0), 0);
    if (sendsInit) display.ws.send(displayInitMessage());
    display.ws.close();
    await display.closed;
    main.ws.close();
    await main.closed;
    // The proxy keeps the display's side open a moment after the browser left; wait until QEMU
    // itself has seen every channel of that session go (the moment it used to crash).
    const gone = await waitFor(
      async () => {
        const info = await guest.qmp.execute<{ channels?: Array<{ 'connection-id': number }> }>('query-spice');
        return !(info.channels ?? []).some((c) => c['connection-id'] === sessionId);
      },
      30_000,
      `QEMU to see session ${sessionId}'s SPICE channels close`,
      100,
    );
    console.log(`# SPICE session ${sessionId}: QEMU saw its channels close ${gone} ms after the browser's`);
    assert.doesNotThrow(() => process.kill(guest.pid, 0), `QEMU died (closing ${sendsInit ? 'right after' : 'before'} DISPLAY_INIT)`);
  }
  // And SPICE still works.
  const again = open((await attempt(GOOD, 'spice')).url, 'binary');
  assert.equal((await spiceChannel(again, 0, 1)).auth, 0);
  again.ws.close();
});

test('a token used from another client address than the one it was issued to is refused', async () => {
  // The API call came from 127.0.0.1; 127.0.0.2 (also this machine's loopback) stands for another machine.
  const a = await attempt(GOOD, 'vnc');
  const elsewhere = new WireReader(gw.webSocket(a.url, { cookie: alice, localAddress: '127.0.0.2' }));
  const closed = await elsewhere.closed;
  assert.equal(closed.code, 4003);
  assert.match(closed.reason, /another network address/);
  // The same token from the address it was issued to still works: the refusal did not spend it.
  const here = open(a.url);
  const init = await vncHandshake(here);
  assert.ok(init.width > 0);
  here.ws.close();
});
