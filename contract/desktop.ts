// The domain model shared by the broker (which lists desktops) and the proxy (which connects to them).
import type { ProtocolId } from './protocol.js';

/** libvirt's domain states, named as users read them. */
export type DesktopState = 'running' | 'blocked' | 'paused' | 'shutting down' | 'shut off' | 'crashed' | 'suspended' | 'unknown';

/** Where a display listens and how to authenticate to it. Never sent to a browser. */
export interface DisplayEndpoint {
  protocol: ProtocolId;
  host: string;
  /** The plain port; absent for a SPICE display that listens on its TLS port only. */
  port?: number;
  /** SPICE's TLS port (libvirt's `tlsPort`): TLS from the first byte, checked against the display CA. */
  tlsPort?: number;
  /** The display password from the live domain XML (SPICE ticket, VNC password). */
  password?: string;
}

export interface Desktop {
  /** The domain UUID: the same on every hypervisor, so it survives a live migration. */
  id: string;
  name: string;
  hypervisor: string;
  uuid: string;
  state: DesktopState;
  /** Who may open it, from the domain's Porthole metadata. */
  users: string[];
  groups: string[];
  /** `<porthole:power/>`: the users and groups named may start, reboot and shut it down. */
  power: boolean;
  /** Reachable displays, in fallback order; only those with a usable port. */
  displays: DisplayEndpoint[];
}

/** The signed-in person, as far as entitlement is concerned. */
export interface Principal {
  username: string;
  roles: string[];
  groups: string[];
}

/** A user may open a desktop whose metadata names them or one of their groups; admin opens any. */
export function mayOpen(desktop: Pick<Desktop, 'users' | 'groups'>, who: Principal): boolean {
  if (who.roles.includes('admin')) return true;
  if (desktop.users.includes(who.username)) return true;
  return who.groups.some((g) => desktop.groups.includes(g));
}

/** Who may start, reboot and shut a desktop down: admin always; its users and groups where its metadata allows it. */
export function mayPower(desktop: Pick<Desktop, 'users' | 'groups' | 'power'>, who: Principal): boolean {
  return who.roles.includes('admin') || (desktop.power && mayOpen(desktop, who));
}

/** The protocols a desktop offers, in the given fallback order. */
export function protocolsOf(desktop: Pick<Desktop, 'displays'>, order: readonly ProtocolId[]): ProtocolId[] {
  return order.filter((p) => desktop.displays.some((d) => d.protocol === p));
}

/** `host:port` of an endpoint, an IPv6 host in brackets: how RDP clients name their destination. */
export function endpointAddress(endpoint: { host: string; port?: number }): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
