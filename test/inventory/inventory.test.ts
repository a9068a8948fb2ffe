// The inventory on libvirt's test driver: the real libvirt API (through @unraid/libvirt and,
// for guest addresses, libvirt's C API through koffi) with desktops described in a file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Inventory, SURVEY_FRESH_MS } from '../../inventory/inventory.js';
import { waitFor } from '../bed/deadline.js';
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
    const rdp = async (uuid: string) => (await inventory.get(`${uuid}`))?.displays.find((d) => d.protocol === 'rdp');
    assert.deepEqual(await rdp(NAMED), { protocol: 'rdp', host: '192.0.2.10', port: 3389 });
    // libvirt's test driver reports 192.168.122.x for a NIC on a libvirt network.
    const learned = await rdp(LEARNED);
    assert.match(learned?.host ?? '', /^192\.168\.122\.\d+$/);
    assert.equal(learned?.port, 3390);
    assert.equal(await rdp(UNKNOWN), undefined, 'no address known: RDP is not offered');
    assert.equal(await rdp(STOPPED), undefined);
    const { desktops: listed, unreachable } = await inventory.survey();
    assert.deepEqual(unreachable, []);
    assert.deepEqual(
      listed.map((d) => [d.name, d.displays.map((x) => x.protocol)]),
      [
        ['learned', ['rdp']],
        ['named', ['rdp']],
        ['stopped', []],
        ['unknown', []],
      ],
    );
    assert.deepEqual(warnings, []);
  } finally {
    await inventory.close();
  }
});

test('a desktop is its UUID: on several hosts it is the one where it runs, shut off everywhere it is listed once, and an unreadable host is never guessed past', async () => {
  const MOVED = '33333333-0000-4000-8000-0000000000a1';
  const PARKED = '33333333-0000-4000-8000-0000000000a2';
  const vnc = (port: number) => ({ port, password: 'pw' });
  // kvm-1 still has MOVED defined but shut off (as after a migration); kvm-2 runs it.
  const one = writeTestDriver(join(dir, 'kvm-1.xml'), [
    { name: 'moved', uuid: MOVED, users: ['alice'], running: false, vnc: vnc(5901) },
    { name: 'parked', uuid: PARKED, users: ['alice'], running: false },
  ]);
  const two = writeTestDriver(join(dir, 'kvm-2.xml'), [
    { name: 'moved', uuid: MOVED, users: ['alice'], vnc: vnc(5902) },
    { name: 'parked', uuid: PARKED, users: ['alice'], running: false },
  ]);
  const inventory = new Inventory(
    [
      { name: 'kvm-1', uri: one },
      { name: 'kvm-2', uri: two },
    ],
    PROTOCOLS,
  );
  try {
    const moved = await inventory.get(MOVED);
    assert.equal(moved?.id, MOVED);
    assert.equal(moved?.hypervisor, 'kvm-2');
    assert.equal(moved?.state, 'running');
    assert.equal(moved?.displays[0]?.port, 5902, 'the display of the host where it runs');
    assert.equal((await inventory.get(MOVED.toUpperCase()))?.hypervisor, 'kvm-2');
    assert.equal(await inventory.get(`kvm-2/${MOVED}`), undefined, 'the old host-prefixed id is no id');
    const { desktops } = await inventory.survey();
    assert.deepEqual(
      desktops.map((d) => [d.id, d.hypervisor, d.state]),
      [
        [MOVED, 'kvm-2', 'running'],
        [PARKED, 'kvm-1', 'shut off'],
      ],
    );
  } finally {
    await inventory.close();
  }
  // A host that cannot be read may be where it runs: 503, not a stale "shut off".
  const partial = new Inventory(
    [
      { name: 'kvm-1', uri: one },
      { name: 'gone', uri: 'qemu+tcp://127.0.0.1:1/system' },
    ],
    PROTOCOLS,
  );
  try {
    await assert.rejects(partial.get(PARKED), (error: Error & { hypervisor?: string }) => error.hypervisor === 'gone');
  } finally {
    await partial.close();
  }
});

test('lists share one reading of the hosts: together or within SURVEY_FRESH_MS, answered from the last reading while a new one is taken, and a power action makes the next list wait for a new one', async () => {
  const uri = writeTestDriver(join(dir, 'survey.xml'), [
    { name: 'a', uuid: '44444444-0000-4000-8000-000000000001', users: ['alice'], running: false, power: true },
    { name: 'b', uuid: '44444444-0000-4000-8000-000000000002', users: ['alice'] },
  ]);
  let calls = 0;
  const inventory = new Inventory(
    [{ name: 'lab', uri }],
    PROTOCOLS,
    () => {},
    () => calls++,
  );
  try {
    const [first, second] = await Promise.all([inventory.survey(), inventory.survey()]);
    const reading = calls;
    assert.ok(reading > 0, 'the first list read libvirt');
    assert.strictEqual(first, second, 'two lists at once share one reading');
    await inventory.survey();
    assert.equal(calls, reading, 'a list right after is answered from the same reading');
    const a = first.desktops.find((d) => d.name === 'a')!;
    assert.equal(a.state, 'shut off');
    await inventory.power((await inventory.get(a.id))!, 'start');
    const after = await inventory.survey();
    assert.ok(calls > reading, 'after a power action the list reads the hosts again');
    assert.equal(after.desktops.find((d) => d.name === 'a')!.state, 'running', 'and shows the new state');
    await new Promise((r) => setTimeout(r, SURVEY_FRESH_MS + 50));
    const before = calls;
    const stale = await inventory.survey();
    assert.strictEqual(stale, after, 'a list past SURVEY_FRESH_MS is answered at once from the last reading…');
    await waitFor(() => calls > before, 10_000, 'a new reading behind it');
    await new Promise((r) => setTimeout(r, 100));
    assert.notStrictEqual(await inventory.survey(), after, '…and the next list has the new reading');
  } finally {
    await inventory.close();
  }
});
