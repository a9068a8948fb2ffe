// A guest's IP addresses as libvirt knows them (virDomainInterfaceAddresses): from the DHCP
// leases of libvirt's own networks, from the QEMU guest agent, or from the host's ARP table.
// RDP needs the guest's address, which SPICE and VNC do not. @unraid/libvirt does not bind this
// call, so it goes through libvirt's C API (libvirt-c.ts).
import koffi from 'koffi';
import { call, type CConnection, type Libvirt, libvirt } from './libvirt-c.js';

/** virDomainInterfaceAddressesSource, in the order Porthole asks. */
const SOURCES = [
  { name: 'lease', value: 0 },
  { name: 'agent', value: 1 },
  { name: 'arp', value: 2 },
] as const;
const VIR_IP_ADDR_TYPE_IPV4 = 0;

/** The IPv4 addresses libvirt reports for a guest from one source (none when it cannot tell). */
function addressesFrom(api: Libvirt, domain: unknown, source: number): Promise<string[]> {
  const out: unknown[] = [null];
  return call<number>(api.interfaceAddresses, domain, out, source, 0).then((count) => {
    if (count <= 0 || !out[0]) return [];
    const interfaces = koffi.decode(out[0], 'void *', count) as unknown[];
    const found: string[] = [];
    for (const pointer of interfaces) {
      const iface = koffi.decode(pointer, 'virDomainInterface') as { name: string; naddrs: number; addrs: unknown };
      if (iface.name !== 'lo' && iface.naddrs > 0) {
        const addresses = koffi.decode(iface.addrs, 'virDomainIPAddress', iface.naddrs) as Array<{ type: number; addr: string }>;
        for (const a of addresses) if (a.type === VIR_IP_ADDR_TYPE_IPV4 && !a.addr.startsWith('127.')) found.push(a.addr);
      }
      api.freeInterface(pointer);
    }
    api.free(out[0]);
    return found;
  });
}

export class GuestAddresses {
  constructor(readonly connection: CConnection) {}

  /**
   * The guest's first IPv4 address (leases, then the guest agent, then ARP), or undefined when
   * libvirt cannot tell (no libvirt network, no agent, no traffic yet).
   */
  async first(uuid: string): Promise<string | undefined> {
    const api = libvirt();
    return this.connection.withDomain(uuid, async (domain) => {
      for (const source of SOURCES) {
        const [address] = await addressesFrom(api, domain, source.value);
        if (address) return address;
      }
      return undefined;
    });
  }
}
