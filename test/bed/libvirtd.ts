// libvirtd for tests, started without systemd (none runs here), with its own configuration,
// socket directory, state directories, pid file and log, in its own mount namespace, so it does
// not touch a libvirtd the machine may have nor depend on how the machine configured libvirt.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hypervisor } from '@unraid/libvirt';

export interface Libvirtd {
  /** A URI for this daemon, e.g. qemu:///system?socket=/tmp/…/libvirt-sock */
  uri: string;
  dir: string;
  /** Stops the daemon and keeps its configuration and definitions (as a host going down would); `startDaemon` brings it back. */
  stopDaemon(): Promise<void>;
  startDaemon(): Promise<void>;
  stop(): Promise<void>;
}

function daemon(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      (result.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${command} not found: apt-get install libvirt-daemon-system`
        : result.error.message,
    );
  }
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

function pidOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function connects(uri: string): Promise<boolean> {
  const h = new Hypervisor({ uri });
  try {
    await h.connectOpen();
    await h.connectClose();
    return true;
  } catch {
    return false;
  }
}

/** libvirtd.conf for a daemon of the tests: its socket and log in `dir`, no authentication on the socket. */
function writeDaemonConfig(dir: string, extra: string[] = []): string {
  const conf = join(dir, 'libvirtd.conf');
  writeFileSync(
    conf,
    [
      `unix_sock_dir = "${dir}"`,
      'auth_unix_rw = "none"',
      'auth_unix_ro = "none"',
      'unix_sock_rw_perms = "0700"',
      `log_outputs = "3:file:${join(dir, 'libvirtd.log')}"`,
      ...extra,
      '',
    ].join('\n'),
  );
  return conf;
}

/**
 * The tests' libvirtd: the isolated daemon below under this machine's own host name, so that it
 * depends neither on the machine's libvirt configuration nor on where the checkout lives (QEMU
 * runs as root and reads guest files even in root's home directory at mode 0700).
 */
export function startLibvirtd(): Promise<Libvirtd> {
  return startIsolatedLibvirtd({ hostname: hostname(), displayPorts: [21800, 21899], migrationPorts: [22000, 22099] });
}

export interface IsolatedLibvirtdOptions {
  /** The host's name inside its namespace (what migration reports). */
  hostname: string;
  /** Ports for this daemon's displays and incoming migrations, disjoint from every other daemon's. */
  displayPorts: [number, number];
  migrationPorts: [number, number];
  /**
   * libvirtd's TLS listener (`qemu+tls://`) on 127.0.0.1:port, with this CA, server certificate
   * and key (PEM); it asks every client for a certificate of that CA.
   */
  tls?: { port: number; ca: string; cert: string; key: string };
}

/**
 * A privileged libvirtd in its own mount and UTS namespace, so that two of them run side by side
 * on one machine as two hypervisors would (a privileged libvirtd has fixed state directories, and
 * migration needs two different host UUIDs): the recipe of the field notes, "Live migration".
 * QEMU writes its logs to files (no virtlogd), runs as root without cgroups or namespaces of its
 * own, and listens on loopback.
 */
export async function startIsolatedLibvirtd(options: IsolatedLibvirtdOptions): Promise<Libvirtd> {
  const dir = mkdtempSync(join(tmpdir(), `porthole-libvirtd-${options.hostname}-`));
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'lib', 'log']) mkdirSync(join(dir, sub));
  // Migration refuses a destination with the source's host UUID.
  const tlsConfig: string[] = [];
  if (options.tls) {
    const pki = join(dir, 'pki');
    mkdirSync(pki, { mode: 0o700 });
    writeFileSync(join(pki, 'cacert.pem'), options.tls.ca);
    writeFileSync(join(pki, 'servercert.pem'), options.tls.cert);
    writeFileSync(join(pki, 'serverkey.pem'), options.tls.key, { mode: 0o600 });
    tlsConfig.push(
      'listen_tls = 1',
      'listen_tcp = 0',
      'listen_addr = "127.0.0.1"',
      `tls_port = "${options.tls.port}"`,
      'auth_tls = "none"', // the client certificate is the authentication
      `ca_file = "${join(pki, 'cacert.pem')}"`,
      `cert_file = "${join(pki, 'servercert.pem')}"`,
      `key_file = "${join(pki, 'serverkey.pem')}"`,
    );
  }
  const conf = writeDaemonConfig(dir, [`host_uuid = "${randomUUID()}"`, ...tlsConfig]);
  writeFileSync(
    join(dir, 'etc', 'qemu.conf'),
    [
      'user = "root"',
      'group = "root"',
      'dynamic_ownership = 0',
      'security_driver = "none"',
      'cgroup_controllers = [ ]',
      'namespaces = [ ]',
      'stdio_handler = "file"',
      'vnc_listen = "127.0.0.1"',
      'spice_listen = "127.0.0.1"',
      `remote_display_port_min = ${options.displayPorts[0]}`,
      `remote_display_port_max = ${options.displayPorts[1]}`,
      `migration_port_min = ${options.migrationPorts[0]}`,
      `migration_port_max = ${options.migrationPorts[1]}`,
      '',
    ].join('\n'),
  );
  const pidFile = join(dir, 'libvirtd.pid');
  const script = [
    `hostname ${options.hostname}`,
    'mount -t tmpfs -o mode=755 porthole-run /run',
    'mkdir -p /run/libvirt /run/lock',
    `mount --bind ${dir}/etc /etc/libvirt`,
    `mount --bind ${dir}/lib /var/lib/libvirt`,
    `mount --bind ${dir}/log /var/log/libvirt`,
    // --listen: the TCP/TLS listener of libvirtd.conf (without systemd's sockets).
    `exec libvirtd -d ${options.tls ? '--listen ' : ''}-f ${conf} -p ${pidFile}`,
  ].join(' && ');
  const uri = `qemu:///system?socket=${join(dir, 'libvirt-sock')}`;
  const startDaemon = async () => {
    daemon('unshare', ['-m', '-u', '--propagation', 'private', 'sh', '-c', script]);
    await waitUntil(() => connects(uri), 60_000, `libvirtd ${options.hostname} at ${uri} (log: ${join(dir, 'libvirtd.log')})`);
  };
  const stopDaemon = async () => {
    const pid = pidOf(pidFile);
    if (pid !== undefined && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitUntil(() => !alive(pid), 15_000, `libvirtd ${options.hostname} to exit`).catch(() => process.kill(pid, 'SIGKILL'));
    }
  };
  const stop = async () => {
    await stopDaemon();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await startDaemon();
  } catch (error) {
    await stop();
    throw error;
  }
  return { uri, dir, stopDaemon, startDaemon, stop };
}
