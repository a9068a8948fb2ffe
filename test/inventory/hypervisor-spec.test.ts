import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostOfUri, parseHypervisors } from '../../inventory/hypervisor-spec.js';

test('unnamed hypervisors are named after their host, or local', () => {
  assert.deepEqual(parseHypervisors('qemu:///system, qemu+ssh://root@kvm-2.lab:22/system'), [
    { name: 'local', uri: 'qemu:///system' },
    { name: 'kvm-2.lab', uri: 'qemu+ssh://root@kvm-2.lab:22/system' },
  ]);
});

test('name=URI names a hypervisor, and a query with = stays part of the URI', () => {
  assert.deepEqual(parseHypervisors('lab=qemu:///system?socket=/run/x=y/sock'), [
    { name: 'lab', uri: 'qemu:///system?socket=/run/x=y/sock' },
  ]);
});

test('two hypervisors with one name, an empty list and a non-URI are refused with the reason', () => {
  assert.throws(() => parseHypervisors('qemu:///system,test:///default'), /two hypervisors are named "local"/);
  assert.throws(() => parseHypervisors(' , '), /no hypervisor configured/);
  assert.throws(() => parseHypervisors('not a uri'), /is not a libvirt URI/);
  assert.throws(() => parseHypervisors('bad name=qemu:///system'), /is not a libvirt URI|must be letters/);
});

test('a wildcard display on a remote hypervisor is reached at that host', () => {
  assert.equal(hostOfUri('qemu+ssh://kvm-2.lab/system'), 'kvm-2.lab');
  assert.equal(hostOfUri('qemu:///system'), '127.0.0.1');
});
