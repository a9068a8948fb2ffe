// A scripted school day through the running gateway and a real QEMU display, then the audit
// trail read back through /api/audit: every kind of event is there with who, what and the
// client, filters work, only admins may read it, and no secret of the day is in it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { rfbUpdateRequest, vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { waitForValue } from '../bed/deadline.js';

const DESKTOP = '44444444-0000-4000-8000-000000000001';
const ID = `${DESKTOP}`;
const dir = mkdtempSync(join(tmpdir(), 'porthole-audit-day-'));
let guest: QemuGuest;
let gw: RunningGateway;
const secrets: string[] = ['alice-password', 'hannah-password', 'ada-password', 'wrong-password'];

interface Entry {
  at: string;
  event: string;
  user?: string;
  desktop?: string;
  client?: string;
  [k: string]: unknown;
}

before(async () => {
  guest = await startQemuGuest({});
  secrets.push(guest.vncPassword, guest.spicePassword);
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: guest.vncPort, password: guest.vncPassword } },
  ]);
  gw = await startTestGateway({
    libvirt: `lab=${uri}`,
    users: [
      { name: 'alice', password: 'alice-password', role: 'user' },
      { name: 'hannah', password: 'hannah-password', role: 'helpdesk' },
      { name: 'ada', password: 'ada-password', role: 'admin' },
    ],
  });
});
after(async () => {
  await gw?.close();
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a scripted day: each event kind is in the trail, searchable, for admins only, with no secret in it', async () => {
  const startedAt = new Date().toISOString();
  // Morning: a wrong password, then Alice signs in and opens her desktop over VNC.
  assert.equal((await gw.api('POST', '/api/login', { body: { username: 'alice', password: 'wrong-password' } })).status, 401);
  const alice = await gw.signIn('alice', 'alice-password');
  secrets.push(alice.split('=')[1]!);
  const [attempt] = await gw.connect(alice, ID, { protocols: ['vnc'] });
  secrets.push(attempt!.token, attempt!.token.split('.')[2]!);
  const reader = new WireReader(gw.webSocket(attempt!.url, { cookie: alice }));
  const { width, height } = await vncHandshake(reader);
  reader.ws.send(rfbUpdateRequest(width, height));
  await reader.read(4);

  // The helpdesk asks to watch; Alice says no.
  const hannah = await gw.signIn('hannah', 'hannah-password');
  secrets.push(hannah.split('=')[1]!);
  const sessions = await waitForValue(
    async () => (await gw.api('GET', '/api/sessions', { cookie: hannah })).body as Array<{ id: string; user: string }>,
    (list) => list.some((s) => s.user === 'alice'),
    15_000,
    'Alice in the session list',
  );
  const asked = await gw.api('POST', `/api/sessions/${sessions[0]!.id}/shadow`, { cookie: hannah, body: {} });
  assert.equal(asked.status, 202);
  const requestId = (asked.body as { requestId: string }).requestId;
  assert.equal((await gw.api('POST', `/api/shadow/${requestId}/answer`, { cookie: alice, body: { accept: false } })).status, 204);

  // An administrator ends Alice's session, then revokes her.
  const ada = await gw.signIn('ada', 'ada-password');
  secrets.push(ada.split('=')[1]!);
  assert.equal((await gw.api('DELETE', `/api/sessions/${sessions[0]!.id}`, { cookie: ada })).status, 204);
  const closed = await reader.closed;
  assert.equal(closed.code, 4410);
  assert.equal((await gw.api('DELETE', '/api/users/alice/sessions', { cookie: ada })).status, 200);

  // The trail, as the admin reads it.
  const all = await waitForValue(
    async () => {
      const res = await gw.api('GET', `/api/audit?since=${encodeURIComponent(startedAt)}`, { cookie: ada });
      assert.equal(res.status, 200);
      return res.body as Entry[];
    },
    (entries) => entries.some((e) => e.event === 'connection.closed'),
    15_000,
    'connection.closed in the trail',
  );
  const kinds = new Set(all.map((e) => e.event));
  for (const kind of [
    'sign-in.refused',
    'sign-in',
    'token.issued',
    'connection.opened',
    'connection.closed',
    'shadow.requested',
    'shadow.refused',
    'session.ended',
    'user.revoked',
  ])
    assert.ok(kinds.has(kind), `${kind} missing: ${[...kinds].join(', ')}`);
  const refused = all.find((e) => e.event === 'sign-in.refused')!;
  assert.equal(refused.user, 'alice');
  assert.equal(refused.client, '127.0.0.1');
  assert.match(String(refused.reason), /wrong user name or password/);
  const issued = all.find((e) => e.event === 'token.issued')!;
  assert.equal(issued.desktop, ID);
  assert.equal(issued.protocol, 'vnc');
  const opened = all.find((e) => e.event === 'connection.opened')!;
  assert.equal(opened.token, issued.token, 'the connection names the token it used, by its id');
  const ended = all.find((e) => e.event === 'connection.closed')!;
  assert.equal(ended.code, 4410);
  assert.ok(Number(ended.toClient) > 100_000, `bytes to the browser: ${String(ended.toClient)}`);
  assert.ok(Number(ended.toDisplay) > 0);
  assert.equal(typeof ended.seconds, 'number');
  assert.equal(all.find((e) => e.event === 'session.ended')!.admin, 'ada');
  // Newest last.
  assert.deepEqual(
    [...all].sort((a, b) => a.at.localeCompare(b.at)).map((e) => e.at),
    all.map((e) => e.at),
  );

  // Filters.
  const byUser = (await gw.api('GET', '/api/audit?user=hannah', { cookie: ada })).body as Entry[];
  assert.ok(byUser.length > 0 && byUser.every((e) => e.user === 'hannah' || e.asker === 'hannah' || e.admin === 'hannah'));
  const byDesktop = (await gw.api('GET', `/api/audit?desktop=${encodeURIComponent(ID)}`, { cookie: ada })).body as Entry[];
  assert.ok(byDesktop.some((e) => e.event === 'connection.opened') && byDesktop.every((e) => e.desktop === ID));
  const future = (
    await gw.api('GET', `/api/audit?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, { cookie: ada })
  ).body as Entry[];
  assert.deepEqual(future, []);
  assert.equal((await gw.api('GET', '/api/audit?since=yesterday', { cookie: ada })).status, 400);

  // Only administrators read it.
  assert.equal((await gw.api('GET', '/api/audit', { cookie: hannah })).status, 403);
  assert.equal((await gw.api('GET', '/api/audit')).status, 401);

  // No secret of the day is in the trail's file.
  const file = readFileSync(join(gw.dataDir, 'audit.log'), 'utf8');
  for (const secret of secrets) assert.ok(!file.includes(secret), `a secret (${secret.slice(0, 4)}...) is in the audit trail`);
});
