// The inventory on libvirt's test driver: the real libvirt API (through @unraid/libvirt and,
// for guest addresses, libvirt's C API through koffi) with desktops described in a file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Inventory } from '../../inventory/inventory.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { PROTOCOLS } from '../../serve/protocols.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-inventory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NAMED = '33333333-0000-4000-8000-000000000001';
const LEARNED = '33333333-0000-4000-8000-000000000002';
const UNKNOWN = '33333333-0000-4000-8000-000000000003';
const STOPPED = '33333333-0000-4000-8000-000000000004';

test("RDP's address: the metadata's, else the guest's as libvirt reports it, else no RDP", async () => {
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'named', uuid: NAMED, users: ['alice'], rdp: { port: 3389, address: '192.0.2.10' }, nic: { mac: '52:54:00:00:00:01' } },
    { name: 'learned', uuid: LEARNED, users: ['alice'], rdp: { port: 3390 }, nic: { mac: '52:54:00:00:00:02' } },
    { name: 'unknown', uuid: UNKNOWN, users: ['alice'], rdp: { port: 3389 } },
    { name: 'stopped', uuid: STOPPED, users: ['alice'], running: false, rdp: { port: 3389 }, nic: { mac: '52:54:00:00:00:03' } },
  ]);
  const warnings: string[] = [];
  const inventory = new Inventory([{ name: 'lab', uri }], PROTOCOLS, (w) => warnings.push(w.message));
  try {
    const rdp = async (uuid: string) => (await inventory.get(`lab/${uuid}`))?.displays.find((d) => d.protocol === 'rdp');
    assert.deepEqual(await rdp(NAMED), { protocol: 'rdp', host: '192.0.2.10', port: 3389 });
    // libvirt's test driver reports 192.168.122.x for a NIC on a libvirt network.
    const learned = await rdp(LEARNED);
    assert.match(learned?.host ?? '', /^192\.168\.122\.\d+$/);
    assert.equal(learned?.port, 3390);
    assert.equal(await rdp(UNKNOWN), undefined, 'no address known: RDP is not offered');
    assert.equal(await rdp(STOPPED), undefined);
    const { desktops: listed, unreachable } = await inventory.survey();
    assert.deepEqual(unreachable, []);
    assert.deepEqual(listed.map((d) => [d.name, d.displays.map((x) => x.protocol)]),
      [['learned', ['rdp']], ['named', ['rdp']], ['stopped', []], ['unknown', []]]);
    assert.deepEqual(warnings, []);
  } finally {
    await inventory.close();
  }
});
