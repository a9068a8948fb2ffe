// The desktop list at 8:00 on a school morning: Porthole as `npm start` runs it (`porthole
// serve`), with 6 hypervisors of 400 desktops each (libvirt's test driver: the real libvirt API,
// no guests), and a school's worth of students loading their lists at once. Prints and returns
// the figures; `node dist/bench/desktop-list.js [--smoke]` runs it alone.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { freePort } from '../test/bed/ports.js';
import { percentile } from './percentile.js';
import { writeTestDriver, type TestDomain } from '../test/bed/test-driver.js';

export interface DesktopListFigures {
  hosts: number;
  desktops: number;
  /** One student's list, the first of the morning (every host read). */
  firstListMs: number;
  /** `students` lists in flight together: each one's time, and the whole wave's. */
  students: number;
  waveP50Ms: number;
  waveP99Ms: number;
  waveMs: number;
}

/** A school's hypervisors on libvirt's test driver: `hosts` of `perHost` desktops, 30 to a class. */
export function writeSchool(dir: string, hosts: number, perHost: number): Array<{ name: string; uri: string }> {
  const hypervisors: Array<{ name: string; uri: string }> = [];
  for (let h = 0; h < hosts; h++) {
    const domains: TestDomain[] = [];
    for (let i = 0; i < perHost; i++) {
      const n = h * perHost + i;
      domains.push({
        name: `desk-${n}`,
        uuid: schoolDesktop(n),
        // 30 desktops per class; student-<n> has their own desktop.
        users: [`student-${n}`],
        groups: [`class-${Math.floor(n / 30)}`],
        vnc: { port: 5900 + (n % 1000), password: 'bench' },
      });
    }
    hypervisors.push({ name: `hv${h}`, uri: writeTestDriver(join(dir, `hv${h}.xml`), domains) });
  }
  return hypervisors;
}

/** The id of the school's desktop number `n`. */
export function schoolDesktop(n: number): string {
  return `55555555-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const BIN = fileURLToPath(new URL('../../bin/porthole.js', import.meta.url));

export async function benchDesktopList(options: { hosts: number; perHost: number; students: number }): Promise<DesktopListFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-list-'));
  const hypervisors = writeSchool(dir, options.hosts, options.perHost).map((h) => `${h.name}=${h.uri}`);
  const port = await freePort();
  const tls = await ensureSelfSignedCertificate('localhost', join(dir, 'certs'));
  const env = {
    ...process.env,
    PORTHOLE_LISTEN: `127.0.0.1:${port}`,
    PORTHOLE_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
    PORTHOLE_PUBLIC_URL: `https://localhost:${port}`,
    PORTHOLE_LIBVIRT: hypervisors.join(','),
    PORTHOLE_DATA: dir,
    PORTHOLE_TLS_CERT: tls.cert,
    PORTHOLE_TLS_KEY: tls.key,
    PORTHOLE_LOG_LEVEL: 'warn',
  };
  // One account stands for the school (a group member sees the class's 30 desktops).
  const add = spawnSync(process.execPath, [BIN, 'user', 'add', 'student-0', '--role', 'user', '--group', 'class-0'], {
    env,
    input: 'bench-password\n',
    encoding: 'utf8',
  });
  if (add.status !== 0) throw new Error(`porthole user add failed: ${add.stderr}`);
  const gateway = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const ca = readFileSync(tls.cert);
  const call = (method: string, path: string, cookie?: string, body?: unknown) =>
    new Promise<{ status: number; cookie?: string; ms: number }>((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca,
          method,
          path,
          agent: false,
          headers: {
            origin: `https://localhost:${port}`,
            ...(cookie ? { cookie } : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const set = res.headers['set-cookie']?.find((c) => c.startsWith('porthole_session='));
            resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, ...(set ? { cookie: set.split(';', 1)[0]! } : {}) });
          });
        },
      );
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await call('GET', '/healthz').catch(() => undefined);
      if (up?.status === 200) break;
      if (Date.now() > deadline || gateway.exitCode !== null) throw new Error('porthole serve did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const signIn = await call('POST', '/api/login', undefined, { username: 'student-0', password: 'bench-password' });
    if (!signIn.cookie) throw new Error(`sign-in failed: ${signIn.status}`);
    const first = await call('GET', '/api/desktops', signIn.cookie);
    if (first.status !== 200) throw new Error(`list answered ${first.status}`);
    await new Promise((r) => setTimeout(r, 2500)); // past the shared reading: the wave starts cold
    const t0 = performance.now();
    const wave = await Promise.all(Array.from({ length: options.students }, () => call('GET', '/api/desktops', signIn.cookie)));
    const waveMs = performance.now() - t0;
    if (wave.some((r) => r.status !== 200)) throw new Error('a list in the wave failed');
    const times = wave.map((r) => r.ms);
    return {
      hosts: options.hosts,
      desktops: options.hosts * options.perHost,
      firstListMs: first.ms,
      students: options.students,
      waveP50Ms: percentile(times, 50),
      waveP99Ms: percentile(times, 99),
      waveMs,
    };
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  const figures = await benchDesktopList(smoke ? { hosts: 2, perHost: 20, students: 20 } : { hosts: 6, perHost: 400, students: 500 });
  console.log(JSON.stringify(figures, null, 2));
}
