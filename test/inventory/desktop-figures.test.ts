// Per-desktop figures from libvirt's counters: rates between two readings, no rate where a
// counter went back (a new QEMU after a restart or a migration), and one desktop once when two
// hosts briefly run it. Pure logic; the real bulk call on a real guest is in
// test/inventory/hypervisor-health.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countersOf, type DomainCounters } from '../../inventory/domain-stats.js';
import { figuresBetween, FiguresSampler } from '../../inventory/desktop-figures.js';

const UUID = '44444444-0000-4000-8000-000000000001';

test("libvirt's parameters become counters: CPU time, vCPUs, memory in bytes, interfaces and disks summed", () => {
  const counters = countersOf(UUID, [
    { field: 'state.state', value: 1 },
    { field: 'cpu.time', value: 5_000_000_000 },
    { field: 'vcpu.current', value: 2 },
    { field: 'balloon.current', value: 262_144 },
    { field: 'balloon.maximum', value: 524_288 },
    { field: 'balloon.rss', value: 200_000 },
    { field: 'net.count', value: 2 },
    { field: 'net.0.name', value: undefined },
    { field: 'net.0.rx.bytes', value: 1000 },
    { field: 'net.1.rx.bytes', value: 500 },
    { field: 'net.0.tx.bytes', value: 300 },
    { field: 'block.0.rd.bytes', value: 4096 },
    { field: 'block.0.wr.bytes', value: 8192 },
    { field: 'block.0.rd.reqs', value: 9 },
  ]);
  assert.deepEqual(counters, {
    uuid: UUID,
    cpuNs: 5_000_000_000,
    vcpus: 2,
    memoryBytes: 256 * 1024 * 1024,
    maxMemoryBytes: 512 * 1024 * 1024,
    residentBytes: 200_000 * 1024,
    netRxBytes: 1500,
    netTxBytes: 300,
    diskReadBytes: 4096,
    diskWriteBytes: 8192,
  });
  // Where libvirt cannot tell the total (no cgroups), the vCPUs' times stand for it.
  const fromVcpus = countersOf(UUID, [
    { field: 'vcpu.0.time', value: 3e9 },
    { field: 'vcpu.1.time', value: 1e9 },
  ]);
  assert.equal(fromVcpus.cpuNs, 4e9);
});

const reading = (at: number, c: Partial<DomainCounters>) => ({
  at,
  counters: { uuid: UUID, netRxBytes: 0, netTxBytes: 0, diskReadBytes: 0, diskWriteBytes: 0, ...c },
});

test('rates between two readings; none on the first reading, nor where a counter went back', () => {
  const first = reading(0, { cpuNs: 1e9, vcpus: 2, memoryBytes: 100, netRxBytes: 1000, diskWriteBytes: 0 });
  const alone = figuresBetween('lab', first, undefined);
  assert.deepEqual(alone, { id: UUID, hypervisor: 'lab', at: new Date(0), vcpus: 2, memoryBytes: 100 });
  // 10 s later: 5 s of CPU over 2 vCPUs is a quarter of their time.
  const second = reading(10_000, { cpuNs: 6e9, vcpus: 2, memoryBytes: 100, netRxBytes: 21_000, netTxBytes: 500, diskWriteBytes: 40_960 });
  const figures = figuresBetween('lab', second, first);
  assert.equal(figures.cpu, 0.25);
  assert.equal(figures.netRxBytesPerSecond, 2000);
  assert.equal(figures.netTxBytesPerSecond, 50);
  assert.equal(figures.diskReadBytesPerSecond, 0);
  assert.equal(figures.diskWriteBytesPerSecond, 4096);
  // A new QEMU (the desktop restarted, or arrived by migration): its counters start again.
  const restarted = figuresBetween('lab', reading(20_000, { cpuNs: 1e8, vcpus: 2, netRxBytes: 10 }), second);
  assert.equal(restarted.cpu, undefined);
  assert.equal(restarted.netRxBytesPerSecond, undefined);
  assert.equal(restarted.diskWriteBytesPerSecond, undefined);
  assert.equal(restarted.diskReadBytesPerSecond, 0, 'a counter that did not go back still has its rate');
});

test('the sampler reads each host once per interval, from the first request on, and a desktop on two hosts is listed once', async () => {
  let calls = 0;
  let cpu = 0;
  const host = (name: string, uuid: string) => ({
    name,
    domainCounters: async (): Promise<DomainCounters[]> => {
      calls++;
      cpu += 1e8;
      return [{ uuid, cpuNs: cpu, vcpus: 1, netRxBytes: 0, netTxBytes: 0, diskReadBytes: 0, diskWriteBytes: 0 }];
    },
  });
  const failing = { name: 'gone', domainCounters: () => Promise.reject(new Error('Failed to connect socket')) };
  const warnings: string[] = [];
  const sampler = new FiguresSampler([host('a', UUID), host('b', UUID), failing], 100, (h, m) => warnings.push(`${h}: ${m}`));
  try {
    assert.equal(calls, 0, 'nothing read before anyone asks');
    const first = await sampler.figures();
    assert.equal(calls, 2);
    assert.equal(first.length, 1, 'one desktop, though both hosts report it');
    assert.equal(first[0]!.cpu, undefined, 'no rate from one reading');
    assert.deepEqual(warnings, ['gone: statistics: Failed to connect socket']);
    await new Promise((r) => setTimeout(r, 250));
    const later = await sampler.figures();
    assert.ok(calls >= 4 && calls <= 8, `about one call per host per interval (${calls})`);
    assert.ok((later[0]!.cpu ?? 0) > 0, 'a rate once two readings were taken');
  } finally {
    sampler.close();
  }
});
