// What Porthole knows of a display protocol, in one descriptor per protocol folder: the gateway
// reads it to offer the protocol and build its attempts, the inventory to find its endpoint in a
// domain, the proxy to route and mark its connections, the web client to name it. Adding a
// protocol means writing one of these; nothing else lists protocols.

/** A protocol's short name, as in URLs, tokens and the API (`spice`, `vnc`, `rdp`). */
export type ProtocolId = string;

/** 802.1p priority (SO_PRIORITY, 0-7) and DSCP (0-63) for one leg of a connection. */
export interface TrafficClass {
  priority: number;
  dscp: number;
}

/** The class for the browser-side leg and for the host-side (display) leg. */
export interface LegClasses {
  client: TrafficClass;
  display: TrafficClass;
}

/** Where a desktop's endpoint for this protocol comes from. */
export type EndpointSource =
  /** A `<graphics type="...">` element of the live domain XML (port, TLS port, password). */
  | { from: 'graphics'; type: string; tlsPort: boolean }
  /**
   * An element of the Porthole metadata (`<porthole:rdp port= address=>`); without an address,
   * the guest's own address as libvirt reports it.
   */
  | { from: 'metadata'; element: string };

export interface ProtocolDescriptor {
  readonly id: ProtocolId;
  /** How people name it: `SPICE`. */
  readonly label: string;
  /** The proxy's WebSocket path: `/ws/spice`. */
  readonly path: string;
  /** The WebSocket subprotocol the proxy answers with when the browser offers it. */
  readonly subprotocol?: string;
  /**
   * Where the token travels: in the URL's `?token=` (SPICE, VNC), or inside the protocol's own
   * first message (RDP's RDCleanPath request), so that the attempt's URL is the bare path.
   */
  readonly token: 'query' | 'handshake';
  /** The attempt also names the display's `destination` (host:port), which the client must echo. */
  readonly namesDestination?: boolean;
  /** The proxy can enforce view-only on it (it parses the browser's input messages). */
  readonly viewOnly: boolean;
  /** A helpdesk watches sessions over this protocol (a shared, view-only second client). */
  readonly watching?: boolean;
  /**
   * The display serves one client at a time (SPICE): a new session of the desktop takes it
   * over (not RDP, where the guest decides, after the person's own sign-in, whether a new session
   * replaces the old: a wrong password must not end the working one). The proxy then ends the older session itself, with `takenOver`, before the display drops
   * it, so that its viewer says why and does not reconnect (two tabs would take it from each
   * other for ever). View-only sessions and helpdesk watchers neither take over nor are taken over.
   */
  readonly singleClient?: boolean;
  readonly endpoint: EndpointSource;
  /**
   * The kinds of traffic it carries with their default classes (RFC 4594), and the kind a
   * connection has from its upgrade on. Without `initial`, it stays unmarked until its handshake
   * names its kind (SPICE names its channel in its link message: marking it `main` first would
   * mark a display channel's first frames wrongly). Kind names are `<id>` or `<id>.<channel>`.
   */
  readonly traffic: { readonly initial?: string; readonly kinds: Readonly<Record<string, LegClasses>> };
}

/** The registry's answers, for code that is handed the descriptors in use. */
export class ProtocolRegistry {
  readonly #byId: ReadonlyMap<ProtocolId, ProtocolDescriptor>;

  /** @param descriptors in default fallback order */
  constructor(readonly descriptors: readonly ProtocolDescriptor[]) {
    this.#byId = new Map(descriptors.map((d) => [d.id, d]));
    if (this.#byId.size !== descriptors.length) throw new Error('two protocol descriptors share an id');
  }

  /** The ids in default fallback order. */
  get ids(): ProtocolId[] {
    return this.descriptors.map((d) => d.id);
  }

  get(id: ProtocolId): ProtocolDescriptor | undefined {
    return this.#byId.get(id);
  }

  has(id: unknown): id is ProtocolId {
    return typeof id === 'string' && this.#byId.has(id);
  }

  label(id: ProtocolId): string {
    return this.#byId.get(id)?.label ?? id.toUpperCase();
  }

  /** Every traffic kind of every protocol with its default classes. */
  trafficKinds(): Record<string, LegClasses> {
    return Object.assign({}, ...this.descriptors.map((d) => d.traffic.kinds)) as Record<string, LegClasses>;
  }
}

/** Both legs in one class: the usual case. */
export function bothLegs(priority: number, dscp: number): LegClasses {
  return { client: { priority, dscp }, display: { priority, dscp } };
}

/** DSCP code points of RFC 4594's service classes that the defaults use. */
export const DSCP = { CS4: 32, AF41: 34, AF21: 18, AF11: 10 } as const;
