// Tiny real machines, built at test time from Debian packages: Debian's kernel booted as an
// uncompressed ELF (PVH, twice as fast under TCG as vmlinuz), and an initramfs with busybox, the
// kernel modules a recipe names (with their dependencies) and the recipe's /init. The test guest
// is one recipe: the DRM modules so that SPICE and VNC show a text console; /init prints a ready
// line on the serial port, runs a shell on the display's console (what the keyboard types into)
// and one on the serial port. Cached in test/bed/.cache (gitignored), built once per recipe.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GuestImage {
  kernel: string;
  initrd: string;
}

/** What goes into an image besides busybox: modules to load (dependencies are added) and /init. */
export interface ImageRecipe {
  /** The cache folder's name; change it when the recipe changes. */
  name: string;
  modules: string[];
  /** /init, given the modules in load order (each at /lib/modules/NAME.ko). */
  init(modules: string[]): string;
  /**
   * Programs of this machine copied in at their own paths with their shared libraries (what ldd
   * names), and data folders copied as they are; each names the Debian package that brings it.
   */
  programs?: { path: string; debian: string }[];
  trees?: { path: string; debian: string }[];
  /** Files written into the image, e.g. a sound to play. */
  files?: { path: string; content: Buffer }[];
}

/** dist/test/bed/ -> test/bed/.cache */
export const CACHE_DIR = fileURLToPath(new URL('../../../test/bed/.cache/', import.meta.url));

/** The display stack, loaded in this order after their dependencies. */
const DISPLAY_MODULES = ['qxl', 'bochs'];

