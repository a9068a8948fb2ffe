// scripts/install-node.sh, which gives a fresh Debian 12 (Node.js 18) the Node.js 24 that
// Porthole needs: against a release served on loopback in nodejs.org's layout, it installs a
// build whose SHA-256 matches the published one, and refuses one that does not.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/install-node.sh', import.meta.url));
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';
const RELEASE = `node-v24.99.1-linux-${ARCH}`;
const dir = mkdtempSync(join(tmpdir(), 'porthole-node-release-'));
/** What the loopback "nodejs.org" serves, by file name. */
const files = new Map<string, Buffer>();
let server: Server;
let dist: string;

before(async () => {
  // A stand-in release: bin/node answers its version, as the real one does.
  const root = join(dir, RELEASE);
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'bin', 'node'), '#!/bin/sh\necho v24.99.1\n');
  chmodSync(join(root, 'bin', 'node'), 0o755);
  writeFileSync(join(root, 'README.md'), 'not installed');
  const tar = spawnSync('tar', ['-cJf', join(dir, `${RELEASE}.tar.xz`), '-C', dir, RELEASE]);
  assert.equal(tar.status, 0, `tar (xz-utils) is needed: ${tar.stderr}`);
  const tarball = readFileSync(join(dir, `${RELEASE}.tar.xz`));
  files.set(`${RELEASE}.tar.xz`, tarball);
  files.set(
    'SHASUMS256.txt',
    Buffer.from(
      `${createHash('sha256').update(tarball).digest('hex')}  ${RELEASE}.tar.xz\n` +
        `${'0'.repeat(64)}  node-v24.99.1-darwin-arm64.tar.gz\n`,
    ),
  );
  server = createServer((req, res) => {
    const body = files.get((req.url ?? '').replace(/^\/dist\//, ''));
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  dist = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dist`;
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function install(prefix: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT], { env: { ...process.env, PORTHOLE_NODE_DIST: dist, PORTHOLE_NODE_PREFIX: prefix } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('Node.js 24 is installed from the release whose SHA-256 matches the published one', async () => {
  const prefix = join(dir, 'prefix-good');
  const { code, output } = await install(prefix);
  assert.equal(code, 0, output);
  assert.match(output, /installed v24\.99\.1 in /);
  assert.equal(
    spawnSync(join(prefix, 'bin', 'node'))
      .stdout.toString()
      .trim(),
    'v24.99.1',
  );
  assert.equal(existsSync(join(prefix, 'README.md')), false, "the release's README is left out");
});

test('a download that does not match its published SHA-256 is refused, and nothing is installed', async () => {
  const good = files.get(`${RELEASE}.tar.xz`)!;
  files.set(`${RELEASE}.tar.xz`, Buffer.concat([good, Buffer.from('tampered')]));
  try {
    const prefix = join(dir, 'prefix-bad');
    const { code, output } = await install(prefix);
    assert.equal(code, 1, output);
    assert.match(output, /does not match the SHA-256 published with it; nothing was installed/);
    assert.equal(existsSync(join(prefix, 'bin', 'node')), false);
  } finally {
    files.set(`${RELEASE}.tar.xz`, good);
  }
});
