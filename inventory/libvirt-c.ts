// libvirt's C API through koffi, for the calls @unraid/libvirt does not bind (guest addresses,
// reboot): functions bound once, called off the event loop (koffi's async calls run on a worker
// thread), on a connection of their own per hypervisor.
import koffi from 'koffi';

/** A function bound by koffi: callable, and callable on a worker thread through `async`. */
export type KoffiFunction = ReturnType<ReturnType<typeof koffi.load>['func']>;

export interface Libvirt {
  open: KoffiFunction;
  close: KoffiFunction;
  lookup: KoffiFunction;
  freeDomain: KoffiFunction;
  interfaceAddresses: KoffiFunction;
  freeInterface: KoffiFunction;
  reboot: KoffiFunction;
  lastError: KoffiFunction;
  free: KoffiFunction;
}

let loaded: Libvirt | undefined;

export function libvirt(): Libvirt {
  if (loaded) return loaded;
  const lib = koffi.load('libvirt.so.0');
  const libc = koffi.load('libc.so.6');
  koffi.struct('virDomainIPAddress', { type: 'int', addr: 'char *', prefix: 'unsigned int' });
  koffi.struct('virDomainInterface', { name: 'char *', hwaddr: 'char *', naddrs: 'unsigned int', addrs: 'virDomainIPAddress *' });
  koffi.struct('virError', { code: 'int', domain: 'int', message: 'char *' });
  // libvirt prints every error to stderr unless an error handler is set; errors here are
  // expected (no guest agent) and reported through return values instead.
  const handler = koffi.proto('void virErrorFunc(void *userData, void *error)');
  const setErrorFunc = lib.func('void virSetErrorFunc(void *userData, virErrorFunc *handler)');
  setErrorFunc(
    null,
    koffi.register(() => {}, koffi.pointer(handler)),
  );
  loaded = {
    open: lib.func('void *virConnectOpen(const char *name)'),
    close: lib.func('int virConnectClose(void *conn)'),
    lookup: lib.func('void *virDomainLookupByUUIDString(void *conn, const char *uuid)'),
    freeDomain: lib.func('int virDomainFree(void *domain)'),
    interfaceAddresses: lib.func(
      'int virDomainInterfaceAddresses(void *domain, _Out_ void **ifaces, unsigned int source, unsigned int flags)',
    ),
    freeInterface: lib.func('void virDomainInterfaceFree(void *iface)'),
    reboot: lib.func('int virDomainReboot(void *domain, unsigned int flags)'),
    lastError: lib.func('virError *virGetLastError()'),
    free: libc.func('void free(void *ptr)'),
  };
  return loaded;
}

export function call<T>(fn: KoffiFunction, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    (fn.async as (...a: unknown[]) => void)(...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
  });
}

/** One connection to one hypervisor through the C API, opened on first use. */
export class CConnection {
  #connection: Promise<unknown> | undefined;

  constructor(readonly uri: string) {}

  open(): Promise<unknown> {
    this.#connection ??= call<unknown>(libvirt().open, this.uri).then((c) => {
      if (!c) throw new Error(`libvirt could not open ${this.uri}`);
      return c;
    });
    this.#connection.catch(() => {
      this.#connection = undefined;
    });
    return this.#connection;
  }

  /** Runs `work` on the domain with this UUID (undefined when there is none), then frees it. */
  async withDomain<T>(uuid: string, work: (domain: unknown) => Promise<T>): Promise<T | undefined> {
    const api = libvirt();
    const domain = await call<unknown>(api.lookup, await this.open(), uuid);
    if (!domain) return undefined;
    try {
      return await work(domain);
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
