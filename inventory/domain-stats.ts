// Every running domain's counters on one host from ONE libvirt call
// (virConnectGetAllDomainStats): CPU time, memory, and the bytes each network interface and disk
// has moved. @unraid/libvirt does not bind it, so it goes through libvirt's C API (libvirt-c.ts);
// what libvirt allocates for the answer is freed here, whatever happens while reading it.
import koffi from 'koffi';
import { call, type CConnection, libvirt } from './libvirt-c.js';

/** One running domain's counters at one moment (totals since its QEMU started). */
export interface DomainCounters {
  uuid: string;
  /** CPU time of all its vCPUs, nanoseconds. */
  cpuNs?: number;
  vcpus?: number;
  /** Memory the guest has (balloon.current), and the most it may have, bytes. */
  memoryBytes?: number;
  maxMemoryBytes?: number;
  /** What QEMU holds in the host's memory (balloon.rss), bytes. */
  residentBytes?: number;
  /** Summed over its interfaces and disks, bytes. */
  netRxBytes: number;
  netTxBytes: number;
  diskReadBytes: number;
  diskWriteBytes: number;
}

// virDomainStatsTypes: state, total CPU, balloon, vCPUs, interfaces, block devices.
const STATS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5);
const ACTIVE_ONLY = 1; // VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
// virTypedParameterType
const INT = 1;
const UINT = 2;
const LLONG = 3;
const ULLONG = 4;

/** A typed parameter's number (the integer types; doubles, booleans and strings are not used here). */
function numberOf(type: number, raw: number | bigint): number | undefined {
  const value = BigInt(raw);
  switch (type) {
    case INT:
      return Number(BigInt.asIntN(32, value));
    case UINT:
      return Number(BigInt.asUintN(32, value));
    case LLONG:
      return Number(BigInt.asIntN(64, value));
    case ULLONG:
      return Number(BigInt.asUintN(64, value));
    default:
      return undefined;
  }
}

/** The counters of one record's parameters (`cpu.time`, `net.0.rx.bytes`, ...). */
export function countersOf(uuid: string, params: ReadonlyArray<{ field: string; value: number | undefined }>): DomainCounters {
  const counters: DomainCounters = { uuid, netRxBytes: 0, netTxBytes: 0, diskReadBytes: 0, diskWriteBytes: 0 };
  let vcpuNs: number | undefined;
  for (const { field, value } of params) {
    if (value === undefined) continue;
    if (field === 'cpu.time') counters.cpuNs = value;
    else if (/^vcpu\.\d+\.time$/.test(field)) vcpuNs = (vcpuNs ?? 0) + value;
    else if (field === 'vcpu.current') counters.vcpus = value;
    else if (field === 'balloon.current') counters.memoryBytes = value * 1024;
    else if (field === 'balloon.maximum') counters.maxMemoryBytes = value * 1024;
    else if (field === 'balloon.rss') counters.residentBytes = value * 1024;
    else if (/^net\.\d+\.rx\.bytes$/.test(field)) counters.netRxBytes += value;
    else if (/^net\.\d+\.tx\.bytes$/.test(field)) counters.netTxBytes += value;
    else if (/^block\.\d+\.rd\.bytes$/.test(field)) counters.diskReadBytes += value;
    else if (/^block\.\d+\.wr\.bytes$/.test(field)) counters.diskWriteBytes += value;
  }
  // Without cgroups libvirt may not tell the total: its vCPUs' times are most of it.
  if (counters.cpuNs === undefined && vcpuNs !== undefined) counters.cpuNs = vcpuNs;
  return counters;
}

/** The counters of every running domain on the connection's host: one call to libvirt. */
export function readDomainCounters(connection: CConnection): Promise<DomainCounters[]> {
  const api = libvirt();
  return connection.withConnection(async (conn) => {
    const out: unknown[] = [null];
    const count = await call<number>(api.allDomainStats, conn, STATS, out, ACTIVE_ONLY);
    if (count < 0) throw new Error('libvirt could not read the domains’ statistics');
    if (!out[0]) return [];
    try {
      const records = koffi.decode(out[0], 'void *', count) as unknown[];
      const uuid = Buffer.alloc(37);
      return records.map((pointer) => {
        const record = koffi.decode(pointer, 'virDomainStatsRecord') as { dom: unknown; params: unknown; nparams: number };
        // A local call: the UUID is in the domain object libvirt handed back.
        api.uuidString(record.dom, uuid);
        const params =
          record.nparams > 0 && record.params
            ? (koffi.decode(record.params, 'virTypedParameter', record.nparams) as Array<{
                field: string;
                type: number;
                value: number | bigint;
              }>)
            : [];
        return countersOf(
          uuid.toString('latin1', 0, 36).toLowerCase(),
          params.map((p) => ({ field: p.field, value: numberOf(p.type, p.value) })),
        );
      });
    } finally {
      // Frees the records, their parameters and their domain objects.
      api.freeStats(out[0]);
    }
  });
}
