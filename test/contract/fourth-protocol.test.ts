// The seams hold for a fourth protocol: a stand-in protocol module (descriptor and adapter, in
// test/fixtures/echo-protocol) handed to the real gateway beside SPICE, VNC and RDP is read from
// the desktop's metadata by the inventory, offered by connect with its own URL and bounds, and
// relayed by the proxy after its token is verified and claimed. Nothing else knows of it.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestGateway } from '../bed/gateway.js';
import { METADATA_NAMESPACE } from '../../inventory/domain-xml.js';
import { PROTOCOL_MODULES } from '../../serve/protocols.js';
import { EchoAdapter } from '../fixtures/echo-protocol/adapter.js';
import { echo } from '../fixtures/echo-protocol/descriptor.js';

test('a fourth protocol: listed, offered by connect within the bounds, relayed once, its token single-use', async () => {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'echo-'));
  const path = join(dir, 'node.xml');
  writeFileSync(
    path,
    `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><domain type='test'><name>e</name><uuid>22222222-0000-4000-8000-000000000001</uuid><memory>131072</memory><os><type>hvm</type></os><devices/>
    <metadata><porthole:desktop xmlns:porthole="${METADATA_NAMESPACE}"><porthole:user>alice</porthole:user><porthole:echo port='${port}' address='127.0.0.1'/></porthole:desktop></metadata></domain></node>`,
  );
  const protocols = [...PROTOCOL_MODULES, { descriptor: echo, adapter: () => new EchoAdapter() }];
  const gw = await startTestGateway({
    libvirt: `lab=test://${path}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
    protocols,
  });
  try {
    const cookie = await gw.signIn('alice', 'alice-password');
    const list = await gw.api('GET', '/api/desktops', { cookie });
    assert.deepEqual((list.body as Array<{ protocols: string[] }>)[0]!.protocols, ['echo']);
    // The body's bounds follow the registry: four protocols may be asked for.
    const attempts = await gw.connect(cookie, '22222222-0000-4000-8000-000000000001', { protocols: ['spice', 'vnc', 'rdp', 'echo'] });
    assert.deepEqual(
      attempts.map((a) => a.protocol),
      ['echo'],
    );
    assert.match(attempts[0]!.url, /\/ws\/echo\?token=/);
    const ws = gw.webSocket(attempts[0]!.url, { cookie });
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.from('hello'));
    const reply = await new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)));
    assert.equal(reply.toString(), 'hello');
    ws.close();
    // Single use, as for every protocol: the proxy's claim, not the adapter's habit.
    const again = gw.webSocket(attempts[0]!.url, { cookie });
    const code = await new Promise<number>((r) => again.once('close', (c: number) => r(c)));
    assert.equal(code, 4001);
  } finally {
    await gw.close();
    server.close();
  }
});
