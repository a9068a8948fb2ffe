// Reads what Porthole needs from a libvirt domain's XML: identity, the Porthole metadata
// (who may open it, endpoints it names), and the display endpoints with their passwords, where
// each protocol's descriptor says to look.
import { XMLParser } from 'fast-xml-parser';
import type { DisplayEndpoint } from '../contract/desktop.js';
import type { ProtocolRegistry } from '../contract/protocol.js';

export const METADATA_NAMESPACE = 'https://porthole.dev/xmlns/desktop/1';

export interface DomainDescription {
  name: string;
  uuid: string;
  users: string[];
  groups: string[];
  /** `<porthole:power/>`: the users and groups named may start, reboot and shut it down. */
  power: boolean;
  /**
   * Endpoints the metadata names (`<porthole:rdp port= address=>`); without an address, the
   * guest's own address is to be found.
   */
  guestEndpoints: Array<{ protocol: string; port: number; address?: string }>;
  /** Endpoints of `<graphics>` elements with a real port or TLS port (a stopped domain has none). */
  displays: DisplayEndpoint[];
}

type Node = { [key: string]: Node[] | string | undefined };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  alwaysCreateTextNode: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  processEntities: true,
});

function children(node: Node | undefined, name: string): Node[] {
  const value = node?.[name];
  return Array.isArray(value) ? value : [];
}
function text(node: Node | undefined): string {
  const value = node?.['#text'];
  return typeof value === 'string' ? value.trim() : '';
}
function attr(node: Node | undefined, name: string): string | undefined {
  const value = node?.[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

function port(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 && n < 65536 ? n : undefined;
}

/** The Porthole element inside <metadata>, whatever prefix the author chose for our namespace. */
function portholeMetadata(metadata: Node | undefined): { prefix: string; node: Node } | undefined {
  if (!metadata) return undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (!Array.isArray(value)) continue;
    for (const node of value) {
      for (const [a, ns] of Object.entries(node)) {
        if (ns !== METADATA_NAMESPACE) continue;
        if (a === '@xmlns' && key === 'desktop') return { prefix: '', node };
        if (a.startsWith('@xmlns:') && key === `${a.slice(7)}:desktop`) return { prefix: `${a.slice(7)}:`, node };
      }
    }
  }
  return undefined;
}

/** The address a display listens on; a wildcard means "the hypervisor's own host". */
function listenAddress(graphics: Node, hypervisorHost: string): string {
  const listen = children(graphics, 'listen').find((l) => attr(l, 'type') === 'address' || attr(l, 'address'));
  const address = attr(listen, 'address') ?? attr(graphics, 'listen');
  if (!address || address === '0.0.0.0' || address === '::') return hypervisorHost;
  return address;
}

export function parseDomainXml(xml: string, hypervisorHost: string, protocols: ProtocolRegistry): DomainDescription {
  const doc = parser.parse(xml) as Node;
  const domain = children(doc, 'domain')[0];
  if (!domain) throw new Error('not a libvirt domain description (no <domain> element)');
  const name = text(children(domain, 'name')[0]);
  const uuid = text(children(domain, 'uuid')[0]).toLowerCase();
  if (!name || !uuid) throw new Error('domain XML without a name or uuid');

  const meta = portholeMetadata(children(domain, 'metadata')[0]);
  const values = (local: string) =>
    meta
      ? children(meta.node, `${meta.prefix}${local}`)
          .map(text)
          .filter((v) => v !== '')
      : [];
  const guestEndpoints: DomainDescription['guestEndpoints'] = [];
  /** Which protocol each `<graphics type>` is, and whether it may have a TLS port. */
  const graphicsTypes = new Map<string, { protocol: string; tlsPort: boolean }>();
  for (const { id, endpoint } of protocols.descriptors) {
    if (endpoint.from === 'graphics') {
      graphicsTypes.set(endpoint.type, { protocol: id, tlsPort: endpoint.tlsPort });
      continue;
    }
    const node = meta ? children(meta.node, `${meta.prefix}${endpoint.element}`)[0] : undefined;
    const p = port(attr(node, 'port'));
    const address = attr(node, 'address');
    if (p !== undefined) guestEndpoints.push({ protocol: id, port: p, ...(address ? { address } : {}) });
  }

  const displays: DisplayEndpoint[] = [];
  for (const graphics of children(children(domain, 'devices')[0], 'graphics')) {
    const kind = graphicsTypes.get(attr(graphics, 'type') ?? '');
    if (!kind) continue;
    const p = port(attr(graphics, 'port'));
    const tlsPort = kind.tlsPort ? port(attr(graphics, 'tlsPort')) : undefined;
    if (p === undefined && tlsPort === undefined) continue; // not running, or autoport not yet assigned
    const password = attr(graphics, 'passwd');
    displays.push({
      protocol: kind.protocol,
      host: listenAddress(graphics, hypervisorHost),
      ...(p !== undefined ? { port: p } : {}),
      ...(tlsPort !== undefined ? { tlsPort } : {}),
      ...(password !== undefined ? { password } : {}),
    });
  }

  return {
    name,
    uuid,
    users: values('user'),
    groups: values('group'),
    power: meta ? children(meta.node, `${meta.prefix}power`).length > 0 : false,
    guestEndpoints,
    displays,
  };
}
