// `npm run demo`: boots the tiny guest under QEMU with password-protected SPICE and VNC,
// describes it to libvirt (test driver) as a desktop for user "demo", starts the gateway, and
// prints the URL and the login. Ctrl+C stops everything it started.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../serve/config.js';
import { startGateway } from '../../serve/server.js';
import { UserStore } from '../../gateway/users.js';
import { CACHE_DIR, ensureGuestImage } from './guest-image.js';
import { startQemuGuest } from './qemu-guest.js';
import { writeTestDriver } from './test-driver.js';

const say = (text: string) => process.stdout.write(`${text}\n`);

async function main(): Promise<void> {
  say('Porthole demo');
  say('- preparing the demo guest (built from Debian packages on the first run, about 10 s)…');
  ensureGuestImage();
  say('- booting it under QEMU (software emulation, about 5 s)…');
  const guest = await startQemuGuest();
  try {
    const dir = join(CACHE_DIR, 'demo');
    mkdirSync(dir, { recursive: true });
    const libvirt = writeTestDriver(join(dir, 'demo-node.xml'), [
      {
        name: 'Demo desktop',
        uuid: 'de30de30-0000-4000-8000-000000000001',
        users: ['demo'],
        spice: { port: guest.spicePort, password: guest.spicePassword },
        vnc: { port: guest.vncPort, password: guest.vncPassword },
      },
    ]);
    const env = {
      ...process.env,
      PORTHOLE_LIBVIRT: `demo=${libvirt}`,
      PORTHOLE_DATA: process.env.PORTHOLE_DATA ?? resolve('data'),
      PORTHOLE_LOG_LEVEL: process.env.PORTHOLE_LOG_LEVEL ?? 'warn', // keep the URL and login readable
    };
    const config = loadConfig(env);
    const password = randomBytes(9).toString('base64url');
    await new UserStore(config.dataDir).upsert('demo', password, 'user', []);
    say('- starting the gateway…');
    const gateway = await startGateway(config);
    say('');
    say(`Porthole is running. Open ${config.publicUrl.origin}/ in a browser`);
    say(`and sign in as:  demo  /  ${password}`);
    say("(the certificate is self-signed: accept the browser's warning). Press Ctrl+C to stop.");
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    say('stopping…');
    await gateway.close();
  } finally {
    await guest.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof ConfigError ? `configuration: ${error.message}` : (error as Error).message;
    process.stderr.write(`demo: ${message}\n`);
    process.exit(1);
  },
);
