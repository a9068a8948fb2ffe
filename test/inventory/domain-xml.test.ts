import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDomainXml } from '../../inventory/domain-xml.js';
import { mayOpen, protocolsOf } from '../../contract/desktop.js';
import { PROTOCOLS } from '../../serve/protocols.js';

const xml = (metadata: string, graphics: string) => `<domain type='kvm' id='3'>
  <name>lab-&lt;1&gt;</name>
  <uuid>6695EB01-F6A4-8304-79AA-97F2502E193F</uuid>
  <metadata>${metadata}</metadata>
  <devices>${graphics}</devices>
</domain>`;

const META = `<porthole:desktop xmlns:porthole="https://porthole.dev/xmlns/desktop/1">
    <porthole:user>alice</porthole:user><porthole:user>bob</porthole:user>
    <porthole:group>class-3b</porthole:group>
    <porthole:rdp port="3389" address="192.0.2.10"/>
  </porthole:desktop>`;

const GRAPHICS = `<graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1' passwd='s3cret'>
    <listen type='address' address='127.0.0.1'/></graphics>
  <graphics type='vnc' port='5902' autoport='yes' listen='0.0.0.0' passwd='vncpw'>
    <listen type='address' address='0.0.0.0'/></graphics>
  <graphics type='sdl'/>`;

test('reads identity, entitlement, RDP and displays with passwords', () => {
  const d = parseDomainXml(xml(META, GRAPHICS), 'kvm-1.lab', PROTOCOLS);
  assert.equal(d.name, 'lab-<1>');
  assert.equal(d.uuid, '6695eb01-f6a4-8304-79aa-97f2502e193f');
  assert.deepEqual(d.users, ['alice', 'bob']);
  assert.deepEqual(d.groups, ['class-3b']);
  assert.deepEqual(d.guestEndpoints, [{ protocol: 'rdp', port: 3389, address: '192.0.2.10' }]);
  assert.deepEqual(d.displays, [
    { protocol: 'spice', host: '127.0.0.1', port: 5901, password: 's3cret' },
    // A wildcard listen address is reached at the hypervisor's host.
    { protocol: 'vnc', host: 'kvm-1.lab', port: 5902, password: 'vncpw' },
  ]);
});

test('any prefix bound to the Porthole namespace counts; other namespaces do not', () => {
  const other = `<x:desktop xmlns:x="https://porthole.dev/xmlns/desktop/1"><x:user>carol</x:user></x:desktop>
    <porthole:desktop xmlns:porthole="https://evil.example/ns"><porthole:user>mallory</porthole:user></porthole:desktop>`;
  const d = parseDomainXml(xml(other, ''), 'h', PROTOCOLS);
  assert.deepEqual(d.users, ['carol']);
});

test('a stopped domain (port -1) and a domain without metadata have no displays and no users', () => {
  const d = parseDomainXml(xml('', "<graphics type='vnc' port='-1' autoport='yes'/>"), 'h', PROTOCOLS);
  assert.deepEqual(d.displays, []);
  assert.deepEqual(d.users, []);
  assert.deepEqual(d.guestEndpoints, []);
});

test('XML that is not a domain is refused', () => {
  assert.throws(() => parseDomainXml('<network/>', 'h', PROTOCOLS), /not a libvirt domain/);
});

test('entitlement: by user, by group, admin sees all; protocols in fallback order', () => {
  const d = { users: ['alice'], groups: ['class-3b'] };
  assert.equal(mayOpen(d, { username: 'alice', roles: ['user'], groups: [] }), true);
  assert.equal(mayOpen(d, { username: 'bob', roles: ['user'], groups: ['class-3b'] }), true);
  assert.equal(mayOpen(d, { username: 'eve', roles: ['helpdesk'], groups: ['class-3a'] }), false);
  assert.equal(mayOpen(d, { username: 'root', roles: ['admin'], groups: [] }), true);
  assert.deepEqual(
    protocolsOf(
      {
        displays: [
          { protocol: 'rdp', host: 'h', port: 1 },
          { protocol: 'spice', host: 'h', port: 2 },
        ],
      },
      PROTOCOLS.ids,
    ),
    ['spice', 'rdp'],
  );
});
