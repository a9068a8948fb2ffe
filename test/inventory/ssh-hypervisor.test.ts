// A hypervisor on another host, reached as operators reach one: `qemu+ssh://` through a real
// OpenSSH server (on loopback) to a real libvirtd with a running guest. Its desktops are listed
// under its name, their display is opened through the proxy, and a host whose ssh refuses the key
// is named as unreachable while the others are listed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startSshd, type Sshd } from '../bed/sshd.js';

let libvirtd: Libvirtd | undefined;
let desktop: RunningDesktop | undefined;
let sshd: Sshd | undefined;
let gw: RunningGateway | undefined;

before(async () => {
  libvirtd = await startLibvirtd();
  desktop = await defineDesktop(libvirtd.uri, { name: 'remote-desk-1', users: ['alice'] });
  sshd = await startSshd();
  const uri = sshd.libvirtUri(join(libvirtd.dir, 'libvirt-sock'));
  // A second host whose ssh is given a key it does not accept.
  const refused = uri.replace(`keyfile=${sshd.keyFile}`, `keyfile=${sshd.keyFile}.pub`);
  gw = await startTestGateway({
    libvirt: `far=${uri},refused=${refused}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
});

after(async () => {
  await gw?.close();
  await sshd?.stop();
  await desktop?.destroy();
  await libvirtd?.stop();
});

test('desktops on a qemu+ssh:// hypervisor are listed under its name and opened through the proxy; a host that refuses the key is named, not fatal', async () => {
  const alice = await gw!.signIn('alice', 'alice-password');
  const list = await gw!.api('GET', '/api/desktops', { cookie: alice });
  assert.equal(list.status, 200);
  const desktops = list.body as Array<{ id: string; hypervisor: string; state: string; protocols: string[] }>;
  assert.deepEqual(
    desktops.map((d) => [d.id, d.hypervisor, d.state]),
    [[desktop!.uuid, 'far', 'running']],
  );
  assert.match(String(list.headers['porthole-unreachable-hypervisors'] ?? ''), /refused/, 'the host that refused the key is named');

  const [vnc] = await gw!.connect(alice, desktop!.uuid, { protocols: ['vnc'] });
  const reader = new WireReader(gw!.webSocket(vnc!.url, { cookie: alice }));
  const init = await vncHandshake(reader);
  assert.deepEqual(init.securityTypes, [1], 'the proxy authenticated to the display over the ssh-reached host');
  assert.ok(init.width > 0 && init.height > 0);
  reader.ws.close();
});
