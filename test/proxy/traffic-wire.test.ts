// 802.1p and DSCP on real frames. This machine's kernel has no VLAN support, so the scenario runs
// on Debian's stock kernel under QEMU (test/bed/debian-kernel-vm.ts): Porthole in a network
// namespace between a browser-side VLAN and a hypervisor-side VLAN whose egress-qos-map turns
// socket priority n into PCP n, real QEMU SPICE and VNC displays behind it, and tcpdump on the
// peers' veth ends (test/bed/vlan-wire.ts). Every frame Porthole sends on either leg is checked:
// its 802.1Q tag, its PCP and its DSCP, per SPICE channel and for VNC.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { runOnDebianKernel } from '../bed/debian-kernel-vm.js';
import type { WireKind, WireObservation } from '../bed/vlan-wire.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const share = mkdtempSync(join(tmpdir(), 'porthole-vlan-'));
after(() => rmSync(share, { recursive: true, force: true }));

/** The defaults (README, Traffic priorities): PCP/DSCP, the same on both legs. */
const EXPECTED: Record<WireKind, string> = {
  'spice-main': '4/18', // AF21
  'spice-display': '5/34', // AF41
  'spice-inputs': '6/32', // CS4
  'spice-cursor': '5/34',
  vnc: '5/34',
};

test(
  'each SPICE channel and the VNC connection carry their 802.1p PCP and DSCP on both legs, on tagged frames',
  { timeout: 600_000 },
  async () => {
    const started = Date.now();
    const run = await runOnDebianKernel(share, `${process.execPath} dist/test/bed/vlan-wire.js ${share}`, {
      cwd: REPO,
      timeoutMs: 480_000,
    });
    assert.equal(run.status, 0, `the wire scenario failed inside the Debian kernel machine:\n${run.output}`);
    const seen = JSON.parse(readFileSync(join(share, 'wire.json'), 'utf8')) as WireObservation;
    console.log(`# 802.1p wire test on Debian's kernel: ${((Date.now() - started) / 1000).toFixed(1)} s, VM boot included`);

    assert.deepEqual(seen.vlans, { browser: [10], hypervisor: [20] }, "every frame Porthole sent is on its leg's VLAN");
    assert.equal(seen.untagged, 0);
    for (const leg of ['browser', 'hypervisor'] as const) {
      const connections = seen.connections.filter((c) => c.leg === leg);
      assert.deepEqual(connections.map((c) => c.kind).sort(), Object.keys(EXPECTED).sort(), `${leg} leg: one connection per kind`);
      const rows: string[] = [];
      for (const c of connections) {
        // Browser side: frames before Porthole knows the connection's kind (the SYN answer, the TLS
        // handshake, the upgrade answer, a SPICE link reply's way back) go out unmarked: PCP 0, DSCP 0.
        // Hypervisor side: Porthole knows the kind before it connects, so even the SYN is marked.
        const marked = Object.keys(c.marks).filter((m) => m !== '0/0');
        rows.push(
          `${c.kind} ${marked.join(',')} (${c.marks[EXPECTED[c.kind]] ?? 0} frames, ${c.marks['0/0'] ?? 0} before the kind was known)`,
        );
        // Browser side, one frame may fall between the two setsockopt calls of the marking: Linux
        // derives a priority from IP_TOS when it is set, before SO_PRIORITY sets the class's own,
        // so a frame the kernel sends just then (an ACK) has the right DSCP and another PCP.
        const expected = EXPECTED[c.kind]!;
        const transitional = marked.filter((m) => m !== expected);
        const tolerated = leg === 'browser' && transitional.every((m) => m.split('/')[1] === expected.split('/')[1] && c.marks[m] === 1);
        assert.ok(
          marked.includes(expected) && (transitional.length === 0 || tolerated),
          `${leg} leg, ${c.kind}: frames by PCP/DSCP ${JSON.stringify(c.marks)}, expected ${expected}`,
        );
        if (leg === 'hypervisor') assert.equal(c.marks['0/0'], undefined, `hypervisor leg, ${c.kind}: unmarked frames`);
      }
      console.log(`# PCP/DSCP, ${leg}-side leg: ${rows.join('; ')}`);
    }
  },
);
