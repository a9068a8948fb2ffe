// A real directory for tests: OpenLDAP's slapd from Debian, run as the test's own process on a
// loopback port, with its own slapd.conf (-f), pid and args files and database directory, so a
// system slapd (Debian's package may have set one up) is neither needed nor touched. StartTLS
// is required for every operation (`security tls=1`), with a certificate from a CA made for the
// test. The school: people, groupOfNames groups (the memberof overlay writes memberOf on the
// people, as Active Directory does), a posixGroup with memberUid, and a group within a group.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { createAuthority, issueHostCertificate } from '../../certs/authority.js';
import { freePort } from './ports.js';

export const SUFFIX = 'dc=school,dc=example';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const SERVICE_DN = `cn=porthole,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'service-account-secret-7Qx';
const ADMIN_DN = `cn=admin,${SUFFIX}`;
const ADMIN_PASSWORD = 'directory-admin-secret-3Kp';

export interface Person {
  uid: string;
  password: string;
}

/** The school in the directory: every password differs, and none is in any log. */
export const SCHOOL = {
  people: [
    { uid: 'dana', password: 'dana-directory-pw-1' }, // class-3b (groupOfNames)
    { uid: 'cora', password: 'cora-directory-pw-8' }, // class-3b too (a groupOfNames needs one member left)
    { uid: 'hugo', password: 'hugo-directory-pw-2' }, // helpdesk
    { uid: 'iris', password: 'iris-directory-pw-3' }, // it-staff: admin
    { uid: 'nora', password: 'nora-directory-pw-4' }, // teachers, within staff (nested)
    { uid: 'paul', password: 'paul-directory-pw-5' }, // lab (posixGroup, memberUid)
    { uid: 'leo', password: 'leo-directory-pw-6' }, // no group; `le*` must not find him
    { uid: 'alice', password: 'alice-directory-pw-7' }, // also a local user: the local one wins
    { uid: 'tess', password: 'tess-directory-pw-9' }, // no group; for lockout tests
    { uid: 'vera', password: 'vera-directory-pw-10' }, // no group; her account is locked in the directory
  ] satisfies Person[],
  /** groupOfNames: name -> member uids, or groups (`group:NAME`). */
  groups: {
    'class-3b': ['dana', 'cora'],
    helpdesk: ['hugo'],
    'it-staff': ['iris'],
    teachers: ['nora'],
    staff: ['group:teachers'],
  } as Record<string, string[]>,
  posixGroups: { lab: ['paul'] } as Record<string, string[]>,
};

export const personDn = (uid: string) => `uid=${uid},${PEOPLE}`;
export const groupDn = (cn: string) => `cn=${cn},${GROUPS}`;

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS required) */
  url: string;
  port: number;
  /** ldaps://127.0.0.1:PORT, the same directory with TLS from the first byte. */
  ldapsUrl: string;
  /** PEM file of the CA that signed the directory's certificate. */
  caFile: string;
  /** Starts it again after stop(), on the same port with the same data. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * This directory as an administrator writes it under `directory.ldap` in the configuration
   * file (the bind password goes in PORTHOLE_LDAP_BIND_PASSWORD: SERVICE_PASSWORD).
   */
  config(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Runs `work` as the directory's administrator (over StartTLS). */
  asAdmin<T>(work: (client: Client) => Promise<T>): Promise<T>;
  removeMember(group: string, uid: string): Promise<void>;
  /** Locks the account in the directory (ppolicy's permanent lock), or unlocks it. */
  lockAccount(uid: string, locked: boolean): Promise<void>;
  addMember(group: string, uid: string): Promise<void>;
  close(): Promise<void>;
}

const PACKAGES = 'apt-get install slapd ldap-utils';

function configText(dir: string): string {
  return `# Porthole's test directory; nothing here is the system's slapd.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
security tls=1
database mdb
suffix "${SUFFIX}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PASSWORD}
directory ${dir}/db
maxsize 16777216
overlay memberof
# Accounts locked in the directory (pwdAccountLockedTime), as an administrator locks one.
overlay ppolicy
ppolicy_default "cn=default-policy,ou=services,${SUFFIX}"
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`;
}

function baseLdif(): string {
  const entry = (lines: string[]) => `${lines.join('\n')}\n`;
  return [
    entry([`dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: School', 'dc: school']),
    ...['people', 'groups', 'services'].map((ou) => entry([`dn: ou=${ou},${SUFFIX}`, 'objectClass: organizationalUnit', `ou: ${ou}`])),
    // The password policy ppolicy applies: locks honoured (pwdLockout), none of its own (no failure limit: Porthole's lockout is what is tested).
    entry([
      `dn: cn=default-policy,ou=services,${SUFFIX}`,
      'objectClass: device',
      'objectClass: pwdPolicy',
      'cn: default-policy',
      'pwdAttribute: userPassword',
      'pwdLockout: TRUE',
      'pwdMaxFailure: 0',
    ]),
    entry([`dn: ${SERVICE_DN}`, 'objectClass: person', 'cn: porthole', 'sn: service', `userPassword: ${SERVICE_PASSWORD}`]),
    ...SCHOOL.people.map((p) =>
      entry([
        `dn: ${personDn(p.uid)}`,
        'objectClass: inetOrgPerson',
        `uid: ${p.uid}`,
        `cn: ${p.uid}`,
        `sn: ${p.uid}`,
        `userPassword: ${p.password}`,
      ]),
    ),
  ].join('\n');
}

