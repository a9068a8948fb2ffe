// "A running desktop" for end-to-end tests: libvirtd with one persistent desktop running the
// test guest (hypervisor `lab`), optionally a second hypervisor (libvirt's test driver, `spare`)
// describing more desktops around the same guest's displays, the gateway with its users, and
// Chromium. close() stops all of it, in reverse order.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { launchChromium } from './chromium.js';
import { defineDesktop, type DesktopSpec, type RunningDesktop } from './desktop.js';
import { startTestGateway, type RunningGateway, type TestUser } from './gateway.js';
import { startLibvirtd, type Libvirtd } from './libvirtd.js';
import { startSlowLine, type SlowLine, type SlowLineOptions } from './slow-line.js';
import { writeTestDriver, type TestDomain } from './test-driver.js';

export const SCREENSHOTS = process.env.PORTHOLE_SCREENSHOTS ?? join(tmpdir(), 'porthole-screenshots');
// Made as soon as a test names it: tests that take screenshots without a desktop bed need it too.
mkdirSync(SCREENSHOTS, { recursive: true });

export interface DesktopBed {
  libvirtd: Libvirtd;
  desktop: RunningDesktop;
  gw: RunningGateway;
  browser: Browser;
  /** The slow line the browser reaches the gateway through, when one was asked for. */
  line?: SlowLine;
  close(): Promise<void>;
}

export async function startDesktopBed(options: {
  desktop: DesktopSpec;
  users: TestUser[];
  /** Desktops for the `spare` test-driver hypervisor, given the running one (e.g. its VNC port). */
  spare?: (desktop: RunningDesktop) => Promise<TestDomain[]> | TestDomain[];
  /** Put the browser behind a slow line (rate and one-way delay) to the gateway. */
  line?: Omit<SlowLineOptions, 'targetPort'>;
}): Promise<DesktopBed> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-e2e-'));
  const started: Partial<DesktopBed> = {};
  const close = async () => {
    await started.browser?.close();
    await started.line?.close();
    await started.gw?.close();
    await started.desktop?.destroy();
    await started.libvirtd?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    started.libvirtd = await startLibvirtd();
    started.desktop = await defineDesktop(started.libvirtd.uri, options.desktop);
    let libvirt = `lab=${started.libvirtd.uri}`;
    if (options.spare) libvirt += `,spare=${writeTestDriver(join(dir, 'spare.xml'), await options.spare(started.desktop))}`;
    started.gw = await startTestGateway({ libvirt, users: options.users });
    if (options.line) started.line = await startSlowLine({ ...options.line, targetPort: started.gw.port });
    started.browser = await launchChromium(started.line ? [`--host-rules=${started.line.hostRule}`] : []);
    return { ...(started as Omit<DesktopBed, 'close'>), close };
  } catch (error) {
    await close();
    throw error;
  }
}
