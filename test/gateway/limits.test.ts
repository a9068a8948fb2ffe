// Limits per user and per group, through the running gateway's HTTP API and real display
// sessions (WebSockets through the proxy to a synthetic VNC display): connect answers 429 with a
// sentence naming the limit, a desktop open twice (a second tab, a reconnect) counts once, a
// closed session frees its place, watchers and admins are not limited; and starting a desktop
// answers 429 past the running-desktops limits (the test driver's desktops start and stop).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { waitFor } from '../bed/deadline.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { writeTestDriver } from '../bed/test-driver.js';

const id = (n: number) => `11a11000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const [A, B, C] = [id(1), id(2), id(3)];
const [E1, E2, L1, L2] = [id(11), id(12), id(21), id(22)];
const dir = mkdtempSync(join(tmpdir(), 'porthole-limits-'));
let display: DisplayServer;
let gw: RunningGateway;
const cookies: Record<string, string> = {};

const USERS = ['alice', 'bob', 'carol'].map((name) => ({
  name,
  password: `${name}-limits-pw`,
  role: 'user' as const,
  groups: ['class-3b'],
}));

before(async () => {
  display = await startDisplayServer('echo');
  const vnc = { port: display.port, password: '' };
  const libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'desk-a', uuid: A, groups: ['class-3b'], vnc },
    { name: 'desk-b', uuid: B, groups: ['class-3b'], vnc },
    { name: 'desk-c', uuid: C, groups: ['class-3b'], vnc },
    { name: 'erin-1', uuid: E1, users: ['erin'], power: true, vnc },
    { name: 'erin-2', uuid: E2, users: ['erin'], power: true, running: false, vnc },
    { name: 'lab-1', uuid: L1, groups: ['lab'], power: true, vnc },
    { name: 'lab-2', uuid: L2, groups: ['lab'], power: true, running: false, vnc },
  ]);
  gw = await startTestGateway({
    libvirt,
    users: [
      ...USERS,
      { name: 'erin', password: 'erin-limits-pw', role: 'user' },
      { name: 'dave', password: 'dave-limits-pw', role: 'user', groups: ['lab'] },
      { name: 'ada', password: 'ada-limits-pw', role: 'admin', groups: ['class-3b'] },
    ],
    config: {
      limits: { sessionsPerUser: 2, runningDesktopsPerUser: 1, groups: { 'class-3b': { sessions: 3 }, lab: { runningDesktops: 1 } } },
    },
  });
  for (const [name, pw] of [
    ...USERS.map((u) => [u.name, u.password]),
    ['erin', 'erin-limits-pw'],
    ['dave', 'dave-limits-pw'],
    ['ada', 'ada-limits-pw'],
  ])
    cookies[name!] = await gw.signIn(name!, pw!);
});

after(async () => {
  await gw?.close();
  await display?.close();
  rmSync(dir, { recursive: true, force: true });
});

const live = async () => (await gw.gateway.proxy.sessions.list()).length;

/** A display session as a browser tab opens one: connect, the WebSocket, the RFB handshake. */
async function open(user: string, desktop: string): Promise<{ close(): Promise<void> }> {
  const before = await live();
  const [attempt] = await gw.connect(cookies[user]!, desktop, { protocols: ['vnc'] });
  const reader = new WireReader(gw.webSocket(attempt!.url, { cookie: cookies[user]! }));
  await vncHandshake(reader);
  await waitFor(async () => (await live()) > before, 10_000, `${user}'s session on ${desktop} to be live`);
  return {
    async close() {
      const n = await live();
      reader.ws.close();
      await reader.closed;
      await waitFor(async () => (await live()) < n, 10_000, `${user}'s session on ${desktop} to end`);
    },
  };
}

const connect = (user: string, desktop: string) =>
  gw.api('POST', `/api/desktops/${desktop}/connect`, { cookie: cookies[user]!, body: { protocols: ['vnc'] } });

test('past limits.sessionsPerUser connect answers 429 naming it; a desktop open twice counts once', async () => {
  const a = await open('alice', A);
  const again = await open('alice', A); // a second tab on the same desktop
  const b = await open('alice', B);
  const refused = await connect('alice', C);
  assert.equal(refused.status, 429);
  const { error } = refused.body as { error: string };
  assert.match(error, /You already have 2 desktops open, the most one person may have at once \(limits\.sessionsPerUser is 2\)/);
  assert.match(error, /Close one of them/);
  // Reopening one already open is never refused.
  assert.equal((await connect('alice', A)).status, 200);
  await b.close();
  assert.equal((await connect('alice', C)).status, 200, 'a closed session frees its place');
  await again.close();
  await a.close();
});

test("past limits.groups.<name>.sessions connect answers 429 naming the group's limit, for every member", async () => {
  const sessions = [await open('alice', A), await open('alice', B), await open('bob', A)];
  const refused = await connect('carol', C);
  assert.equal(refused.status, 429);
  assert.match(
    (refused.body as { error: string }).error,
    /The members of class-3b have 3 desktops open, the most they may have at once together \(limits\.groups\.class-3b\.sessions is 3\)/,
  );
  // bob, already on A, may open it again; an admin in the group is not limited.
  assert.equal((await connect('bob', A)).status, 200);
  assert.equal((await connect('ada', C)).status, 200);
  await sessions[1]!.close();
  assert.equal((await connect('carol', C)).status, 200);
  for (const s of [sessions[0]!, sessions[2]!]) await s.close();
});

test('starting past limits.runningDesktopsPerUser or limits.groups.<name>.runningDesktops answers 429 naming it', async () => {
  const start = (user: string, desktop: string) => gw.api('POST', `/api/desktops/${desktop}/start`, { cookie: cookies[user]!, body: {} });
  const mine = await start('erin', E2);
  assert.equal(mine.status, 429, JSON.stringify(mine.body));
  assert.match(
    (mine.body as { error: string }).error,
    /1 desktop of yours is running already.*\(limits\.runningDesktopsPerUser is 1\)\. Shut one of them down first/,
  );
  const lab = await start('dave', L2);
  assert.equal(lab.status, 429);
  assert.match((lab.body as { error: string }).error, /1 desktop of lab is running already.*\(limits\.groups\.lab\.runningDesktops is 1\)/);
  // Once the other is shut down, the start is taken.
  assert.equal((await gw.api('POST', `/api/desktops/${L1}/shutdown`, { cookie: cookies.dave!, body: {} })).status, 202);
  await waitFor(
    async () =>
      ((await gw.api('GET', '/api/desktops', { cookie: cookies.dave! })).body as Array<{ id: string; state: string }>).find(
        (d) => d.id === L1,
      )?.state === 'shut off',
    30_000,
    'lab-1 to be shut off',
  );
  assert.equal((await start('dave', L2)).status, 202);
  const audit = (await gw.api('GET', '/api/audit?user=erin', { cookie: cookies.ada! })).body as Array<{
    event: string;
    result?: string;
    reason?: string;
  }>;
  assert.ok(audit.some((e) => e.event === 'power.start' && e.result === 'refused' && /runningDesktopsPerUser/.test(e.reason ?? '')));
});
