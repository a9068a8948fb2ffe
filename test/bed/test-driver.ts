// Desktops described to libvirt's test driver (`test:///abs/path.xml`): the real libvirt API
// with no daemon. It reports graphics exactly as written, so fixed ports can point at real QEMU
// displays (or at nothing, for an unreachable display).
import { writeFileSync } from 'node:fs';
import { graphicsXml, metadataXml, xmlEscape } from './domain-xml.js';

export interface TestDomain {
  name: string;
  uuid: string;
  /** Default true; false reports the domain as shut off. */
  running?: boolean;
  /** SPICE on a plain port, a TLS port, or both; displays listen on 127.0.0.1 unless `address` says. */
  spice?: { port?: number; tlsPort?: number; password: string; address?: string };
  vnc?: { port: number; password: string; address?: string };
  users?: string[];
  groups?: string[];
  rdp?: { port: number; address?: string };
  /** `<porthole:power/>`: its users may start, reboot and shut it down. */
  power?: boolean;
  /** A NIC on libvirt's `default` network (the test driver then reports an address for it). */
  nic?: { mac: string };
}

function domainXml(d: TestDomain): string {
  const display = (type: 'spice' | 'vnc', g: { port?: number; tlsPort?: number; password: string; address?: string } | undefined) =>
    g ? graphicsXml(type, g.port ?? 'none', g.password, g.tlsPort, g.address) : '';
  return `<domain type='test'>
    <name>${xmlEscape(d.name)}</name><uuid>${d.uuid}</uuid><memory>131072</memory><os><type>hvm</type></os>
    ${d.running === false ? '<test:runstate>5</test:runstate>' : ''}
    <devices>${display('spice', d.spice)}${display('vnc', d.vnc)}${d.nic ? `<interface type='network'><mac address='${d.nic.mac}'/><source network='default'/></interface>` : ''}</devices>
    ${metadataXml(d)}
  </domain>`;
}

/** Writes a test-driver node file and returns its libvirt URI. */
export function writeTestDriver(path: string, domains: TestDomain[]): string {
  // NICs need their network: libvirt's usual `default` NAT network.
  const network = domains.some((d) => d.nic)
    ? "<network><name>default</name><bridge name='virbr0'/><forward/><ip address='192.168.122.1' netmask='255.255.255.0'>" +
      "<dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>\n"
    : '';
  writeFileSync(
    path,
    `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n${network}${domains.map(domainXml).join('\n')}\n</node>\n`,
  );
  return `test://${path}`;
}
