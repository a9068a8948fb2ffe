// A real RDP server for tests: FreeRDP's shadow server sharing an Xvfb screen, on which a
// window of `xev` records every key it receives. TLS-only (no logon) or NLA with one user from
// an NTLM SAM file; its TLS certificate is the one the test gives it (FreeRDP's shadow server
// reads shadow.crt/shadow.key from $XDG_CONFIG_HOME/freerdp/shadow, and makes its own if absent).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyAndCertificate } from '../../certs/authority.js';
import { freePort } from './ports.js';
import { recordSecret } from './secret-record.js';

export interface RdpServerOptions {
  security: 'tls' | 'nla';
  /** The TLS certificate and key the server presents. */
  certificate: KeyAndCertificate;
  /** The one account NLA accepts. */
  account?: { username: string; password: string };
}

export interface RdpServer {
  host: string;
  port: number;
  /** The text typed into the server's window so far (printable characters, as X delivered them). */
  typed(): string;
  waitForTyped(text: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const PACKAGES = 'apt-get install freerdp2-shadow-x11 xvfb x11-utils winpr-utils';

function need(command: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${command} not found; the RDP test server needs it: ${PACKAGES}`);
}

function started(child: ChildProcess, name: string): { exited: Promise<void>; failed: Promise<never>; output: () => string } {
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('error', (e) => reject(new Error(`${name}: ${e.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}): ${output.trim().slice(-2000)}`)));
  });
  failed.catch(() => {});
  return { exited, failed, output: () => output };
}

async function stopProcess(child: ChildProcess | undefined, exited: Promise<void> | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function listening(port: number, timeoutMs: number, failed: Promise<never>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the RDP server did not listen on port ${port} within ${timeoutMs} ms`);
    await Promise.race([new Promise((r) => setTimeout(r, 100)), failed]);
  }
}

/** The characters of KeyPress events in xev's output. */
function keyPresses(xevOutput: string): string {
  let text = '';
  let press = false;
  for (const line of xevOutput.split('\n')) {
    if (line.startsWith('KeyPress event')) press = true;
    else if (line.startsWith('KeyRelease event')) press = false;
    const match = /XLookupString gives 1 bytes: \([0-9a-f]+\) "(.)"/.exec(line);
    if (match && press) {
      text += match[1];
      press = false;
    }
  }
  return text;
}

export async function startRdpServer(options: RdpServerOptions): Promise<RdpServer> {
  for (const command of ['Xvfb', 'xev', 'freerdp-shadow-cli', 'winpr-hash']) need(command);
  const dir = mkdtempSync(join(tmpdir(), 'porthole-rdp-'));
  const serverDir = join(dir, '.config', 'freerdp', 'shadow');
  mkdirSync(serverDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(serverDir, 'shadow.crt'), options.certificate.cert);
  writeFileSync(join(serverDir, 'shadow.key'), options.certificate.key, { mode: 0o600 });
  const children: Array<{ child: ChildProcess; exited: Promise<void> }> = [];
  const stop = async () => {
    for (const { child, exited } of children.reverse()) await stopProcess(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // -displayfd: Xvfb picks a free display and says which, so parallel servers never collide.
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const x = started(xvfb, 'Xvfb');
    children.push({ child: xvfb, exited: x.exited });
    const displayNumber = await Promise.race([
      x.failed,
      new Promise<string>((resolve) => {
        let text = '';
        (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('\n')) resolve(text.trim());
        });
      }),
    ]);
    const env = { ...process.env, DISPLAY: `:${displayNumber}`, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') };

    const xev = spawn('xev', ['-geometry', '1024x768+0+0', '-event', 'keyboard', '-name', 'porthole-recorder'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const recorder = started(xev, 'xev');
    children.push({ child: xev, exited: recorder.exited });

    const port = await freePort();
    const args = [`/port:${port}`, '/bind-address:127.0.0.1'];
    if (options.security === 'nla') {
      const account = options.account ?? { username: 'student', password: 'Classroom-42' };
      recordSecret('RDP account password', account.password);
      const hash = spawnSync('winpr-hash', ['-u', account.username, '-p', account.password], { encoding: 'utf8' });
      if (hash.status !== 0) throw new Error(`winpr-hash failed: ${hash.stderr}`);
      writeFileSync(join(dir, 'sam'), `${account.username}:::${hash.stdout.trim()}:::\n`, { mode: 0o600 });
      args.push('+auth', '/sec:nla', `/sam-file:${join(dir, 'sam')}`);
    } else {
      args.push('-auth', '/sec:tls');
    }
    const shadow = spawn('freerdp-shadow-cli', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = started(shadow, 'freerdp-shadow-cli');
    children.push({ child: shadow, exited: server.exited });
    await Promise.race([listening(port, 15_000, server.failed), recorder.failed]);

    return {
      host: '127.0.0.1',
      port,
      typed: () => keyPresses(recorder.output()),
      async waitForTyped(text, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (!keyPresses(recorder.output()).includes(text)) {
          if (Date.now() > deadline)
            throw new Error(
              `the RDP server's window did not receive "${text}" within ${timeoutMs} ms; it got "${keyPresses(recorder.output())}"`,
            );
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
