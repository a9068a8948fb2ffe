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
  spice?: { port: number; password: string };
  vnc?: { port: number; password: string };
  users?: string[];
  groups?: string[];
  rdp?: { port: number; address?: string };
}

function domainXml(d: TestDomain): string {
  const display = (type: 'spice' | 'vnc', g: { port: number; password: string } | undefined) => (g ? graphicsXml(type, g.port, g.password) : '');
  return `<domain type='test'>
    <name>${xmlEscape(d.name)}</name><uuid>${d.uuid}</uuid><memory>131072</memory><os><type>hvm</type></os>
    ${d.running === false ? '<test:runstate>5</test:runstate>' : ''}
    <devices>${display('spice', d.spice)}${display('vnc', d.vnc)}</devices>
    ${metadataXml(d)}
  </domain>`;
}

/** Writes a test-driver node file and returns its libvirt URI. */
export function writeTestDriver(path: string, domains: TestDomain[]): string {
  writeFileSync(path, `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n${domains.map(domainXml).join('\n')}\n</node>\n`);
  return `test://${path}`;
}
