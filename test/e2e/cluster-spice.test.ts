// One SPICE session whose channels arrive through different nodes: two Porthole nodes on one
// Redis behind HAProxy (TCP mode, round robin, PROXY protocol), a real guest under libvirtd, and
// Chromium's spice-html5 viewer on the balancer's address. Each channel's WebSocket is its own
// TCP connection, so the balancer hands them to A and B in turn; the channels a node did not
// open join the session through Redis (the joinable tokens and SPICE's session bindings). The
// picture shows, and what is typed reaches the guest's serial port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startHaProxy, type HaProxy } from '../bed/haproxy.js';
import { startLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { openDesktop, signInPage, typeAndExpect } from '../bed/person.js';
import { freePort } from '../bed/ports.js';
import { startRedis, type RedisServer } from '../bed/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-cluster-spice-'));
let libvirtd: Libvirtd;
let desktop: RunningDesktop;
let redis: RedisServer;
let nodes: RunningGateway[] = [];
let lb: HaProxy;
let browser: Browser;
let lbOrigin: string;

before(async () => {
  libvirtd = await startLibvirtd();
  desktop = await defineDesktop(libvirtd.uri, { name: 'cluster-desk-1', users: ['alice'] });
  redis = await startRedis();
  const lbPort = await freePort();
  lbOrigin = `https://localhost:${lbPort}`;
  const env = {
    PORTHOLE_REDIS: redis.url,
    PORTHOLE_WORKERS: '1',
    PORTHOLE_TRUSTED_PROXIES: '127.0.0.1',
    PORTHOLE_PUBLIC_URL: lbOrigin,
    PORTHOLE_ALLOWED_ORIGINS: lbOrigin,
  };
  const libvirt = `lab=${libvirtd.uri}`;
  const data = join(dir, 'data');
  nodes = [
    await startTestGateway({ libvirt, users: [{ name: 'alice', password: 'alice-cluster-spice-pw', role: 'user' }], dataDir: data, env }),
    await startTestGateway({ libvirt, users: [], dataDir: data, env }),
  ];
  lb = await startHaProxy(
    nodes.map((n) => n.port),
    lbPort,
  );
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await lb?.close();
  for (const n of nodes) await n.close();
  await redis?.close();
  await desktop?.destroy();
  await libvirtd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** SPICE channels a node opened to the display, by traffic kind (its metrics: connections it relayed). */
async function spiceChannels(node: RunningGateway): Promise<{ opened: number; kinds: string[] }> {
  const text = await node.metrics();
  const opened = Number(/porthole_proxy_connections_total\{protocol="spice",result="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
  const kinds = [...text.matchAll(/porthole_proxy_bytes_total\{protocol="spice",channel="([^"]+)",direction="to_client"\} (\d+)/g)]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => m[1]!);
  return { opened, kinds };
}

test("one SPICE session's channels arrive through both nodes, and the picture and the keyboard work", async () => {
  const page = await signInPage(browser, lbOrigin, 'alice', 'alice-cluster-spice-pw');
  const opened = await openDesktop(page, desktop.uuid);
  assert.equal(opened.state, 'connected', JSON.stringify(opened.fallbacks));
  assert.equal(opened.protocol, 'spice', JSON.stringify(opened.fallbacks));
  await typeAndExpect(page, desktop.serial);
  await page.screenshot({ path: join(SCREENSHOTS, 'cluster-spice.png') });
  const [a, b] = [await spiceChannels(nodes[0]!), await spiceChannels(nodes[1]!)];
  assert.ok(a.opened >= 1 && b.opened >= 1, `channels through A: ${a.opened}, through B: ${b.opened}`);
  assert.ok(a.opened + b.opened >= 3, `${a.opened + b.opened} channels in all`);
  const kinds = new Set([...a.kinds, ...b.kinds]);
  for (const kind of ['spice.main', 'spice.display']) assert.ok(kinds.has(kind), `${kind} carried (${[...kinds].join(', ')})`);
  console.log(`# SPICE channels through A: ${a.opened} (${a.kinds.join(', ')}), through B: ${b.opened} (${b.kinds.join(', ')})`);
});
