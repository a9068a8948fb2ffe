// The protocols this server carries, in default fallback order: one line each. The gateway, the
// inventory and the configuration are handed the descriptors; the proxy, the adapters.
import { ProtocolRegistry, type ProtocolDescriptor } from '../contract/protocol.js';
import type { ProtocolAdapter } from '../proxy/adapter.js';
import { rdp } from '../proxy/rdp/descriptor.js';
import { RdpAdapter } from '../proxy/rdp/adapter.js';
import { spice } from '../proxy/spice/descriptor.js';
import { SpiceAdapter } from '../proxy/spice/adapter.js';
import { RedisSpiceSessions } from '../proxy/spice/redis-sessions.js';
import type { RedisStore } from '../state/redis-store.js';
import type { CertificateTrust } from '../proxy/tls/certificate-trust.js';
import { vnc } from '../proxy/vnc/descriptor.js';
import { VncAdapter } from '../proxy/vnc/adapter.js';

/** What an adapter may need from the wiring. */
export interface AdapterServices {
  /** How servers inside the guests (RDP) are trusted: the configured CA, else pinned on first use. */
  guestServerTrust: CertificateTrust;
  /** Shared state, when several processes serve: where a protocol keeps what its connections share. */
  shared?: { store: RedisStore; maxSessionMs: number } | undefined;
}

export interface ProtocolModule {
  descriptor: ProtocolDescriptor;
  adapter(services: AdapterServices): ProtocolAdapter;
}

export const PROTOCOL_MODULES: readonly ProtocolModule[] = [
  {
    descriptor: spice,
    adapter: ({ shared }) => new SpiceAdapter(shared ? new RedisSpiceSessions(shared.store, shared.maxSessionMs) : undefined),
  },
  { descriptor: vnc, adapter: () => new VncAdapter() },
  { descriptor: rdp, adapter: (services) => new RdpAdapter(services.guestServerTrust) },
];

export const PROTOCOLS = new ProtocolRegistry(PROTOCOL_MODULES.map((m) => m.descriptor));
