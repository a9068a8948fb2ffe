// A hypervisor reached as `qemu+tls://`, as operators reach libvirt on other hosts without ssh:
// libvirtd's own TLS listener (on loopback) with a CA, server and client certificates made at
// test time. Its desktops are listed and opened through the proxy over it; Porthole with a
// client certificate from another CA is refused, and that host is named, with libvirt's reason.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAuthority, issueHostCertificate, type KeyAndCertificate } from '../../certs/authority.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startIsolatedLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { freePort } from '../bed/ports.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { recordSecret } from '../bed/secret-record.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-libvirt-tls-'));
let host: Libvirtd | undefined;
let desktop: RunningDesktop | undefined;
let gw: RunningGateway | undefined;

/** libvirt's client `pkipath`: the CA it trusts, and the certificate and key it shows. */
function clientPki(name: string, ca: KeyAndCertificate, client: KeyAndCertificate): string {
  const pki = join(dir, name);
  mkdirSync(pki, { mode: 0o700 });
  writeFileSync(join(pki, 'cacert.pem'), ca.cert);
  writeFileSync(join(pki, 'clientcert.pem'), client.cert);
  writeFileSync(join(pki, 'clientkey.pem'), client.key, { mode: 0o600 });
  recordSecret('libvirt client key', client.key);
  return pki;
}

before(async () => {
  const ca = await createAuthority('Porthole test libvirt CA');
  const server = await issueHostCertificate(ca, ['localhost', '127.0.0.1']);
  const client = await issueHostCertificate(ca, ['porthole-gateway']);
  const stranger = await createAuthority('Some other CA');
  const foreignClient = await issueHostCertificate(stranger, ['porthole-gateway']);
  recordSecret('libvirt server key', server.key);
  const port = await freePort();
  host = await startIsolatedLibvirtd({
    hostname: 'hv-tls',
    displayPorts: [22400, 22449],
    migrationPorts: [22450, 22499],
    tls: { port, ca: ca.cert, cert: server.cert, key: server.key },
  });
  desktop = await defineDesktop(host.uri, { name: 'tls-desk-1', users: ['alice'] });
  const uri = (pki: string) => `qemu+tls://127.0.0.1:${port}/system?pkipath=${pki}`;
  gw = await startTestGateway({
    libvirt: `far=${uri(clientPki('trusted', ca, client))},stranger=${uri(clientPki('foreign', ca, foreignClient))}`,
    users: [
      { name: 'alice', password: 'alice-password', role: 'user' },
      { name: 'ada', password: 'ada-password', role: 'admin' },
    ],
  });
});

after(async () => {
  await gw?.close();
  await desktop?.destroy();
  await host?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('desktops on a qemu+tls:// hypervisor are listed and opened through the proxy; a client certificate of another CA is refused and that host named', async () => {
  const alice = await gw!.signIn('alice', 'alice-password');
  const list = await gw!.api('GET', '/api/desktops', { cookie: alice });
  assert.equal(list.status, 200);
  assert.deepEqual(
    (list.body as Array<{ id: string; hypervisor: string; state: string }>).map((d) => [d.id, d.hypervisor, d.state]),
    [[desktop!.uuid, 'far', 'running']],
  );
  assert.equal(list.headers['porthole-unreachable-hypervisors'], 'stranger', 'the host that refused the certificate is named');

  const [vnc] = await gw!.connect(alice, desktop!.uuid, { protocols: ['vnc'] });
  const reader = new WireReader(gw!.webSocket(vnc!.url, { cookie: alice }));
  const init = await vncHandshake(reader);
  assert.deepEqual(init.securityTypes, [1], 'the proxy authenticated to the display it found over TLS');
  assert.ok(init.width > 0 && init.height > 0);
  reader.ws.close();

  const hosts = (await gw!.api('GET', '/api/hypervisors', { cookie: await gw!.signIn('ada', 'ada-password') })).body as Array<{
    name: string;
    state: string;
    reason?: string;
  }>;
  const far = hosts.find((h) => h.name === 'far')!;
  const stranger = hosts.find((h) => h.name === 'stranger')!;
  assert.equal(far.state, 'connected');
  assert.equal(stranger.state, 'down');
  console.log(`# libvirt's reason for the foreign client certificate: ${stranger.reason}`);
  assert.match(stranger.reason ?? '', /TLS|certificate|handshake|authentication/i);
});
