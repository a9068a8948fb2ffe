// A command run on Debian's stock kernel, for what this machine's own kernel cannot do (it has
// no 802.1Q VLAN support, so no frame here can carry 802.1p bits). QEMU (TCG) boots Debian's
// kernel with the host's root file system shared read-only over 9p, fresh /proc, /sys, /dev and
// /run, a writable TMPDIR under /run (the host's /tmp stays visible: the checkout may live
// there), and one host folder (`share`) shared writable at the same path for the command's results. There is no network device: the command builds its own namespaces and
// links inside the machine. Boot to command: about 5 s.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureImage } from './guest-image.js';

/** Each with its dependencies: virtio and 9p for the shared folders, VLANs and veth for the command. */
const MODULES = ['virtio_pci', '9pnet_virtio', '9p', '8021q', 'veth'];

const INIT = (modules: string[]) => `#!/bin/busybox sh
/bin/busybox --install -s /bin
fail() { echo "PORTHOLE-VM-FAILED: $*" > /dev/ttyS0; poweroff -f; }
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko || fail "insmod $m"; done
SHARE=$(sed -n 's/.*porthole\\.share=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host || fail "9p mount of the host's root"
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm; mount -t devpts pts /host/dev/pts; mount -t tmpfs shm /host/dev/shm
mount -t tmpfs run /host/run; mkdir -p /host/run/tmp
mkdir -p /host$SHARE
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /host$SHARE || fail "9p mount of $SHARE"
echo PORTHOLE-VM-READY > /dev/ttyS0
chroot /host /bin/sh -c "ip link set lo up; sh $SHARE/.command > $SHARE/.output 2>&1; echo \\$? > $SHARE/.status"
sync
poweroff -f
`;

export interface VmRun {
  status: number;
  /** What the command wrote to stdout and stderr. */
  output: string;
}

/**
 * Runs `command` (a shell command line, in `cwd`) as root on Debian's kernel and resolves when the
 * machine has powered off. `share` must exist; paths under it are the same inside and outside.
 */
export async function runOnDebianKernel(
  share: string,
  command: string,
  options: { cwd: string; timeoutMs?: number; memoryMb?: number },
): Promise<VmRun> {
  if (/\s/.test(share)) throw new Error(`the shared folder's path must not contain spaces: ${share}`);
  const image = ensureImage({ name: 'vlan-lab-v2', modules: MODULES, init: INIT });
  writeFileSync(
    `${share}/.command`,
    `cd '${options.cwd}' || exit 97\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/run/tmp\n${command}\n`,
  );
  const serial = `${share}/.serial`;
  const args = [
    '-accel',
    'tcg',
    '-m',
    String(options.memoryMb ?? 2048),
    '-smp',
    '2',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-nic',
    'none',
    '-kernel',
    image.kernel,
    '-initrd',
    image.initrd,
    '-append',
    `console=ttyS0 quiet porthole.share=${share}`,
    '-serial',
    `file:${serial}`,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${share},mount_tag=share,security_model=none`,
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timeoutMs = options.timeoutMs ?? 300_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === 'ENOENT' ? 'qemu-system-x86_64 not found: apt-get install qemu-system-x86' : e.message)),
      );
      child.once('exit', (c) => resolve(c));
    });
    const console = existsSync(serial) ? readFileSync(serial, 'utf8') : '';
    const failed = /PORTHOLE-VM-FAILED: (.*)/.exec(console);
    if (failed) throw new Error(`the Debian kernel machine could not start: ${failed[1]}`);
    if (!existsSync(`${share}/.status`)) {
      throw new Error(
        code === null
          ? `the Debian kernel machine did not finish within ${timeoutMs / 1000} s; its console:\n${console.slice(-2000)}`
          : `the Debian kernel machine stopped (QEMU ${code}) before its command finished: ${stderr.trim()}\n${console.slice(-2000)}`,
      );
    }
    return { status: Number(readFileSync(`${share}/.status`, 'utf8').trim()), output: readFileSync(`${share}/.output`, 'utf8') };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
