// The test guest under QEMU directly (TCG: this machine's KVM is not usable), with a
// password-protected SPICE display, a password-protected VNC display and a serial log.
// Used where libvirtd is not needed: protocol tests and the demo.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ensureGuestImage } from './guest-image.js';
import { recordSecret } from './secret-record.js';
import { Qmp } from './qmp.js';
import { SerialLog } from './serial-log.js';

export interface QemuGuestOptions {
  spice?: boolean;
  vnc?: boolean;
  spicePassword?: string;
  /** At most 8 characters count (VNC authentication). */
  vncPassword?: string;
  /**
   * TLS-only displays: SPICE on a TLS port alone, VNC with VeNCrypt X.509, with the credentials in
   * `dir` (certs/authority.ts writeDisplayCredentials); `verifyPeer` makes VNC ask for a client certificate.
   */
  tls?: { dir: string; verifyPeer?: boolean };
  /** Where the displays listen (default 127.0.0.1). */
  address?: string;
  /**
   * Displays only: the machine is never started (QEMU's -S), so there is no guest to boot and no
   * serial console, but SPICE and VNC accept clients (links, authentication, an idle screen). For
   * places where booting a guest costs too much, such as inside another emulated machine.
   */
  displaysOnly?: boolean;
}

export interface QemuGuest {
  /** 0 when SPICE is on its TLS port only. */
  spicePort: number;
  spiceTlsPort: number;
  vncPort: number;
  spicePassword: string;
  vncPassword: string;
  serial: SerialLog;
  qmp: Qmp;
  pid: number;
  stop(): Promise<void>;
}

/** Boots the guest and resolves when it printed its ready line. */
export async function startQemuGuest(options: QemuGuestOptions = {}): Promise<QemuGuest> {
  const displaysOnly = options.displaysOnly ?? false;
  const image = displaysOnly ? undefined : ensureGuestImage();
  const address = options.address ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'porthole-guest-'));
  const spicePassword = options.spicePassword ?? randomBytes(12).toString('base64url');
  const vncPassword = options.vncPassword ?? randomBytes(6).toString('base64url').slice(0, 8);
  recordSecret('SPICE password', spicePassword);
  recordSecret('VNC password', vncPassword);
  const spice = options.spice ?? true;
  const vnc = options.vnc ?? true;
  const tls = options.tls;
  const spicePort = spice && !tls ? await freePort() : 0;
  const spiceTlsPort = spice && tls ? await freePort() : 0;
  writeFileSync(join(dir, 'spice-password'), spicePassword, { mode: 0o600 });
  const serial = new SerialLog(join(dir, 'serial.log'));
  const qmpPath = join(dir, 'qmp.sock');
  const args = [
    '-accel',
    'tcg',
    '-m',
    '256',
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-nic',
    'none',
    ...(image ? ['-kernel', image.kernel, '-initrd', image.initrd, '-append', 'console=ttyS0 quiet loglevel=3'] : ['-S']),
    '-vga',
    'qxl',
    '-display',
    'none',
    '-serial',
    `file:${serial.path}`,
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    ...(spice
      ? [
          '-object',
          `secret,id=spicepw,file=${join(dir, 'spice-password')}`,
          '-spice',
          `${tls ? `tls-port=${spiceTlsPort},x509-dir=${tls.dir}` : `port=${spicePort}`},addr=${address},password-secret=spicepw`,
        ]
      : []),
    ...(vnc && tls
      ? ['-object', `tls-creds-x509,id=vnctls,dir=${tls.dir},endpoint=server,verify-peer=${tls.verifyPeer ? 'on' : 'off'}`]
      : []),
    // QEMU picks the first free VNC display from :0 to :99; QMP says which.
    ...(vnc ? ['-vnc', `${address}:0,to=99,password=on${tls ? ',tls-creds=vnctls' : ''}`] : []),
  ];
  let child: ChildProcess;
  try {
    child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = new Promise<never>((_resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? 'qemu-system-x86_64 not found: apt-get install qemu-system-x86' : e.message)),
    );
    child.once('exit', (code) => reject(new Error(`QEMU exited with ${code}: ${stderr.trim()}`)));
  });
  started.catch(() => {});

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const qmp = await Promise.race([Qmp.open(qmpPath), started]);
    let vncPort = 0;
    if (vnc) {
      await qmp.execute('change-vnc-password', { password: vncPassword });
      const info = await qmp.execute<{ service: string }>('query-vnc');
      vncPort = Number(info.service);
    }
    if (!displaysOnly) await Promise.race([serial.waitFor('PORTHOLE-GUEST-READY', 60_000), started]);
    return {
      spicePort,
      spiceTlsPort,
      vncPort,
      spicePassword,
      vncPassword,
      serial,
      qmp,
      pid: child.pid!,
      stop: async () => {
        qmp.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
