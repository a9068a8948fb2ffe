// A sign-in storm (8:00 on a school morning): 1,000 directory users sign in through the gateway
// (HTTPS, the real sign-in route) against OpenLDAP's slapd within 60 s, arriving evenly, and
// the latency of each is measured (p50, p99). Then the cost of the group lookups alone: a
// directory read of a signed-in user's groups (what a request does after cacheSeconds), and a
// sign-in with groups against one that reads none.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { loadavg } from 'node:os';
import pino from 'pino';
import { LdapDirectory } from '../gateway/directory/ldap-directory.js';
import type { LdapSettings } from '../gateway/directory/ldap-settings.js';
import { startTestGateway } from '../test/bed/gateway.js';
import { GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, startSlapd } from '../test/bed/slapd.js';
import type { BenchResult } from './harness.js';
import { percentile } from './percentile.js';

/**
 * @param smoke a quick run that only proves the storm works
 * @param scale a fraction of the storm (1,000 sign-ins in 50 s), same rate: a loaded machine's run
 */
export async function signInStorm(smoke = false, scale = 1): Promise<BenchResult[]> {
  const count = smoke ? 50 : Math.round(1000 * scale);
  const seconds = smoke ? 5 : 50 * scale;
  const classes = 20;
  const slapd = await startSlapd();
  const people = Array.from({ length: count }, (_, i) => ({ uid: `pupil${i}`, password: `storm-pw-${i}-x` }));
  try {
    // The school: every pupil in one of 20 classes, every class within "pupils" (a nested group).
    await slapd.asAdmin(async (client) => {
      for (const p of people)
        await client.add(`uid=${p.uid},${PEOPLE}`, {
          objectClass: 'inetOrgPerson',
          uid: p.uid,
          cn: p.uid,
          sn: p.uid,
          userPassword: p.password,
        });
      for (let c = 0; c < classes; c++)
        await client.add(`cn=class-${c},${GROUPS}`, {
          objectClass: 'groupOfNames',
          cn: `class-${c}`,
          member: people.filter((_, i) => i % classes === c).map((p) => `uid=${p.uid},${PEOPLE}`),
        });
      await client.add(`cn=pupils,${GROUPS}`, {
        objectClass: 'groupOfNames',
        cn: 'pupils',
        member: Array.from({ length: classes }, (_, c) => `cn=class-${c},${GROUPS}`),
      });
    });
    const ldap = slapd.config({ nestedGroups: true });
    const gw = await startTestGateway({
      libvirt: 'test:///default',
      users: [],
      config: { directory: { ldap } },
      env: { PORTHOLE_LDAP_BIND_PASSWORD: SERVICE_PASSWORD, PORTHOLE_LOG_LEVEL: 'warn' },
    });
    const latencies: number[] = [];
    let failures = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      // Open loop: arrivals on schedule whatever the answers' pace, as pupils do not wait for each other.
      await Promise.all(
        people.map(async (p, i) => {
          const due = started + (i * seconds * 1000) / count;
          await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
          const t = performance.now();
          // A sign-in without an answer within the client's 30 s counts as failed, and the storm goes on.
          const res = await gw.api('POST', '/api/login', { body: { username: p.uid, password: p.password } }).catch(() => undefined);
          latencies.push(performance.now() - t);
          if (res?.status !== 200) failures++;
        }),
      );
    } finally {
      await gw.close();
    }
    const total = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuPerSignIn = (used.user + used.system) / 1000 / count;

    // Group lookups alone, on the directory module itself (sequential: the cost, not a queue).
    const settings = (overrides: Partial<LdapSettings>): LdapSettings => ({
      urls: [slapd.url],
      startTls: true,
      ca: readFileSync(ldap.ca as string),
      bindDn: SERVICE_DN,
      bindPassword: SERVICE_PASSWORD,
      userBase: PEOPLE,
      userFilter: '(uid={username})',
      groupBase: GROUPS,
      groupFilter: '(|(member={dn})(uniqueMember={dn})(memberUid={username}))',
      groupName: 'cn',
      roles: { admin: [], helpdesk: [] },
      nestedGroups: true,
      cacheSeconds: 300,
      timeoutSeconds: 5,
      ...overrides,
    });
    const log = pino({ level: 'silent' });
    const time = async (directory: LdapDirectory, work: (uid: string, pw: string) => Promise<unknown>) => {
      const xs: number[] = [];
      for (const p of people.slice(0, smoke ? 20 : 300)) {
        const t = performance.now();
        await work(p.uid, p.password);
        xs.push(performance.now() - t);
      }
      await directory.close();
      return percentile(xs, 50);
    };
    // A local user's password check (argon2id): what a local sign-in costs, and how long every
    // other name waits (without the work) so that timing does not tell local names apart.
    const hash = await argon2.hash('a-local-password', { type: argon2.argon2id });
    const localCheck: number[] = [];
    for (let i = 0; i < (smoke ? 5 : 30); i++) {
      const t = performance.now();
      await argon2.verify(hash, 'a-wrong-password');
      localCheck.push(performance.now() - t);
    }
    const nested = new LdapDirectory(settings({}), log);
    const lookup = await time(nested, (uid) => nested.lookup(uid));
    const withGroups = new LdapDirectory(settings({}), log);
    const signInWithGroups = await time(withGroups, (uid, pw) => withGroups.authenticate(uid, pw));
    const noGroups = new LdapDirectory(settings({ groupBase: undefined as unknown as string, nestedGroups: false }), log);
    const signInNoGroups = await time(noGroups, (uid, pw) => noGroups.authenticate(uid, pw));
    return [
      { name: `sign-in storm: ${count} LDAP sign-ins in ${seconds} s, all done after`, value: total, unit: 's' },
      { name: 'sign-in storm: sign-ins refused or failed', value: failures, unit: 'sign-ins' },
      { name: 'sign-in storm: sign-in p50 through the gateway', value: percentile(latencies, 50), unit: 'ms' },
      { name: 'sign-in storm: sign-in p99 through the gateway', value: percentile(latencies, 99), unit: 'ms' },
      { name: 'sign-in storm: load average (1 min) at the end, on this machine', value: loadavg()[0]!, unit: 'load' },
      { name: 'sign-in storm: CPU per sign-in, gateway and its HTTPS clients (slapd apart)', value: cpuPerSignIn, unit: 'ms' },
      {
        name: "a local user's password check (argon2id verify), p50; other names wait as long",
        value: percentile(localCheck, 50),
        unit: 'ms',
      },
      { name: 'LDAP: groups read again (user search + nested groups), p50', value: lookup, unit: 'ms' },
      { name: 'LDAP: directory sign-in with nested groups, p50', value: signInWithGroups, unit: 'ms' },
      { name: 'LDAP: directory sign-in reading no groups (memberOf), p50', value: signInNoGroups, unit: 'ms' },
    ];
  } finally {
    await slapd.close();
  }
}

// `node dist/bench/sign-in-storm.js [--smoke] [--scale=0.2]` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = Number(process.argv.find((a) => a.startsWith('--scale='))?.slice(8) ?? 1);
  const digits = (unit: string) => (unit === 'ms' || unit === 's' || unit === 'load' ? 1 : 0);
  for (const r of await signInStorm(process.argv.includes('--smoke'), scale))
    console.log(`${r.name.padEnd(72)} ${r.value.toFixed(digits(r.unit)).padStart(9)} ${r.unit}`);
}