export async function startSlapd(): Promise<Slapd> {
  if (spawnSync('sh', ['-c', 'command -v slapd && command -v slapadd']).status !== 0) {
    throw new Error(`slapd not found; the directory tests need OpenLDAP's server: ${PACKAGES}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'porthole-slapd-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  let output = '';
  try {
    const authority = await createAuthority('Porthole test directory CA');
    const server = await issueHostCertificate(authority, ['127.0.0.1', 'localhost']);
    writeFileSync(join(dir, 'ca.pem'), authority.cert);
    writeFileSync(join(dir, 'server.pem'), server.cert);
    writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
    mkdirSync(join(dir, 'db'), { mode: 0o700 });
    const conf = join(dir, 'slapd.conf');
    writeFileSync(conf, configText(dir));
    writeFileSync(join(dir, 'base.ldif'), baseLdif());
    const added = spawnSync('slapadd', ['-f', conf, '-l', join(dir, 'base.ldif')], { encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`slapadd failed: ${added.stderr}`);
    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = `ldaps://127.0.0.1:${await freePort()}`;

    const start = async () => {
      output = '';
      // -d keeps slapd in the foreground (the test owns it, and stops it by its PID).
      const proc = spawn('slapd', ['-f', conf, '-h', `${url}/ ${ldapsUrl}/`, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      proc.stdout.on('data', (c: Buffer) => {
        output = (output + c.toString()).slice(-20_000);
      });
      proc.stderr.on('data', (c: Buffer) => {
        output = (output + c.toString()).slice(-20_000);
      });
      exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`slapd exited: ${output.trim().slice(-2000)}`);
        if ((await accepts(port)) && (await accepts(Number(new URL(ldapsUrl).port)))) return;
        if (Date.now() > deadline) throw new Error(`slapd did not listen on ${url} within 15 s: ${output.trim().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const stop = async () => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    };
    const asAdmin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
      const client = new Client({ url, timeout: 5000, connectTimeout: 5000 });
      try {
        await client.startTLS({ ca: authority.cert, host: '127.0.0.1' });
        await client.bind(ADMIN_DN, ADMIN_PASSWORD);
        return await work(client);
      } finally {
        await client.unbind().catch(() => {});
      }
    };
    const member = (uid: string) => (uid.startsWith('group:') ? groupDn(uid.slice(6)) : personDn(uid));

    await start();
    // Groups over LDAP, not slapadd, so that the memberof overlay writes memberOf on their members.
    await asAdmin(async (client) => {
      for (const [cn, members] of Object.entries(SCHOOL.groups)) {
        await client.add(groupDn(cn), { objectClass: 'groupOfNames', cn, member: members.map(member) });
      }
      for (const [cn, uids] of Object.entries(SCHOOL.posixGroups)) {
        await client.add(groupDn(cn), { objectClass: 'posixGroup', cn, gidNumber: '5000', memberUid: uids });
      }
    });
    return {
      url,
      port,
      ldapsUrl,
      caFile: join(dir, 'ca.pem'),
      config: (overrides = {}) => ({
        url,
        startTls: true,
        ca: join(dir, 'ca.pem'),
        bindDn: SERVICE_DN,
        userBase: PEOPLE,
        userFilter: '(uid={username})',
        groupBase: GROUPS,
        groupFilter: '(|(member={dn})(uniqueMember={dn})(memberUid={username}))',
        groupName: 'cn',
        roles: { admin: ['it-staff'], helpdesk: ['helpdesk'] },
        ...overrides,
      }),
      start,
      stop,
      asAdmin,
      removeMember: (group, uid) =>
        asAdmin((c) =>
          c.modify(
            groupDn(group),
            new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [member(uid)] }) }),
          ),
        ),
      lockAccount: (uid, locked) =>
        asAdmin((c) =>
          c.modify(
            personDn(uid),
            locked
              ? new Change({
                  operation: 'replace',
                  modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
                })
              : new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) }),
          ),
        ),
      addMember: (group, uid) =>
        asAdmin((c) =>
          c.modify(
            groupDn(group),
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [member(uid)] }) }),
          ),
        ),
      async close() {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
