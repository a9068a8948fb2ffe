// Marking real sockets: what the kernel reports back after marking, over IPv4 and IPv6.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { TrafficMarker } from '../../proxy/qos/socket-marking.js';

async function pair(host: string): Promise<{ client: Socket; close: () => void }> {
  const server = createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const client = connect((server.address() as AddressInfo).port, host);
  await new Promise((r) => client.once('connect', r));
  return {
    client,
    close: () => {
      client.destroy();
      server.close();
    },
  };
}

test('a marked socket carries the priority and DSCP, over IPv4 and IPv6', async (t) => {
  const marker = new TrafficMarker(pino({ level: 'silent' }));
  for (const host of ['127.0.0.1', '::1']) {
    const { client, close } = await pair(host);
    t.after(close);
    assert.deepEqual(TrafficMarker.read(client), { priority: 0, dscp: 0 });
    assert.equal(marker.mark(client, { priority: 5, dscp: 34 }), true);
    // Priority after DSCP: on Linux, setting IP_TOS rewrites the priority, so the order matters.
    assert.deepEqual(TrafficMarker.read(client), { priority: 5, dscp: 34 }, host);
  }
});

test('a socket that cannot be marked is reported once and nothing throws', async () => {
  const lines: string[] = [];
  const marker = new TrafficMarker(
    pino(
      { level: 'warn' },
      new Writable({
        write(c, _e, done) {
          lines.push(String(c));
          done();
        },
      }),
    ),
  );
  const { client, close } = await pair('127.0.0.1');
  close();
  await new Promise((r) => client.once('close', r));
  assert.equal(marker.mark(client, { priority: 5, dscp: 34 }), false);
  assert.equal(marker.mark(client, { priority: 5, dscp: 34 }), false);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /traffic marking is not applied: .*logged once/);
});
