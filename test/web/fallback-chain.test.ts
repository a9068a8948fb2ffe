// The fallback chain's logic, unit-tested with stand-in connectors (pure logic: the real
// connectors are tested in Chromium by test/e2e). The browser module is bundled by esbuild, as
// web/build.ts does, and imported here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Attempt } from '../../contract/api/desktops.js';

// The browser module's shapes, as far as this test uses them (web/ is typed against the DOM,
// which the server's compilation does not load).
interface RemoteSession {
  protocol: string;
  focus(): void;
  sendCtrlAltDel(): void;
  scaleToWindow(fit: boolean): void;
  disconnect(): void;
  onClose(l: (r: string) => void): void;
}
interface Connector {
  protocol: string;
  label: string;
  prepare?(attempt: Attempt, signal: AbortSignal): Promise<void>;
  connect(attempt: Attempt, screen: unknown, signal: AbortSignal): Promise<RemoteSession>;
}
interface Fallback {
  protocol: string;
  reason: string;
}
interface Events {
  trying(c: Connector, i: number, n: number): void;
  failed(f: Fallback): void;
}
interface FallbackChainClass {
  new (
    connectors: Connector[],
    renew: (protocols: string[]) => Promise<Attempt[]>,
    timeoutMs?: number,
  ): {
    open(attempts: Attempt[], screen: unknown, events: Events): Promise<{ session: RemoteSession; fallbacks: Fallback[] }>;
  };
}
interface ChainFailedClass {
  new (...args: never[]): Error & { fallbacks: Fallback[] };
}

const SOURCE = fileURLToPath(new URL('../../../web/src/fallback-chain.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-chain-'));
let FallbackChain: FallbackChainClass;
let ChainFailed: ChainFailedClass;

before(async () => {
  const out = join(dir, 'fallback-chain.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  ({ FallbackChain, ChainFailed } = (await import(pathToFileURL(out).href)) as {
    FallbackChain: FallbackChainClass;
    ChainFailed: ChainFailedClass;
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const attempt = (protocol: string, token = `${protocol}-1`, expiresIn = 60): Attempt => ({
  protocol,
  url: `wss://x/ws/${protocol}`,
  token,
  expiresAt: inSeconds(expiresIn),
});
const screen = {};
const session = (protocol: string): RemoteSession => ({
  protocol,
  focus() {},
  sendCtrlAltDel() {},
  scaleToWindow() {},
  disconnect() {},
  onClose() {},
});

/** A stand-in connector: fails with `failure`, hangs (until aborted) when `hang`, else shows a picture. */
function connector(protocol: string, behaviour: { failure?: string; hang?: boolean } = {}) {
  const used: Attempt[] = [];
  const c: Connector & { used: Attempt[] } = {
    protocol,
    label: protocol.toUpperCase(),
    used,
    connect: (a, _screen, signal) => {
      used.push(a);
      if (behaviour.failure) return Promise.reject(new Error(behaviour.failure));
      if (behaviour.hang) return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
      return Promise.resolve(session(protocol));
    },
  };
  return c;
}
const quiet = { trying() {}, failed() {} };

test('the first protocol that shows a picture wins; each one before it is kept with its reason', async () => {
  const spice = connector('spice', { failure: 'the display closed the connection' });
  const vnc = connector('vnc');
  const rdp = connector('rdp');
  const failed: string[] = [];
  const chain = new FallbackChain([spice, vnc, rdp], () => Promise.reject(new Error('no renewal expected')));
  const result = await chain.open([attempt('spice'), attempt('vnc'), attempt('rdp')], screen, {
    trying() {},
    failed: (f: Fallback) => failed.push(f.protocol),
  });
  assert.equal(result.session.protocol, 'vnc');
  assert.deepEqual(result.fallbacks, [{ protocol: 'spice', reason: 'the display closed the connection' }]);
  assert.deepEqual(failed, ['spice']);
  assert.equal(rdp.used.length, 0, 'a later protocol is not tried once one works');
});

test('an attempt without a connector is skipped with a reason', async () => {
  const chain = new FallbackChain([connector('vnc')], () => Promise.reject(new Error('unused')));
  const result = await chain.open([attempt('carrier-pigeon'), attempt('vnc')], screen, quiet);
  assert.equal(result.session.protocol, 'vnc');
  assert.deepEqual(result.fallbacks, [{ protocol: 'carrier-pigeon', reason: 'this browser client does not support it yet' }]);
});

test('a token about to expire is renewed for the protocols left, and the fresh one is used', async () => {
  const spice = connector('spice', { failure: 'refused' });
  const vnc = connector('vnc');
  const asked: string[][] = [];
  const chain = new FallbackChain([spice, vnc], async (protocols) => {
    asked.push(protocols);
    return protocols.map((p) => attempt(p, `${p}-fresh`));
  });
  // VNC's token expires in one second: by its turn it must be renewed.
  const result = await chain.open([attempt('spice'), attempt('vnc', 'vnc-1', 1)], screen, quiet);
  assert.equal(result.session.protocol, 'vnc');
  assert.deepEqual(asked, [['vnc']]);
  assert.equal(vnc.used[0]!.token, 'vnc-fresh');
});

test('a renewal that no longer offers the protocol moves on to what it offers', async () => {
  const spice = connector('spice');
  const vnc = connector('vnc');
  const chain = new FallbackChain([spice, vnc], async () => [attempt('vnc', 'vnc-fresh')]);
  const result = await chain.open([attempt('spice', 'spice-1', 1), attempt('vnc', 'vnc-1', 1)], screen, quiet);
  assert.equal(result.session.protocol, 'vnc');
  assert.equal(spice.used.length, 0);
  assert.equal(vnc.used[0]!.token, 'vnc-fresh');
});

test('no picture within the first-frame timeout counts as a failure, and the attempt is torn down', async () => {
  const spice = connector('spice', { hang: true });
  const vnc = connector('vnc');
  const chain = new FallbackChain([spice, vnc], () => Promise.reject(new Error('unused')), 200);
  const result = await chain.open([attempt('spice'), attempt('vnc')], screen, quiet);
  assert.equal(result.session.protocol, 'vnc');
  assert.deepEqual(result.fallbacks, [{ protocol: 'spice', reason: 'no picture within 0 seconds' }]);
});

test('when every protocol fails, ChainFailed lists each with its reason', async () => {
  const chain = new FallbackChain([connector('spice', { failure: 'a' }), connector('vnc', { failure: 'b' })], () =>
    Promise.reject(new Error('unused')),
  );
  await assert.rejects(chain.open([attempt('spice'), attempt('vnc')], screen, quiet), (error: unknown) => {
    assert.ok(error instanceof ChainFailed);
    assert.deepEqual(error.fallbacks, [
      { protocol: 'spice', reason: 'a' },
      { protocol: 'vnc', reason: 'b' },
    ]);
    assert.equal(error.message, 'SPICE: a VNC: b');
    return true;
  });
});

test('a connector that asks the person first (RDP sign-in) and is cancelled falls back', async () => {
  const rdp = { ...connector('rdp'), prepare: () => Promise.reject(new Error('you cancelled the sign-in')) };
  const vnc = connector('vnc');
  const chain = new FallbackChain([rdp, vnc], () => Promise.reject(new Error('unused')));
  const result = await chain.open([attempt('rdp'), attempt('vnc')], screen, quiet);
  assert.equal(result.session.protocol, 'vnc');
  assert.deepEqual(result.fallbacks, [{ protocol: 'rdp', reason: 'you cancelled the sign-in' }]);
});
