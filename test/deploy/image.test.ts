// The image, built and run with rootful podman from Debian's packages: a Debian 12 base made with
// debootstrap (deploy/debian-base-image.sh, cached under /var/tmp), the Dockerfile built on it,
// then run as a service would be (read-only root, PORTHOLE_DATA as a volume, a published
// loopback port): healthy, a sign-in over HTTPS, not root. The container and the volume go
// whatever happens. How long the base and the build took is printed (cold and warm differ).
//
// This machine's podman needs two things the defaults do not give (see README, "The image"):
// runc instead of crun (crun refuses the hybrid cgroup layout: "cgroups in hybrid mode not
// supported, drop all controllers from cgroupv2"), and resource limits no higher than the
// machine's (podman's default RLIMIT_NOFILE of 1048576 needs CAP_SYS_RESOURCE, which it lacks).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor, waitForValue } from '../bed/deadline.js';
import { gatewayClient, type GatewayClient } from '../bed/gateway-client.js';
import { freePort } from '../bed/ports.js';
import { gatewayLogRecorder, recordSecret } from '../bed/secret-record.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BASE = 'localhost/porthole-debian:12';
const IMAGE = 'localhost/porthole:test';
const NAME = `porthole-image-test-${process.pid}`;
const VOLUME = `${NAME}-data`;
const PASSWORD = 'image-admin-password';
/** A cold build (no cached layers) on a loaded 2-core machine: minutes, not seconds. */
const BUILD_TIMEOUT_MS = 25 * 60_000;

/** Limits the machine can grant (podman's defaults are higher than a process without CAP_SYS_RESOURCE may set). */
async function ulimits(): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', 'ulimit -Hn']);
  const files = Math.min(Number(stdout.trim()) || 1024, 65_536);
  return ['--ulimit', `nofile=${files}:${files}`, '--ulimit', 'nproc=4096:4096'];
}

async function podman(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', ['--runtime', 'runc', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`podman ${args.slice(0, 2).join(' ')} exited ${code}: ${(err || out).slice(-2000)}`)),
    );
    child.stdin.end(input ?? '');
  });
}

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return Math.round((performance.now() - started) / 100) / 10;
}

let limits: string[];
let client: GatewayClient;

before(
  async () => {
    const missing = ['podman', 'runc', 'debootstrap'].filter(
      (tool) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((dir) => existsSync(`${dir}/${tool}`)),
    );
    assert.deepEqual(missing, [], `needs ${missing.join(', ')}: apt-get install podman runc debootstrap`);
    assert.equal(process.getuid?.(), 0, 'rootful podman and debootstrap need root');
    limits = await ulimits();
    const base = await seconds(() => run(`${ROOT}deploy/debian-base-image.sh`, [BASE], { maxBuffer: 1 << 24 }));
    const build = await seconds(() =>
      podman(['build', '--format', 'docker', ...limits, '--network', 'host', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, ROOT]),
    );
    console.log(`# image: base ${base} s, build ${build} s`);
  },
  { timeout: BUILD_TIMEOUT_MS },
);

after(async () => {
  await podman(['rm', '--force', '--ignore', NAME]).catch(() => {});
  await podman(['volume', 'rm', '--force', VOLUME]).catch(() => {});
});

test(
  'the image runs as a service: read-only root, data on a volume, healthy, a sign-in over HTTPS, not root',
  { timeout: 180_000 },
  async () => {
    recordSecret('user password', PASSWORD);
    await podman(['volume', 'create', VOLUME]);
    const common = [...limits, '--read-only', '--volume', `${VOLUME}:/var/lib/porthole`];
    // `porthole user add` inside the image, the password on standard input, as an operator would.
    const added = await podman(
      ['run', '--rm', '-i', ...common, IMAGE, 'node', 'bin/porthole.js', 'user', 'add', 'ada', '--role', 'admin'],
      `${PASSWORD}\n`,
    );
    assert.match(added, /added user ada \(role admin\)/);

    const port = await freePort();
    const origin = `https://localhost:${port}`;
    await podman([
      'run',
      '--detach',
      '--name',
      NAME,
      ...common,
      '--publish',
      `127.0.0.1:${port}:8443`,
      '--env',
      'PORTHOLE_LIBVIRT=lab=test:///default', // libvirt's built-in test hypervisor: no daemon
      '--env',
      `PORTHOLE_PUBLIC_URL=${origin}`,
      IMAGE,
    ]);
    try {
      // The self-signed certificate it made on first start is in PORTHOLE_DATA, on the volume.
      const ca = await waitForValue(
        () => podman(['exec', NAME, 'cat', '/var/lib/porthole/porthole.crt']).catch(() => ''),
        (pem) => pem.includes('END CERTIFICATE'),
        60_000,
        'the certificate of first start',
        250,
      ).catch(async (error: Error) => {
        // Why, in the failure itself: the container's state and what it printed.
        const state = await podman(['inspect', '--format', '{{.State.Status}} (exit {{.State.ExitCode}}) {{.State.Error}}', NAME]).catch(
          (e: Error) => e.message,
        );
        const logs = await podman(['logs', '--tail', '30', NAME]).catch((e: Error) => e.message);
        throw new Error(`${error.message}; the container is ${state.trim()}; its last output:\n${logs}`);
      });
      client = gatewayClient({ address: '127.0.0.1', port, origin, ca: Buffer.from(ca) });
      await waitFor(
        async () => (await client.api('GET', '/healthz').catch(() => ({ status: 0 }))).status === 200,
        60_000,
        'healthz 200',
        250,
      );

      // The image's own HEALTHCHECK agrees.
      await podman(['healthcheck', 'run', NAME]);

      const page = await client.api('GET', '/');
      assert.equal(page.status, 200);
      assert.match(String(page.body), /id="signin-form"/);
      const signIn = await client.api('POST', '/api/login', { body: { username: 'ada', password: PASSWORD } });
      assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
      recordSecret('sign-in cookie', signIn.cookie?.split('=')[1]);
      assert.deepEqual((signIn.body as { roles: string[] }).roles, ['admin']);
      const me = await client.api('GET', '/api/me', { cookie: signIn.cookie! });
      assert.equal((me.body as { username: string }).username, 'ada');

      // Not root, and the root file system cannot be written.
      assert.equal((await podman(['exec', NAME, 'id', '-u'])).trim(), '10001');
      await assert.rejects(podman(['exec', NAME, 'touch', '/app/written']), /Read-only file system/);
    } finally {
      gatewayLogRecorder()(await podman(['logs', NAME]).catch((error: Error) => error.message));
    }
  },
);
