// Desktops described to libvirt's test driver (`test:///abs/path.xml`): the real libvirt API
// with no daemon. It reports graphics exactly as written, so fixed ports can point at real QEMU
// displays (or at nothing, for an unreachable display).
import { writeFileSync } from 'node:fs';

export interface TestDomain {
  name: string;
  uuid: string;
  /** Default true; false reports the domain as shut off. */
  running?: boolean;
  spice?: { port: number; password: string };
  vnc?: { port: number; password: string };
  users?: string[];
  groups?: string[];
  rdp?: { port: number; address?: string };
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function graphics(type: string, g: { port: number; password: string } | undefined): string {
  return g ? `<graphics type='${type}' port='${g.port}' passwd='${escape(g.password)}'><listen type='address' address='127.0.0.1'/></graphics>` : '';
}

function domainXml(d: TestDomain): string {
  const rdp = d.rdp ? `<porthole:rdp port='${d.rdp.port}'${d.rdp.address ? ` address='${escape(d.rdp.address)}'` : ''}/>` : '';
  return `<domain type='test'>
    <name>${escape(d.name)}</name><uuid>${d.uuid}</uuid><memory>131072</memory><os><type>hvm</type></os>
    ${d.running === false ? '<test:runstate>5</test:runstate>' : ''}
    <devices>${graphics('spice', d.spice)}${graphics('vnc', d.vnc)}</devices>
    <metadata><porthole:desktop xmlns:porthole="https://porthole.dev/xmlns/desktop/1">
      ${(d.users ?? []).map((u) => `<porthole:user>${escape(u)}</porthole:user>`).join('')}
      ${(d.groups ?? []).map((g) => `<porthole:group>${escape(g)}</porthole:group>`).join('')}${rdp}
    </porthole:desktop></metadata>
  </domain>`;
}

/** Writes a test-driver node file and returns its libvirt URI. */
export function writeTestDriver(path: string, domains: TestDomain[]): string {
  writeFileSync(path, `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n${domains.map(domainXml).join('\n')}\n</node>\n`);
  return `test://${path}`;
}
