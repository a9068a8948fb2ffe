// The protocol registry and the descriptors in it: what the gateway, the inventory, the proxy
// and the web client read instead of lists of their own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolRegistry, bothLegs, type ProtocolDescriptor } from '../../contract/protocol.js';
import { PROTOCOLS } from '../../serve/protocols.js';

test('the server carries SPICE, VNC and RDP, in that fallback order, each with its own path', () => {
  assert.deepEqual(PROTOCOLS.ids, ['spice', 'vnc', 'rdp']);
  assert.deepEqual(
    PROTOCOLS.descriptors.map((d) => d.path),
    ['/ws/spice', '/ws/vnc', '/ws/rdp'],
  );
  assert.equal(PROTOCOLS.label('spice'), 'SPICE');
  assert.equal(PROTOCOLS.label('unknown'), 'UNKNOWN');
  assert.equal(PROTOCOLS.has('vnc'), true);
  assert.equal(PROTOCOLS.has('telnet'), false);
  assert.equal(PROTOCOLS.has(7), false);
});

test('every descriptor is consistent: its first traffic kind is one of its own, kinds are named after it, classes are valid', () => {
  for (const d of PROTOCOLS.descriptors) {
    if (d.traffic.initial)
      assert.ok(d.traffic.kinds[d.traffic.initial], `${d.id}: initial kind ${d.traffic.initial} is not among its kinds`);
    for (const [kind, legs] of Object.entries(d.traffic.kinds)) {
      assert.ok(kind === d.id || kind.startsWith(`${d.id}.`), `${d.id}: kind ${kind} is not named after the protocol`);
      for (const c of [legs.client, legs.display]) assert.ok(c.priority >= 0 && c.priority <= 7 && c.dscp >= 0 && c.dscp <= 63);
    }
    assert.equal(d.path, `/ws/${d.id}`);
  }
  // The one protocol helpdesk watchers use must let the proxy enforce view-only.
  const watching = PROTOCOLS.descriptors.filter((d) => d.watching);
  assert.deepEqual(
    watching.map((d) => d.id),
    ['vnc'],
  );
  assert.equal(watching[0]!.viewOnly, true);
});

test('traffic kinds of all protocols together, with RFC 4594 defaults: input above pictures above control', () => {
  const kinds = PROTOCOLS.trafficKinds();
  assert.equal(Object.keys(kinds).length, 10);
  assert.deepEqual(kinds['spice.inputs'], bothLegs(6, 32));
  assert.deepEqual(kinds['spice.display'], bothLegs(5, 34));
  assert.deepEqual(kinds['spice.main'], bothLegs(4, 18));
  assert.deepEqual(kinds.rdp, bothLegs(5, 34));
});

test('two descriptors with one id are refused', () => {
  const d: ProtocolDescriptor = { ...PROTOCOLS.get('vnc')!, label: 'Other VNC' };
  assert.throws(() => new ProtocolRegistry([PROTOCOLS.get('vnc')!, d]), /share an id/);
});
