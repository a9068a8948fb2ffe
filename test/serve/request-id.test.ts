// One id from the HTTP call to the display connection: the request id of
// `POST /api/desktops/{id}/connect` (Fastify's reqId) travels in the display token it issues, and
// the proxy names it on the log lines and audit events of the connection that token opens. Read
// from the gateway's recorded log, as an operator would grep it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitForValue } from '../bed/deadline.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startSyntheticVnc, type SyntheticVnc } from '../bed/synthetic-vnc.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESKTOP = 'ae000000-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-request-id-'));
let display: SyntheticVnc;
let gw: RunningGateway;

before(async () => {
  display = await startSyntheticVnc();
  gw = await startTestGateway({
    libvirt: `lab=${writeTestDriver(join(dir, 'lab.xml'), [{ name: 'desk', uuid: DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } }])}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
});

after(async () => {
  await gw?.close();
  await display?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Line = Record<string, unknown> & { msg?: string; reqId?: string };
const lines = (): Line[] =>
  gw.logs
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

test("the connect call's request id is on the proxy's log lines and audit events for the connection its token opens", async () => {
  const cookie = await gw.signIn('alice', 'alice-password');
  const [attempt] = await gw.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const reader = new WireReader(gw.webSocket(attempt!.url, { cookie }));
  await vncHandshake(reader);

  const opened = await waitForValue(
    async () => lines().find((l) => l.msg === 'connection open'),
    (l) => l !== undefined,
    10_000,
    'the proxy to log the connection',
  );
  const reqId = opened!.reqId;
  assert.match(String(reqId), /^[0-9a-f-]{36}$/, 'a request id unique across processes (a UUID)');
  // The same id is the HTTP request's: Fastify's own request lines for the connect call carry it.
  const call = lines().filter((l) => l.reqId === reqId && l.msg !== 'connection open' && l.msg !== 'connection closed');
  const incoming = call.find((l) => l.msg === 'incoming request') as { req?: { method: string; url: string } } | undefined;
  assert.deepEqual(incoming?.req && { method: incoming.req.method, url: incoming.req.url }, {
    method: 'POST',
    url: `/api/desktops/${DESKTOP}/connect`,
  });
  assert.ok(
    call.some((l) => l.msg === 'connect tokens issued'),
    'the route logs under the same id',
  );

  reader.ws.close();
  const closed = await waitForValue(
    async () => lines().find((l) => l.msg === 'connection closed'),
    (l) => l !== undefined,
    10_000,
    'the proxy to log the close',
  );
  assert.equal(closed!.reqId, reqId);

  // The audit trail too: the token issued, the connection opened and closed.
  const events = readFileSync(join(gw.dataDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; reqId?: string });
  for (const kind of ['token.issued', 'connection.opened', 'connection.closed'])
    assert.equal(events.find((e) => e.event === kind)?.reqId, reqId, `${kind} names the request`);
  // The token itself never appears: only its id.
  assert.ok(!gw.logs.join('').includes(attempt!.token), 'the token stays out of the log');
});
