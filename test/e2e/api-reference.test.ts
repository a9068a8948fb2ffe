// The API reference (/api/docs, Swagger UI rendering /api/openapi.json) in Chromium, under the
// site's strict CSP: it renders without a single CSP refusal or script error, and every route of
// the contract is on it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { CONTENT_SECURITY_POLICY } from '../../gateway/http/security-headers.js';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { watchPageErrors } from '../bed/page-errors.js';
import { writeTestDriver } from '../bed/test-driver.js';

/** Every HTTP route of the contract (../shared/contract.md, "HTTP API"), as OpenAPI writes paths. */
const CONTRACT_ROUTES = [
  'POST /api/login',
  'GET /api/login/oidc',
  'GET /api/login/oidc/callback',
  'GET /api/me',
  'POST /api/logout',
  'GET /api/desktops',
  'POST /api/desktops/{id}/connect',
  'POST /api/desktops/{id}/start',
  'POST /api/desktops/{id}/reboot',
  'POST /api/desktops/{id}/shutdown',
  'GET /api/sessions',
  'DELETE /api/sessions/{id}',
  'POST /api/sessions/{id}/shadow',
  'GET /api/shadow/{requestId}',
  'POST /api/shadow/{requestId}/answer',
  'DELETE /api/shadow/{requestId}',
  'GET /api/audit',
  'GET /healthz',
];

const dir = mkdtempSync(join(tmpdir(), 'porthole-api-reference-'));
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  gw = await startTestGateway({
    libvirt: `lab=${writeTestDriver(join(dir, 'lab.xml'), [])}`,
    users: [{ name: 'ada', password: 'ada-password', role: 'admin' }],
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the API reference renders every contract route under the strict CSP', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1366, height: 768 });
  const errors = watchPageErrors(page);
  const response = await page.goto(`${gw.origin}/api/docs`, { waitUntil: 'networkidle0' });
  // It may redirect to its static index; whichever page it lands on keeps the site's policy.
  assert.equal(response?.status(), 200);
  assert.equal(response.headers()['content-security-policy'], CONTENT_SECURITY_POLICY);
  await page.waitForSelector('.opblock', { timeout: 30_000 });
  const shown = (await page.evaluate(
    `[...document.querySelectorAll('.opblock-summary')].map((s) => s.querySelector('.opblock-summary-method').textContent + ' ' + s.querySelector('[data-path]').getAttribute('data-path'))`,
  )) as string[];
  const missing = CONTRACT_ROUTES.filter((r) => !shown.includes(r));
  assert.deepEqual(missing, [], `missing from the reference: ${missing.join(', ')}; shown: ${shown.join(', ')}`);
  assert.ok(shown.includes('GET /api/users') && shown.includes('GET /api/hypervisors'), 'the admin console routes are described too');
  assert.deepEqual(
    shown.filter((r) => /\/api\/docs|openapi\.json/.test(r)),
    [],
    'the reference page and the document are not API routes',
  );
  await page.screenshot({ path: join(SCREENSHOTS, 'api-reference-1366x768.png') });
  assert.deepEqual(errors.list(), [], 'no CSP refusal or script error');
  await page.browserContext().close();
});
