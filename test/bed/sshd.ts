// An OpenSSH server on a loopback port, for hypervisors reached as `qemu+ssh://` (how an operator
// reaches libvirt on other hosts): its own host key and configuration made at test time, the
// client's key authorised for root, and an `ssh` wrapper that keeps the host key in the test's
// own known_hosts (never root's).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './deadline.js';
import { freePort } from './ports.js';

export interface Sshd {
  port: number;
  /** The client's private key (ssh's -i). */
  keyFile: string;
  /** An `ssh` to name in the URI's `command=`, with the test's known_hosts. */
  sshCommand: string;
  /** A libvirt URI reaching the daemon at `socket` through this server. */
  libvirtUri(socket: string): string;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { encoding: 'utf8' });
  if (result.error) throw new Error('ssh-keygen not found: apt-get install openssh-client');
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-sshd-'));
  chmodSync(dir, 0o700);
  const hostKey = join(dir, 'host_key');
  const keyFile = join(dir, 'client_key');
  keygen(hostKey);
  keygen(keyFile);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  const sshCommand = join(dir, 'ssh');
  writeFileSync(
    sshCommand,
    `#!/bin/sh\nexec ssh -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=accept-new -o GlobalKnownHostsFile=/dev/null "$@"\n`,
  );
  chmodSync(sshCommand, 0o755);

  let child: ChildProcess;
  try {
    child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once(
    'error',
    (e) => (log += `\n${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'sshd not found: apt-get install openssh-server' : e.message}`),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  try {
    await waitFor(async () => child.exitCode === null && (await listening()), 15_000, `sshd on 127.0.0.1:${port} (${log.trim()})`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    keyFile,
    sshCommand,
    libvirtUri: (socket) =>
      `qemu+ssh://root@127.0.0.1:${port}/system?socket=${socket}&keyfile=${keyFile}&command=${sshCommand}&proxy=netcat&no_tty=1`,
    stop,
  };
}
