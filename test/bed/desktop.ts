// A desktop as an administrator would set one up: a persistent libvirt domain running the test
// guest, with password-protected SPICE and VNC displays and Porthole's metadata.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainGetXMLDescFlags, Hypervisor } from '@unraid/libvirt';
import { parseDomainXml } from '../../inventory/domain-xml.js';
import { graphicsXml, metadataXml, xmlEscape } from './domain-xml.js';
import { ensureAgentGuestImage, ensureGuestImage, ensureInputGuestImage, ensurePowerButtonGuestImage } from './guest-image.js';
import { recordSecret } from './secret-record.js';
import { SerialLog } from './serial-log.js';
import { PROTOCOLS } from '../../serve/protocols.js';

export interface DesktopSpec {
  name: string;
  users?: string[];
  groups?: string[];
  spice?: boolean;
  vnc?: boolean;
  spicePassword?: string;
  vncPassword?: string;
  /** `<porthole:power/>`: its users may start, reboot and shut it down. */
  power?: boolean;
  /** Default true: started, and returned once the guest is ready; false leaves it defined and shut off. */
  running?: boolean;
  /** The guest answers the ACPI power button (shutdown and reboot through libvirt work); default: it ignores it. */
  powerButton?: boolean;
  /**
   * The guest with the clipboard agent (guest-image.ts ensureAgentGuestImage), its port on
   * SPICE's agent channel (`spice`) or on QEMU's clipboard bridge for VNC (`vnc`, qemu-vdagent).
   */
  agent?: 'spice' | 'vnc';
  /** An HDA sound card played through SPICE (the agent guest plays a tone on it). */
  sound?: boolean;
  /** A virtio tablet whose events the guest logs (guest-image.ts ensureInputGuestImage): SPICE's client mouse mode. */
  tablet?: boolean;
}

/** The agent's virtio port, as an administrator would give a desktop a shared clipboard. */
function agentChannelXml(agent: 'spice' | 'vnc'): string {
  const target = "<target type='virtio' name='com.redhat.spice.0'/>";
  return agent === 'spice'
    ? `<channel type='spicevmc'>${target}</channel>`
    : `<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/><mouse mode='server'/></source>${target}</channel>`;
}

export interface RunningDesktop {
  uuid: string;
  name: string;
  serial: SerialLog;
  /** The display ports; 0 for a desktop defined shut off (`running: false`). */
  spicePort: number;
  vncPort: number;
  spicePassword: string;
  vncPassword: string;
  destroy(): Promise<void>;
}

export async function defineDesktop(uri: string, spec: DesktopSpec): Promise<RunningDesktop> {
  const cached = spec.agent
    ? ensureAgentGuestImage()
    : spec.powerButton
      ? ensurePowerButtonGuestImage()
      : spec.tablet
        ? ensureInputGuestImage()
        : ensureGuestImage();
  const dir = mkdtempSync(join(tmpdir(), 'porthole-desktop-'));
  // The test bed's libvirtd runs QEMU as root (test/bed/libvirtd.ts): it boots the cached image
  // where it is and writes the serial log here.
  const image = cached;
  const serial = new SerialLog(join(dir, 'serial.log'));
  const spicePassword = spec.spicePassword ?? randomBytes(12).toString('base64url');
  const vncPassword = spec.vncPassword ?? randomBytes(6).toString('base64url').slice(0, 8);
  recordSecret('SPICE password', spicePassword);
  recordSecret('VNC password', vncPassword);
  const xml = `<domain type='qemu'>
  <name>${xmlEscape(spec.name)}</name>
  <memory unit='MiB'>${spec.agent ? 384 : 256}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${image.kernel}</kernel>
    <initrd>${image.initrd}</initrd>
    <cmdline>console=ttyS0 quiet loglevel=3</cmdline>
  </os>
  ${spec.powerButton ? '<features><acpi/></features>' : '' /* without it libvirt starts QEMU with no ACPI: no power button */}
  <devices>
    <!-- append: a migration's destination opens the same file, and would truncate it -->
    <serial type='file'><source path='${serial.path}' append='on'/><target port='0'/></serial>
    ${(spec.spice ?? true) ? graphicsXml('spice', 'auto', spicePassword) : ''}
    ${(spec.vnc ?? true) ? graphicsXml('vnc', 'auto', vncPassword) : ''}
    ${spec.agent ? agentChannelXml(spec.agent) : ''}
    ${spec.sound ? "<sound model='ich6'><audio id='1'/></sound><audio id='1' type='spice'/>" : ''}
    ${spec.tablet ? "<input type='tablet' bus='virtio'/>" : ''}
    <video><model type='qxl'/></video>
    <memballoon model='none'/>
  </devices>
  ${metadataXml(spec)}
</domain>`;
  const h = new Hypervisor({ uri });
  await h.connectOpen();
  // A test run that was killed may have left its persistent domain behind (libvirt keeps
  // definitions on disk): the test's own name is replaced, never another domain.
  const stale = await h.domainLookupByName(spec.name).catch(() => undefined);
  if (stale) {
    await h.domainDestroy(stale).catch(() => {});
    await h.domainUndefine(stale).catch(() => {});
  }
  const domain = await h.domainDefineXML(xml);
  const destroy = async () => {
    try {
      await h.domainDestroy(domain).catch(() => {});
      await h.domainUndefine(domain).catch(() => {});
    } finally {
      await h.connectClose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    if (spec.running === false) {
      return {
        uuid: (await h.domainGetUUIDString(domain)).toLowerCase(),
        name: spec.name,
        serial,
        spicePort: 0,
        vncPort: 0,
        spicePassword,
        vncPassword,
        destroy,
      };
    }
    await h.domainCreate(domain);
    await serial.waitFor('PORTHOLE-GUEST-READY', 60_000);
    const live = parseDomainXml(await h.domainGetXMLDesc(domain, DomainGetXMLDescFlags.SECURE), '127.0.0.1', PROTOCOLS);
    const port = (p: string) => live.displays.find((d) => d.protocol === p)?.port ?? 0;
    return {
      uuid: live.uuid,
      name: spec.name,
      serial,
      spicePort: port('spice'),
      vncPort: port('vnc'),
      spicePassword,
      vncPassword,
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
