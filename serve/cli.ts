// The `porthole` command: `serve`, and `user add` for local users.
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './server.js';
import { DRAIN_MESSAGE, superviseWorkers } from './workers.js';
import cluster from 'node:cluster';
import { AuditLog } from '../gateway/audit-log.js';
import { SigningKeyRing } from '../gateway/signing-keys.js';
import { ROLES, UserStore, type Role } from '../gateway/users.js';

const USAGE = `usage:
  porthole serve
  porthole user add NAME --role user|helpdesk|admin [--group G]...   (password on standard input)
  porthole keys rotate      (a new token signing key; the previous one keeps verifying)`;

async function readPassword(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  for await (const line of lines) {
    lines.close();
    return line.replace(/\r$/, '');
  }
  throw new Error('no password on standard input (give it as one line)');
}

async function userAdd(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name.startsWith('-')) throw new Error(`user add needs a NAME\n${USAGE}`);
  let role: Role | undefined;
  const groups: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if ((flag === '--role' || flag === '--group') && value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--role') {
      if (!ROLES.includes(value as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      if (role !== undefined && role !== value) throw new Error(`--role given twice (${role}, ${value}): a user has one role`);
      role = value as Role;
      i++;
    } else if (flag === '--group') {
      if (!groups.includes(value!)) groups.push(value!);
      i++;
    } else {
      throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (!role) throw new Error(`user add needs --role (${ROLES.join(', ')})`);
  const config = loadConfig();
  const store = new UserStore(config.dataDir);
  const created = await store.upsert(name, await readPassword(), role, groups);
  console.log(
    `${created ? 'added' : 'updated'} user ${name} (role ${role}${groups.length ? `, groups ${groups.join(', ')}` : ''}) in ${store.path}`,
  );
  return 0;
}

async function serve(): Promise<number> {
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) return superviseWorkers(config);
  const gateway = await startGateway(config);
  let stopping = false;
  const exit = (code: number) =>
    gateway.close().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  // SIGTERM drains: live desktops go on until they end or drainSeconds pass. A second SIGTERM,
  // or SIGINT (Ctrl+C), stops at once. A worker is told to drain by its primary's message, which
  // may come with the SIGTERM a service manager sends the whole group: the drain starts once.
  const drain = () => {
    stopping = true;
    gateway.log.info({ sessions: gateway.proxy.sessions.size, drainSeconds: config.drainSeconds }, 'SIGTERM: draining');
    gateway.drain(config.drainSeconds).then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on('SIGTERM', () => {
    if (stopping && !cluster.isWorker) {
      gateway.log.info('SIGTERM again: stopping now');
      void exit(0);
      return;
    }
    if (!stopping) drain();
  });
  process.on('message', (message) => {
    if (message === DRAIN_MESSAGE && !stopping) drain();
  });
  process.once('SIGINT', () => {
    gateway.log.info('SIGINT: stopping now');
    void exit(0);
  });
  return new Promise<number>(() => {}); // runs until a signal
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, sub, ...rest] = argv;
    if (command === 'serve') return await serve();
    if (command === 'user' && sub === 'add') return await userAdd(rest);
    if (command === 'keys' && sub === 'rotate' && rest.length === 0) {
      const config = loadConfig();
      const ring = new SigningKeyRing(config.dataDir);
      const { current, removed } = ring.rotate();
      new AuditLog(config.dataDir, config.audit).record({
        event: 'keys.rotated',
        kid: current.kid,
        removed,
        by: process.env.USER ?? 'porthole keys rotate',
      });
      console.log(`new token signing key ${current.kid}; ${ring.all().length - 1} previous key still verifies; ${removed} older removed`);
      return 0;
    }
    console.error(USAGE);
    return 2;
  } catch (error) {
    const message = error instanceof ConfigError ? `configuration: ${error.message}` : (error as Error).message;
    console.error(`porthole: ${message}`);
    return 1;
  }
}
