// The Grafana dashboard and the Prometheus alert rules shipped in deploy/ use only metrics that
// a running Porthole really exposes on its metrics listener.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-monitoring-'));
let gw: RunningGateway;
let exposed: Set<string>;

before(async () => {
  const uri = writeTestDriver(join(dir, 'node.xml'), [{ name: 'd', uuid: '55555555-0000-4000-8000-000000000001', users: ['alice'] }]);
  gw = await startTestGateway({ libvirt: `lab=${uri}`, users: [{ name: 'alice', password: 'alice-password', role: 'user' }] });
  const cookie = await gw.signIn('alice', 'alice-password');
  await gw.api('GET', '/api/desktops', { cookie }); // a libvirt call
  const text = await gw.metrics();
  exposed = new Set(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [name!, `${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!],
    ),
  );
});
after(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Metric names in a PromQL expression (Prometheus' own `up` aside). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:porthole|process|nodejs)_[a-z_]+)\b/g)].map((m) => m[1]!);
}

test('the metrics listener exposes the service metrics the issue names', () => {
  for (const name of [
    'porthole_sign_ins_total',
    'porthole_tokens_issued_total',
    'porthole_sign_in_lockouts_total',
    'porthole_libvirt_call_seconds',
    'porthole_active_sessions',
    'porthole_draining',
    'porthole_proxy_connections_total',
    'porthole_proxy_bytes_total',
  ]) {
    assert.ok(exposed.has(name), `${name} is not exposed`);
  }
});

test('every metric of the Grafana dashboard exists', () => {
  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  assert.ok(dashboard.panels.length >= 8);
  const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr)));
  assert.ok(used.length >= dashboard.panels.length);
  assert.deepEqual(
    used.filter((m) => !exposed.has(m)),
    [],
  );
});

test('every alert rule is well formed and uses metrics that exist', () => {
  const rules = YAML.parse(readFileSync(join(DEPLOY, 'prometheus-alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: { summary: string } }> }>;
  };
  const all = rules.groups.flatMap((g) => g.rules);
  assert.ok(all.length >= 5);
  for (const rule of all) {
    assert.match(rule.alert, /^Porthole[A-Z]\w+$/);
    assert.ok(rule.annotations.summary.length > 10, `${rule.alert} needs a summary`);
  }
  assert.deepEqual(
    all.flatMap((r) => metricsIn(r.expr)).filter((m) => !exposed.has(m)),
    [],
  );
});
