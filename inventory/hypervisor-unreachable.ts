// A hypervisor that cannot be read right now (libvirtd down, network, credentials): not an
// internal fault of Porthole, and not "no such desktop". Callers answer it as a temporary outage.
export class HypervisorUnreachableError extends Error {
  override name = 'HypervisorUnreachableError';

  constructor(
    readonly hypervisor: string,
    cause: unknown,
  ) {
    super(`hypervisor ${hypervisor} cannot be reached: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
