// The compose file and the Dockerfile say what the README says they do: one node by default,
// two nodes behind HAProxy with Redis in the `cluster` profile, read-only roots with
// PORTHOLE_DATA on a volume, the base image a build argument whose default is the public one;
// and HAProxy accepts its configuration (the real haproxy, `-c`). image.test.ts builds and runs
// the image itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Service {
  build?: { context: string; args: Record<string, string> };
  image?: string;
  profiles?: string[];
  read_only?: boolean;
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}

const compose = YAML.parse(readFileSync(`${ROOT}compose.yaml`, 'utf8'), { merge: true }) as { services: Record<string, Service> };

test('compose: the gateway alone by default; two nodes, Redis and HAProxy in the cluster profile', () => {
  const byDefault = Object.entries(compose.services).filter(([, s]) => !s.profiles);
  assert.deepEqual(
    byDefault.map(([name]) => name),
    ['porthole'],
  );
  const cluster = Object.entries(compose.services)
    .filter(([, s]) => s.profiles?.includes('cluster'))
    .map(([name]) => name);
  assert.deepEqual(cluster.sort(), ['haproxy', 'node-1', 'node-2', 'redis']);
  for (const name of ['porthole', 'node-1', 'node-2']) {
    const s = compose.services[name]!;
    assert.equal(s.build?.context, '.');
    assert.match(s.build!.args.BASE!, /^\$\{PORTHOLE_BASE:-docker\.io\/library\/debian:bookworm-slim\}$/);
    assert.equal(s.read_only, true, `${name} runs with a read-only root`);
    assert.ok(s.volumes?.includes('porthole-data:/var/lib/porthole'), `${name} keeps PORTHOLE_DATA on a volume`);
  }
  for (const node of ['node-1', 'node-2']) assert.equal(compose.services[node]!.environment?.PORTHOLE_REDIS, 'redis://redis:6379');
  assert.equal(compose.services.porthole!.environment?.PORTHOLE_REDIS, undefined, 'one node needs no Redis');
  assert.ok(compose.services.porthole!.ports?.includes('127.0.0.1:9464:9464'), 'metrics published to loopback only');
});

test('HAProxy accepts the cluster configuration and checks /healthz', async () => {
  const config = readFileSync(`${ROOT}deploy/haproxy.cfg`, 'utf8');
  assert.match(config, /option httpchk GET \/healthz/);
  // Valid even where node-1 and node-2 do not resolve (they do inside compose's network).
  const { stdout, stderr } = await promisify(execFile)('haproxy', ['-c', '-f', `${ROOT}deploy/haproxy.cfg`]);
  assert.match(stdout + stderr, /Configuration file is valid/);
});

test('the Dockerfile: FROM a BASE argument defaulting to the public Debian image, not root, data on a volume, a health check', () => {
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  assert.match(dockerfile, /^ARG BASE=docker\.io\/library\/debian:bookworm-slim$/m);
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 2 && froms.every((f) => f === '${BASE}'), `every stage starts from BASE: ${froms.join(', ')}`);
  const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(users, ['porthole']);
  assert.match(dockerfile, /^VOLUME \["\/var\/lib\/porthole"\]$/m);
  assert.match(dockerfile, /^HEALTHCHECK [\s\S]*\/healthz/m);
  assert.match(dockerfile, /NODE_INTEGRITY=sha512-/);
});
