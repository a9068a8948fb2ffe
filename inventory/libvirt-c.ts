// libvirt's C API through koffi, for the calls @unraid/libvirt does not bind (guest addresses,
// reboot, the bulk statistics): functions bound once, called off the event loop (koffi's async calls run on a worker
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
  allDomainStats: KoffiFunction;
  freeStats: KoffiFunction;
  uuidString: KoffiFunction;
  isAlive: KoffiFunction;
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
  koffi.struct('virDomainStatsRecord', { dom: 'void *', params: 'void *', nparams: 'int' });
  // virTypedParameter: the value is a union (int, long long, double, char *...); read as 64 bits
  // and taken apart by its type (domain-stats.ts).
  koffi.struct('virTypedParameter', { field: 'char[80]', type: 'int', value: 'uint64_t' });
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
    allDomainStats: lib.func('int virConnectGetAllDomainStats(void *conn, unsigned int stats, _Out_ void **retStats, unsigned int flags)'),
    freeStats: lib.func('void virDomainStatsRecordListFree(void *stats)'),
    uuidString: lib.func('int virDomainGetUUIDString(void *domain, char *buf)'),
    isAlive: lib.func('int virConnectIsAlive(void *conn)'),
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

  /**
   * Runs `work` on the open connection. A failure on a connection that is no longer alive (the
   * daemon restarted) drops it, so that the next call opens a new one.
   */
  async withConnection<T>(work: (connection: unknown) => Promise<T>): Promise<T> {
    const pending = this.open();
    const connection = await pending;
    try {
      return await work(connection);
    } catch (error) {
      if (this.#connection === pending && (await call<number>(libvirt().isAlive, connection).catch(() => 0)) !== 1) this.reset();
      throw error;
    }
  }

  /** Drops the connection (libvirt's other connection to this host was lost): the next call opens a new one. */
  reset(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) void connection.then((c) => call(libvirt().close, c)).catch(() => {});
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
