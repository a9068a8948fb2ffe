import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../serve/config.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('defaults follow the contract', () => {
  const c = loadConfig({}, dir);
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(c.publicUrl.origin, 'https://localhost:8443');
  assert.deepEqual([...c.allowedOrigins], ['https://localhost:8443']);
  assert.deepEqual(c.hypervisors, [{ name: 'local', uri: 'qemu:///system' }]);
  assert.equal(c.dataDir, join(dir, 'data'));
  assert.equal(c.logLevel, 'info');
  assert.equal(c.tokens.ttlSeconds, 60);
  assert.equal(c.tokens.bindClientIp, true);
});

test('a YAML file configures, and environment variables win over it', () => {
  writeFileSync(
    join(dir, 'porthole.yaml'),
    [
      'listen: 127.0.0.1:9443',
      'publicUrl: https://desk.example.org',
      'libvirt: [a=test:///default]',
      'logLevel: debug',
      'tokens: { ttlSeconds: 30, bindClientIp: false }',
      'sessions: { idleMinutes: 5 }',
    ].join('\n'),
  );
  const c = loadConfig(
    {
      PORTHOLE_CONFIG: 'porthole.yaml',
      PORTHOLE_LOG_LEVEL: 'warn',
      PORTHOLE_ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443/x',
    },
    dir,
  );
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 9443 });
  assert.equal(c.logLevel, 'warn');
  assert.deepEqual([...c.allowedOrigins], ['https://desk.example.org', 'https://a.example', 'https://b.example:8443']);
  assert.deepEqual(c.hypervisors, [{ name: 'a', uri: 'test:///default' }]);
  assert.equal(c.tokens.ttlSeconds, 30);
  assert.equal(c.tokens.bindClientIp, false);
  assert.equal(c.sessions.idleTimeoutMs, 300_000);
  writeFileSync(join(dir, 'porthole.json'), JSON.stringify({ listen: '[::1]:8443' }));
  assert.deepEqual(loadConfig({ PORTHOLE_CONFIG: 'porthole.json' }, dir).listen, { host: '::1', port: 8443 });
});

test('802.1p/DSCP marking: defaults, overrides per kind and leg, and a switch to turn it off', () => {
  const defaults = loadConfig({}, dir).qos!;
  assert.deepEqual(defaults['spice.inputs'].client, { priority: 6, dscp: 32 });
  assert.deepEqual(defaults['spice.display'].display, { priority: 5, dscp: 34 });
  writeFileSync(join(dir, 'qos.yaml'), 'qos: { classes: { vnc: { priority: 3 }, spice.main: { display: { dscp: 46 } } } }');
  const c = loadConfig({ PORTHOLE_CONFIG: 'qos.yaml' }, dir).qos!;
  assert.deepEqual(c.vnc, { client: { priority: 3, dscp: 34 }, display: { priority: 3, dscp: 34 } });
  assert.deepEqual(c['spice.main'], { client: { priority: 4, dscp: 18 }, display: { priority: 4, dscp: 46 } });
  assert.equal(loadConfig({ PORTHOLE_QOS: 'off' }, dir).qos, undefined);
  writeFileSync(join(dir, 'bad-qos.yaml'), 'qos: { classes: { spice.teleport: { priority: 1 } } }');
  assert.throws(() => loadConfig({ PORTHOLE_CONFIG: 'bad-qos.yaml' }, dir), /not a kind of traffic/);
  writeFileSync(join(dir, 'bad-dscp.yaml'), 'qos: { classes: { vnc: { dscp: 99 } } }');
  assert.throws(() => loadConfig({ PORTHOLE_CONFIG: 'bad-dscp.yaml' }, dir), /dscp 0-63/);
});

test("802.1p/DSCP classes from the environment: per kind or leg, over the file's", () => {
  const env = {
    PORTHOLE_CONFIG: 'qos.yaml', // vnc priority 3, spice.main display-side DSCP 46
    PORTHOLE_QOS_CLASSES: 'spice.inputs=7/46, vnc.client=2/10 spice.display.display=4/26',
  };
  const c = loadConfig(env, dir).qos!;
  assert.deepEqual(c['spice.inputs'], { client: { priority: 7, dscp: 46 }, display: { priority: 7, dscp: 46 } });
  assert.deepEqual(c.vnc, { client: { priority: 2, dscp: 10 }, display: { priority: 3, dscp: 34 } });
  assert.deepEqual(c['spice.display'], { client: { priority: 5, dscp: 34 }, display: { priority: 4, dscp: 26 } });
  assert.deepEqual(c['spice.main'].display, { priority: 4, dscp: 46 });
  assert.throws(() => loadConfig({ PORTHOLE_QOS_CLASSES: 'vnc=5' }, dir), /entry "vnc=5": write KIND=PRIORITY\/DSCP/);
  assert.throws(() => loadConfig({ PORTHOLE_QOS_CLASSES: 'spice.teleport=1/10' }, dir), /spice.teleport is not a kind of traffic/);
  assert.throws(() => loadConfig({ PORTHOLE_QOS_CLASSES: 'rdp.display=8/10' }, dir), /entry "rdp.display=8\/10": priority must be 0-7/);
  assert.equal(loadConfig({ PORTHOLE_QOS: 'off', PORTHOLE_QOS_CLASSES: 'vnc=1/8' }, dir).qos, undefined);
});

