// A guest's IP addresses as libvirt knows them (virDomainInterfaceAddresses): from the DHCP
// leases of libvirt's own networks, from the QEMU guest agent, or from the host's ARP table.
// RDP needs the guest's address, which SPICE and VNC do not. @unraid/libvirt does not bind this
// call, so libvirt's C API is called through koffi, on a connection of its own per hypervisor,
// off the event loop (koffi's async calls run on a worker thread).
import koffi from 'koffi';

/** A function bound by koffi: callable, and callable on a worker thread through `async`. */
type KoffiFunction = ReturnType<ReturnType<typeof koffi.load>['func']>;

/** virDomainInterfaceAddressesSource, in the order Porthole asks. */
const SOURCES = [
  { name: 'lease', value: 0 },
  { name: 'agent', value: 1 },
  { name: 'arp', value: 2 },
] as const;
const VIR_IP_ADDR_TYPE_IPV4 = 0;

interface Libvirt {
  open: KoffiFunction;
  close: KoffiFunction;
  lookup: KoffiFunction;
  freeDomain: KoffiFunction;
  interfaceAddresses: KoffiFunction;
  freeInterface: KoffiFunction;
  free: KoffiFunction;
}

let loaded: Libvirt | undefined;

function libvirt(): Libvirt {
  if (loaded) return loaded;
  const lib = koffi.load('libvirt.so.0');
  const libc = koffi.load('libc.so.6');
  koffi.struct('virDomainIPAddress', { type: 'int', addr: 'char *', prefix: 'unsigned int' });
  koffi.struct('virDomainInterface', { name: 'char *', hwaddr: 'char *', naddrs: 'unsigned int', addrs: 'virDomainIPAddress *' });
  // libvirt prints every error to stderr unless an error handler is set; errors here are
  // expected (no guest agent) and reported through return values instead.
  const handler = koffi.proto('void virErrorFunc(void *userData, void *error)');
  const setErrorFunc = lib.func('void virSetErrorFunc(void *userData, virErrorFunc *handler)');
  setErrorFunc(null, koffi.register(() => {}, koffi.pointer(handler)));
  loaded = {
    open: lib.func('void *virConnectOpen(const char *name)'),
    close: lib.func('int virConnectClose(void *conn)'),
    lookup: lib.func('void *virDomainLookupByUUIDString(void *conn, const char *uuid)'),
    freeDomain: lib.func('int virDomainFree(void *domain)'),
    interfaceAddresses: lib.func('int virDomainInterfaceAddresses(void *domain, _Out_ void **ifaces, unsigned int source, unsigned int flags)'),
    freeInterface: lib.func('void virDomainInterfaceFree(void *iface)'),
    free: libc.func('void free(void *ptr)'),
  };
  return loaded;
}

function call<T>(fn: KoffiFunction, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    (fn.async as (...a: unknown[]) => void)(...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
  });
}

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
  #connection: Promise<unknown> | undefined;

  constructor(readonly uri: string) {}

  #connect(api: Libvirt): Promise<unknown> {
    this.#connection ??= call<unknown>(api.open, this.uri).then((c) => {
      if (!c) throw new Error(`libvirt could not open ${this.uri} to read guest addresses`);
      return c;
    });
    this.#connection.catch(() => { this.#connection = undefined; });
    return this.#connection;
  }

  /**
   * The guest's first IPv4 address (leases, then the guest agent, then ARP), or undefined when
   * libvirt cannot tell (no libvirt network, no agent, no traffic yet).
   */
  async first(uuid: string): Promise<string | undefined> {
    const api = libvirt();
    const connection = await this.#connect(api);
    const domain = await call<unknown>(api.lookup, connection, uuid);
    if (!domain) return undefined;
    try {
      for (const source of SOURCES) {
        const [address] = await addressesFrom(api, domain, source.value);
        if (address) return address;
      }
      return undefined;
    } finally {
      api.freeDomain(domain);
    }
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await connection.then((c) => call(libvirt().close, c)).catch(() => {});
  }
}
