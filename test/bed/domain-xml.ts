// Pieces of libvirt domain XML that the test bed writes for both libvirtd and the test driver:
// the display elements and Porthole's metadata, as an administrator would write them.
import { METADATA_NAMESPACE } from '../../inventory/domain-xml.js';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/**
 * A SPICE or VNC display on 127.0.0.1: a fixed port, or libvirt's choice (autoport); SPICE may
 * have a TLS port, and with port 'none' only that.
 */
export function graphicsXml(
  type: 'spice' | 'vnc',
  port: number | 'auto' | 'none',
  password: string,
  tlsPort?: number,
  address = '127.0.0.1',
): string {
  const tls = tlsPort !== undefined ? ` tlsPort='${tlsPort}'` : '';
  const where = port === 'auto' ? "autoport='yes'" : port === 'none' ? tls.trim() : `port='${port}'${tls}`;
  return `<graphics type='${type}' ${where} passwd='${xmlEscape(password)}'><listen type='address' address='${address}'/></graphics>`;
}

/** Porthole's metadata: who may open the desktop, its RDP endpoint if any, and whether its users may power it. */
export function metadataXml(who: {
  users?: string[];
  groups?: string[];
  rdp?: { port: number; address?: string };
  power?: boolean;
}): string {
  const rdp = who.rdp ? `<porthole:rdp port='${who.rdp.port}'${who.rdp.address ? ` address='${xmlEscape(who.rdp.address)}'` : ''}/>` : '';
  return (
    `<metadata><porthole:desktop xmlns:porthole="${METADATA_NAMESPACE}">` +
    (who.users ?? []).map((u) => `<porthole:user>${xmlEscape(u)}</porthole:user>`).join('') +
    (who.groups ?? []).map((g) => `<porthole:group>${xmlEscape(g)}</porthole:group>`).join('') +
    `${rdp}${who.power ? '<porthole:power/>' : ''}</porthole:desktop></metadata>`
  );
}