function run(command: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { code?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(`${command} not found: apt-get install ${command === 'cpio' ? 'cpio' : command === 'xz' ? 'xz-utils' : 'apt dpkg'}`, {
        cause: error,
      });
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr ?? error}`, { cause: error });
  }
}

/** The versioned kernel package that linux-image-amd64 depends on. */
function kernelPackage(): string {
  const out = run('apt-cache', ['depends', 'linux-image-amd64']);
  const match = /Depends: (linux-image-\d[^\s]*-amd64)/.exec(out);
  if (!match) throw new Error('apt-cache does not know linux-image-amd64: run apt-get update first');
  return match[1]!;
}

/** vmlinux is the XZ stream inside vmlinuz, decompressed. */
function extractVmlinux(vmlinuz: string, out: string): void {
  const image = readFileSync(vmlinuz);
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new Error(`${vmlinuz}: no XZ stream found`);
  // From a file, and the first stream only: xz stops reading at the stream's end, so a pipe
  // would break (EPIPE) under the bytes that follow it.
  const stream = `${out}.xz`;
  writeFileSync(stream, image.subarray(at));
  const result = spawnSync('xz', ['-dc', '--single-stream', stream], { maxBuffer: 512 * 1024 * 1024 });
  rmSync(stream, { force: true });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('xz not found: apt-get install xz-utils');
  if (result.error) throw new Error(`xz -dc ${vmlinuz}: ${result.error.message}`);
  if (result.stdout.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error('decompressed kernel is not an ELF file');
  writeFileSync(out, result.stdout);
}

function findModules(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findModules(path, found);
    else if (name.endsWith('.ko')) found.set(basename(name, '.ko').replace(/-/g, '_'), path);
  }
  return found;
}

/** A module's dependencies from its .modinfo section (no depmod on this machine). */
function dependsOf(path: string): string[] {
  const text = readFileSync(path).toString('latin1');
  const match = /depends=([^\0]*)\0/.exec(text);
  return match && match[1]
    ? match[1]
        .split(',')
        .filter(Boolean)
        .map((d) => d.replace(/-/g, '_'))
    : [];
}

/** Modules in load order: each after its dependencies. */
function loadOrder(wanted: string[], modules: Map<string, string>): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    if (order.includes(name)) return;
    const path = modules.get(name);
    if (!path) throw new Error(`kernel module ${name} not found in the kernel package`);
    for (const dep of dependsOf(path)) visit(dep);
    order.push(name);
  };
  wanted.forEach(visit);
  return order;
}

/** The test guest's /init; `extra` runs just before the ready line (a guest's power button handler, its X stack). */
const INIT = (modules: string[], extra = '') => `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko 2>/dev/null; done
i=0; while [ ! -e /dev/fb0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
export PS1='guest# ' HOME=/root TERM=linux
clear > /dev/tty1
printf 'Porthole test guest\\n\\n' > /dev/tty1
# A session leader that opens a tty makes it its controlling terminal (cttyhack would pick the
# kernel console, ttyS0, instead of the display's tty1).
setsid sh -c 'exec sh -i <>/dev/ttyS0 >&0 2>&1' &
# Ctrl+Alt+Del: the kernel sends init (this shell) SIGINT instead of rebooting, and init says so
# on the serial port, so a test can tell that the key combination reached the guest's kernel.
echo 0 > /proc/sys/kernel/ctrl-alt-del
trap 'echo PORTHOLE-CTRL-ALT-DEL > /dev/ttyS0' INT
(while true; do setsid sh -c 'exec sh -i <>/dev/tty1 >&0 2>&1'; done) &
${extra}echo PORTHOLE-GUEST-READY > /dev/ttyS0
# A trapped signal interrupts wait, the trap runs, and init waits again.
while true; do wait; done
`;

/** Copies a program and the shared libraries ldd says it loads to the same paths under `root`. */
function copyProgram(program: { path: string; debian: string }, root: string): void {
  if (!existsSync(program.path)) throw new Error(`${program.path} is missing: apt-get install ${program.debian}`);
  const libraries = [...run('ldd', [program.path]).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  for (const path of [program.path, ...libraries]) {
    const to = join(root, path);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(path, to); // follows symbolic links: the file the loader would open
    chmodSync(to, 0o755);
  }
}

function build(dir: string, recipe: ImageRecipe): void {
  const work = `${dir}.build-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    run('apt-get', ['-q', '-o', 'APT::Sandbox::User=root', 'download', kernelPackage(), 'busybox-static'], work);
    const debs = readdirSync(work).filter((f) => f.endsWith('.deb'));
    const kernelDeb = debs.find((f) => f.startsWith('linux-image-'));
    const busyboxDeb = debs.find((f) => f.startsWith('busybox-static'));
    if (!kernelDeb || !busyboxDeb) throw new Error(`apt-get download brought ${debs.join(', ')}`);
    run('dpkg-deb', ['-x', kernelDeb, 'kernel'], work);
    run('dpkg-deb', ['-x', busyboxDeb, 'busybox'], work);
    const boot = join(work, 'kernel', 'boot');
    const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error('the kernel package has no vmlinuz');
    extractVmlinux(join(boot, vmlinuz), join(work, 'vmlinux'));

    const root = join(work, 'initramfs');
    for (const d of ['bin', 'lib/modules', 'dev', 'proc', 'sys', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(join(work, 'busybox', 'bin', 'busybox'), join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const modules = findModules(join(work, 'kernel', 'lib', 'modules'));
    const order = loadOrder(recipe.modules, modules);
    for (const m of order) copyFileSync(modules.get(m)!, join(root, 'lib', 'modules', `${m}.ko`));
    for (const p of recipe.programs ?? []) copyProgram(p, root);
    for (const t of recipe.trees ?? []) {
      if (!existsSync(t.path)) throw new Error(`${t.path} is missing: apt-get install ${t.debian}`);
      cpSync(t.path, join(root, t.path), { recursive: true, dereference: true });
    }
    for (const f of recipe.files ?? []) writeFileSync(join(root, f.path), f.content);
    writeFileSync(join(root, 'init'), recipe.init(order), { mode: 0o755 });
    const cpio = spawnSync('sh', ['-c', 'find . | cpio -o -H newc --quiet | gzip -1'], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
    if (cpio.status !== 0) throw new Error(`initramfs: ${cpio.stderr.toString() || 'cpio failed (apt-get install cpio)'}`);

    const staged = `${work}.out`;
    mkdirSync(staged);
    renameSync(join(work, 'vmlinux'), join(staged, 'vmlinux'));
    writeFileSync(join(staged, 'initrd.gz'), cpio.stdout);
    // Another process may have finished first: its result is as good as ours.
    try {
      renameSync(staged, dir);
    } catch {
      rmSync(staged, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A recipe's kernel and initramfs, built on first use. */
export function ensureImage(recipe: ImageRecipe): GuestImage {
  const dir = join(CACHE_DIR, recipe.name);
  const image = { kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initrd.gz') };
  if (existsSync(image.kernel) && existsSync(image.initrd)) return image;
  mkdirSync(CACHE_DIR, { recursive: true });
  build(dir, recipe);
  return image;
}

/** The test guest's kernel and initramfs. */
export function ensureGuestImage(): GuestImage {
  return ensureImage({ name: 'guest-v3', modules: DISPLAY_MODULES, init: INIT });
}

/**
 * The ACPI power button (libvirt's shutdown and reboot, flags 0): the guest says so on the
 * serial port and powers off, which libvirt's reboot turns into a reset. The plain test guest has
 * no handler (a power button does nothing there), so tests of shutting down keep their guests.
 */
const POWER_BUTTON = `for e in /sys/class/input/event*; do
  if grep -q 'Power Button' $e/device/name 2>/dev/null; then
    (dd if=/dev/input/\${e##*/} bs=24 count=1 >/dev/null 2>&1; echo PORTHOLE-POWER-BUTTON > /dev/ttyS0; poweroff -f) &
  fi
done
`;

/** The test guest that answers the ACPI power button (shuts down, or restarts under libvirt's reboot). */
export function ensurePowerButtonGuestImage(): GuestImage {
  return ensureImage({
    name: 'guest-power-v1',
    modules: [...DISPLAY_MODULES, 'button', 'evdev'],
    init: (modules) => INIT(modules, POWER_BUTTON),
  });
}

/**
 * The clipboard agent's stack, as a desktop has it: an X server (Xvfb: the display shows the
 * console, the clipboard is X's), spice-vdagentd and spice-vdagent, with no udev or systemd.
 * It speaks to whichever end the domain gives its com.redhat.spice.0 port: SPICE's agent channel
 * (spicevmc) or QEMU's own clipboard bridge for VNC (qemu-vdagent). A watcher prints the X
 * clipboard to the serial port whenever it changes (`PORTHOLE-CLIPBOARD:<text>`), and `copy
 * WORDS`, typed in the display's shell, puts WORDS on it (xclip stays as its owner).
 */
const AGENT_STACK = `export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mkdir -p /dev/virtio-ports /run/spice-vdagentd /var/lib/xkb /tmp/.X11-unix
for p in /sys/class/virtio-ports/*; do [ -e $p/name ] && ln -sf /dev/\${p##*/} /dev/virtio-ports/$(cat $p/name); done
Xvfb :0 -nolisten tcp -screen 0 1024x768x24 >/tmp/xvfb.log 2>&1 &
i=0; while [ ! -e /tmp/.X11-unix/X0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
spice-vdagentd -X -x >/tmp/vdagentd.log 2>&1 &
i=0; while [ ! -e /run/spice-vdagentd/spice-vdagent-sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
DISPLAY=:0 NO_AT_BRIDGE=1 spice-vdagent -x >/tmp/vdagent.log 2>&1 &
printf '%s\\n' '#!/bin/sh' 'printf %s "$*" | DISPLAY=:0 xclip -i -selection clipboard >/dev/null 2>&1' > /bin/copy
chmod 755 /bin/copy
(old=; while true; do
  new=$(DISPLAY=:0 xclip -o -selection clipboard 2>/dev/null)
  if [ -n "$new" ] && [ "$new" != "$old" ]; then echo "PORTHOLE-CLIPBOARD:$new" > /dev/ttyS0; old=$new; fi
  sleep 1
done) &
echo PORTHOLE-AGENT-STARTED > /dev/ttyS0
`;

/**
 * Sound, with no userland: the kernel's OSS emulation plays a tone (8 kHz unsigned 8-bit) in a
 * loop on /dev/dsp, where the domain has an HDA sound card (and nothing where it has none).
 * Modules in this order, since there is no modprobe to find the codec driver before the controller's.
 */
const SOUND_MODULES = [
  'soundcore',
  'snd',
  'snd_timer',
  'snd_pcm',
  'snd_hda_core',
  'snd_hwdep',
  'snd_hda_codec',
  'ledtrig_audio',
  'snd_hda_codec_generic',
  'snd_intel_sdw_acpi',
  'snd_intel_dspcfg',
  'snd_hda_intel',
  'snd_mixer_oss',
  'snd_pcm_oss',
];
/**
 * /dev/dsp is opened once, for good: each open and close is a new SPICE stream (PLAYBACK_START,
 * PLAYBACK_STOP), for which spice-html5 makes a new <audio> element. The guest says
 * PORTHOLE-SOUND-PLAYING on the serial port as it starts.
 */
const TONE_STACK = `i=0; while [ ! -e /dev/dsp ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done
[ -e /dev/dsp ] && echo PORTHOLE-SOUND-PLAYING > /dev/ttyS0 && (while true; do cat /tone.u8; done > /dev/dsp) &
`;

/** A second of a 440 Hz tone, 8 kHz unsigned 8-bit, half of full scale. */
function tone(): Buffer {
  return Buffer.from(Array.from({ length: 8000 }, (_, i) => Math.round(128 + 64 * Math.sin((2 * Math.PI * 440 * i) / 8000))));
}

/**
 * The test guest with the clipboard agent (see AGENT_STACK), a tone on its sound card when it has
 * one, and its display's size (MODE_LOG); Debian packages xvfb, spice-vdagent, xclip,
 * x11-xserver-utils.
 */
export function ensureAgentGuestImage(): GuestImage {
  return ensureImage({
    name: 'agent-guest-v3',
    // virtio_console carries the agent's port; spice-vdagentd dies without uinput.
    modules: [...DISPLAY_MODULES, 'virtio_pci', 'virtio_console', 'uinput', ...SOUND_MODULES],
    init: (modules) => INIT(modules, AGENT_STACK + TONE_STACK + MODE_LOG),
    programs: [
      { path: '/usr/bin/Xvfb', debian: 'xvfb' },
      { path: '/usr/bin/xkbcomp', debian: 'x11-xkb-utils' },
      { path: '/usr/sbin/spice-vdagentd', debian: 'spice-vdagent' },
      { path: '/usr/bin/spice-vdagent', debian: 'spice-vdagent' },
      { path: '/usr/bin/xclip', debian: 'xclip' },
      { path: '/usr/bin/xrandr', debian: 'x11-xserver-utils' },
    ],
    trees: [{ path: '/usr/share/X11/xkb', debian: 'xkb-data' }],
    files: [{ path: 'tone.u8', content: tone() }],
  });
}

/**
 * Pointer input as the guest's kernel receives it, for proving that taps, drags and scrolls made
 * in a browser arrived: every event of the virtio tablet (absolute position, buttons, wheel) goes
 * to the serial port as `PORTHOLE-INPUT:` and the 24 bytes of its `struct input_event` in hex
 * (guest-input.ts reads them).
 */
const TABLET_LOG = `for e in /sys/class/input/event*; do
  if grep -q 'Tablet' $e/device/name 2>/dev/null; then
    hexdump -v -e '"PORTHOLE-INPUT:" 24/1 "%02x" "\\n"' /dev/input/\${e##*/} > /dev/ttyS0 &
  fi
done
`;

/**
 * The display's size as the guest has it, whenever it changes: `PORTHOLE-MODE:<the display
 * device's preferred mode> fb=<the console's framebuffer>`: the preferred mode is what a client's
 * monitors configuration asked of QXL; and where X runs, `PORTHOLE-XSIZE:<X's screen size>`
 * (what spice-vdagent sets through RandR).
 */
const MODE_LOG = `(old=; while true; do
  new="$(cat /sys/class/drm/card0-*/modes 2>/dev/null | head -n 1) fb=$(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)"
  if [ "$new" != "$old" ]; then echo "PORTHOLE-MODE:$new" > /dev/ttyS0; old=$new; fi
  if [ -e /tmp/.X11-unix/X0 ]; then
    x=$(DISPLAY=:0 xrandr --current 2>/dev/null | sed -n 's/.*current \\([0-9]*\\) x \\([0-9]*\\).*/\\1x\\2/p')
    if [ "$x" != "$oldx" ]; then echo "PORTHOLE-XSIZE:$x" > /dev/ttyS0; oldx=$x; fi
  fi
  sleep 0.3
done) &
`;

/** The test guest with a virtio tablet whose events it logs (see TABLET_LOG); the domain adds the tablet. */
export function ensureInputGuestImage(): GuestImage {
  return ensureImage({
    name: 'guest-input-v3',
    modules: [...DISPLAY_MODULES, 'virtio_pci', 'virtio_input', 'evdev'],
    init: (modules) => INIT(modules, TABLET_LOG + MODE_LOG),
  });
}