test('mistakes are named with the setting and what to write instead', () => {
  writeFileSync(join(dir, 'bad-listen.json'), '{"listen": 5, "logLevel": "loud"}');
  assert.throws(() => loadConfig({ PORTHOLE_CONFIG: 'bad-listen.json' }, dir), /bad-listen.json logLevel "loud" must be one of/);
  assert.throws(
    () => loadConfig({ PORTHOLE_CONFIG: 'bad-listen.json', PORTHOLE_LOG_LEVEL: 'info' }, dir),
    /bad-listen.json listen "5" must be host:port/,
  );
  assert.throws(
    () => loadConfig({ PORTHOLE_CONFIG: 'bad-listen.json', PORTHOLE_LOG_LEVEL: 'loud' }, dir),
    /^ConfigError: PORTHOLE_LOG_LEVEL "loud"/,
  );
  assert.throws(() => loadConfig({ PORTHOLE_LISTEN: '8443' }, dir), /PORTHOLE_LISTEN "8443" must be host:port/);
  assert.throws(() => loadConfig({ PORTHOLE_LOG_LEVEL: 'loud' }, dir), /must be one of debug, info, warn, error/);
  assert.throws(() => loadConfig({ PORTHOLE_PUBLIC_URL: 'nope' }, dir), /PORTHOLE_PUBLIC_URL "nope" is not a URL/);
  assert.throws(
    () => loadConfig({ PORTHOLE_PUBLIC_URL: 'http://desk.example:8443' }, dir),
    /PORTHOLE_PUBLIC_URL "http:\/\/desk.example:8443" must be an https URL: Porthole serves HTTPS only/,
  );
  assert.equal(loadConfig({ PORTHOLE_ALLOWED_ORIGINS: 'http://localhost:3000' }, dir).allowedOrigins.has('http://localhost:3000'), true);
  assert.throws(() => loadConfig({ PORTHOLE_TLS_CERT: 'a.pem' }, dir), /set both or neither/);
  assert.throws(() => loadConfig({ PORTHOLE_CONFIG: 'missing.yaml' }, dir), /cannot read PORTHOLE_CONFIG file/);
  writeFileSync(join(dir, 'long.yaml'), 'tokens: { ttlSeconds: 600 }');
  assert.throws(() => loadConfig({ PORTHOLE_CONFIG: 'long.yaml' }, dir), /at most 60/);
});

test('more than one worker needs shared state: refused at start with the reason; auto is one per core with Redis', () => {
  assert.equal(loadConfig({}, dir).workers, 1);
  assert.equal(loadConfig({ PORTHOLE_WORKERS: 'auto' }, dir).workers, 1, 'auto without Redis is one process');
  assert.throws(() => loadConfig({ PORTHOLE_WORKERS: '2' }, dir), /PORTHOLE_WORKERS=2 needs PORTHOLE_REDIS/);
  assert.throws(() => loadConfig({ PORTHOLE_WORKERS: 'many' }, dir), /PORTHOLE_WORKERS "many" must be a whole number/);
  const shared = loadConfig({ PORTHOLE_REDIS: 'redis://127.0.0.1:6379' }, dir);
  assert.equal(shared.workers, availableParallelism());
  assert.deepEqual(shared.redis, { url: 'redis://127.0.0.1:6379', prefix: 'porthole:' });
  assert.equal(loadConfig({ PORTHOLE_REDIS: 'redis://127.0.0.1:6379', PORTHOLE_WORKERS: '2' }, dir).workers, 2);
  assert.equal(
    loadConfig({ PORTHOLE_REDIS: 'redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/main' }, dir).redis?.url,
    'redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/main',
  );
  assert.throws(() => loadConfig({ PORTHOLE_REDIS: 'http://127.0.0.1' }, dir), /PORTHOLE_REDIS must be redis:\/\//);
  assert.throws(
    () => loadConfig({ PORTHOLE_REDIS: 'redis-sentinel://127.0.0.1:26379' }, dir),
    /redis-sentinel:\/\/ URL ends with \/MASTERNAME/,
  );
  assert.throws(
    () => loadConfig({ PORTHOLE_REDIS: 'redis://:secret@a,b/0' }, dir),
    (e: Error) => !e.message.includes('secret'),
  );
  assert.throws(() => loadConfig({ PORTHOLE_REDIS: 'redis://127.0.0.1', PORTHOLE_REDIS_PREFIX: 'a b' }, dir), /redis.prefix/);
  assert.deepEqual(loadConfig({ PORTHOLE_TRUSTED_PROXIES: '127.0.0.2, ::ffff:10.0.0.1' }, dir).trustedProxies, ['127.0.0.2', '10.0.0.1']);
  assert.throws(() => loadConfig({ PORTHOLE_TRUSTED_PROXIES: 'lb.example' }, dir), /not an IP address/);
});
