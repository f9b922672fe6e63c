import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { adminToken, api } from '../support/api';
import {
  axeViolations,
  launchBrowser,
  navigateTo,
  openConsole,
  screenshot,
  scrollsSideways,
  signIn,
  url,
} from '../support/browser';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { png } from '../support/images';
import { runJob } from '../support/jobs';
import { eventually } from '../support/sqs';

// The web console end to end in real headless Chromium against the local stack.

const HOSTILE = '<img src=x onerror=window.__pwned=1>';
const measurements: Record<string, unknown> = {};

async function expectCleanPage(page: Page, problems: string[], name: string): Promise<void> {
  expect({ name, violations: await axeViolations(page) }).toEqual({ name, violations: [] });
  expect({ name, problems }).toEqual({ name, problems: [] });
  // Hostile strings are text: nothing of theirs ever ran or became an element.
  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  expect(await page.locator('img[src="x"]').count()).toBe(0);
}

async function sendReadings(device: TestDevice, count: number): Promise<void> {
  const readings = Array.from({ length: count }, (_, index) => ({
    data: {
      relative_time: index * 1000,
      interrogator_time: String(1_700_000_000_000_000 + index * 1_000_000),
      freeform: { rssi: -40 - index, note: HOSTILE },
    },
  }));
  const response = await api('PUT', '/api/iot', { token: device.token, body: readings });
  expect(response.status).toBe(202);
  await eventually(
    async () => {
      const stored = await api<{ data: unknown[] }>('POST', '/api/iot', { token: device.token });
      if (stored.body.data?.length !== count) throw new Error(`stored: ${stored.text.slice(0, 100)}`);
    },
    { timeoutMs: 30_000 },
  );
}

describe('web console in headless Chromium', () => {
  let browser: Browser;
  let device: TestDevice;
  let hostileDevice: { deviceId: string; token: string };

  beforeAll(async () => {
    // Warm the functions the pages call (as global-setup warms the authorizer): a function's first
    // invocation compiles its TypeScript in a fresh worker, which on a busy machine can outlast the
    // 10 s timeout. One at a time, answers ignored.
    for (const [method, route, body] of [
      ['GET', '/api/stats?minutes=60'],
      ['GET', '/api/images?limit=1'],
      ['POST', '/api/images', {}], // invalid (400): loads the function without claiming a key
      ['GET', '/api/images/warm-up-missing'],
      ['GET', '/api/images/warm-up-missing/content?size=128'],
      ['GET', '/api/image-cache'],
      ['GET', '/api/audit?limit=1'],
      ['GET', '/api/provisioning-keys?limit=1'],
      ['POST', '/api/devices/warm-up-missing/iot'],
    ] as const)
      await api(method, route, { token: adminToken(), body });
    browser = await launchBrowser();
    device = await registerTestDevice(HOSTILE);
    await sendReadings(device, 30);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    writeFileSync(
      path.resolve('.local/test/console-measurements.json'),
      JSON.stringify(measurements, null, 2),
    );
    console.log(`console measurements: ${JSON.stringify(measurements)}`);
  });

  it('serves the console with a strict CSP and keeps the token in sessionStorage only', async () => {
    const response = await fetch(url('/devices'), { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    // An API client asking for JSON still gets the API's answer at the same path.
    expect((await fetch(url('/'))).headers.get('content-type')).toMatch(/json/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // Unknown paths still get the API's JSON 404.
    expect(
      (await fetch(url('/no-such-page'), { headers: { accept: 'text/html' } })).headers.get('content-type'),
    ).toMatch(/json/);

    const { page, problems } = await openConsole(browser);
    const started = Date.now();
    await page.goto(url('/'));
    await page.getByLabel('Token').waitFor();
    measurements.firstViewMs = Date.now() - started;
    measurements.firstViewNavigationMs = await page.evaluate(
      "Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)",
    );
    measurements.initialJsGzipBytes = JSON.parse(process.env.SENSORCLOUD_CONSOLE_GZIP_BYTES ?? '{}');
    // Again with the assets in the browser's cache (hashed names are immutable).
    const reloaded = Date.now();
    await page.reload();
    await page.getByLabel('Token').waitFor();
    measurements.reloadViewMs = Date.now() - reloaded;
    await expectCleanPage(page, problems, 'sign-in');
    await screenshot(page, 'signin');

    // A wrong token is a readable message.
    await page.getByLabel('Token').fill('adm_not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    problems.length = 0; // the refused sign-in's 401 is logged by the browser itself

    await signIn(page, adminToken());
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const storage = (await page.evaluate(
      '({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), href: location.href })',
    )) as { local: string; session: string; href: string };
    expect(storage.local).not.toContain(adminToken());
    expect(storage.session).toContain(adminToken());
    expect(storage.href).not.toContain(adminToken());

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.evaluate('JSON.stringify(sessionStorage)')).not.toContain(adminToken());
    await page.context().close();
  });

  it('admin: registers a device, sees it as text, rotates its token; history and reload work', async () => {
    const { page, problems } = await openConsole(browser);
    await signIn(page, adminToken());
    await navigateTo(page, 'Devices', 'Devices');
    await page.getByLabel('Name (optional)').fill(`console ${HOSTILE}`);
    await page.getByRole('button', { name: 'Register' }).click();
    const tokenField = page.getByRole('textbox', { name: 'Device token' });
    await tokenField.waitFor();
    const token = await tokenField.inputValue();
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}$/);
    hostileDevice = { deviceId: token.split('.')[0] as string, token };
    await expectCleanPage(page, problems, 'devices');
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(tokenField.count()).resolves.toBe(0);
    // The hostile name is shown literally in the list.
    await page
      .getByRole('cell', { name: `console ${HOSTILE}` })
      .first()
      .waitFor();
    await page.getByLabel('Filter by id, name or status').fill(hostileDevice.deviceId);
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await screenshot(page, 'devices');

    await page.getByRole('link', { name: hostileDevice.deviceId }).click();
    await page.getByRole('heading', { level: 1, name: /Device/ }).waitFor();
    expect(page.url()).toContain(`/devices/${hostileDevice.deviceId}`);
    await page.getByRole('button', { name: 'Rotate token' }).click();
    const rotated = await page.getByRole('textbox', { name: 'Device token' }).inputValue();
    expect(rotated).not.toBe(token);
    expect((await api('GET', '/api/stats', { token })).status).toBe(401);
    hostileDevice.token = rotated;
    await expectCleanPage(page, problems, 'device');
    // The screenshot shows no token: "Done" hides it for good.
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.getByRole('textbox', { name: 'Device token' }).count()).resolves.toBe(0);
    await screenshot(page, 'device');

    // Back, forward and reload keep the page.
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    await page.goForward();
    await page.getByRole('heading', { level: 1, name: /Device/ }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: /Device/ }).waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('admin: creates a provisioning key shown once, a device exchanges it, the list counts it, revokes it', async () => {
    const { page, problems } = await openConsole(browser);
    await signIn(page, adminToken());
    await navigateTo(page, 'Provisioning', 'Provisioning keys');
    await page.getByLabel('Name').fill(`console ${HOSTILE}`);
    await page.getByLabel('Devices it may create').fill('2');
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyField = page.getByRole('textbox', { name: 'Provisioning key' });
    await keyField.waitFor();
    const key = await keyField.inputValue();
    expect(key).toMatch(/^pk_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    const keyId = key.split('.')[0] as string;
    await expectCleanPage(page, problems, 'provisioning');
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(keyField.count()).resolves.toBe(0);
    // A device exchanges it (from an address of its own: failures are counted per address).
    const exchanged = await api('POST', '/api/provision', { token: key, sourceIp: '127.0.3.1' });
    expect(exchanged.status).toBe(201);
    await page.reload();
    const row = page.locator('tr', { has: page.getByRole('cell', { name: keyId }) });
    await row.getByRole('cell', { name: '1 of 2' }).waitFor();
    await row.getByRole('cell', { name: `console ${HOSTILE}`, exact: true }).waitFor();
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.getByText(`Revoked ${keyId}.`).waitFor();
    await row.getByText('revoked', { exact: true }).waitFor();
    expect((await api('POST', '/api/provision', { token: key, sourceIp: '127.0.3.1' })).status).toBe(403);
    await expectCleanPage(page, problems, 'provisioning keys');
    await screenshot(page, 'provisioning');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('admin: readings sent through the API appear in the table and the chart; CSV export', async () => {
    const { page, problems } = await openConsole(browser);
    await signIn(page, adminToken());
    await navigateTo(page, 'Readings', 'Readings explorer');
    await page.getByLabel('Device').fill(device.deviceId);
    await page.getByLabel('Time window').selectOption('all');
    await page.getByRole('button', { name: 'Show readings' }).click();
    await page.getByText('30 reading(s) shown').waitFor();
    await expect(page.locator('table.readings tbody tr').count()).resolves.toBe(30);
    // Freeform values are text, hostile ones too.
    await page.locator('td.freeform').filter({ hasText: HOSTILE }).first().waitFor();
    await expect(page.getByLabel('Chart field').inputValue()).resolves.toBe('rssi');
    await page.getByRole('img', { name: 'rssi over time: 30 points' }).waitFor();
    await expect(page.locator('.chart canvas').count()).resolves.toBe(1);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csv.trim().split('\r\n')).toHaveLength(31);
    expect(csv).toContain('""rssi"":-40');
    await expectCleanPage(page, problems, 'readings');
    await screenshot(page, 'readings');
    expect(page.url()).toContain(`device=${device.deviceId}`);
    await page.context().close();
  });

  it('measures the chart with 100,000 points (reported, not asserted)', async () => {
    const { page } = await openConsole(browser);
    await signIn(page, adminToken());
    // 100,000 synthetic rows in 20 pages of 5,000, answered in the browser: this measures drawing.
    await page.route('**/api/devices/bench-device/iot**', async (route) => {
      const cursor = Number(new URL(route.request().url()).searchParams.get('cursor') ?? 0);
      const data = Array.from({ length: 5000 }, (_, index) => {
        const n = cursor * 5000 + index;
        return {
          id: `r${n}`,
          absolute_timestamp: '2026-11-30 00:00:00',
          relative_timestamp: n,
          interrogator_timestamp: 1_700_000_000_000_000 + n * 1_000_000,
          freeform: { value: Math.sin(n / 500) * 50 + (n % 7) },
        };
      });
      await route.fulfill({ json: cursor < 19 ? { data, next: String(cursor + 1) } : { data } });
    });
    await page.goto(url('/readings?device=bench-device'));
    await page.getByLabel('Time window').selectOption('all');
    await page.getByRole('button', { name: 'Show readings' }).click();
    for (let loaded = 5000; loaded < 100_000; loaded += 5000) {
      await page.getByText(`${loaded.toLocaleString('en-US')} reading(s) shown`).waitFor();
      await page.getByRole('button', { name: 'Load more' }).click();
    }
    await page.getByRole('img', { name: 'value over time: 100,000 points' }).waitFor();
    const frames: number[] = [];
    for (const width of [1200, 1000, 1240, 1100, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(200);
      frames.push(Number(await page.locator('.chart [data-draw-ms]').getAttribute('data-draw-ms')));
    }
    measurements.chartFrameMs100k = frames;
    await page.context().close();
  }, 120_000);

  it('images: uploads several files with progress, shows thumbnails and labels, searches, deletes', async () => {
    const { page, problems } = await openConsole(browser);
    await signIn(page, adminToken());
    await navigateTo(page, 'Images', 'Images');
    const stamp = Date.now().toString(36);
    const files = [
      { name: `red-${stamp}.png`, mimeType: 'image/png', buffer: await png(320, 240, { main: '#d02020' }) },
      { name: `blue-${stamp}.png`, mimeType: 'image/png', buffer: await png(240, 320, { main: '#2040d0' }) },
    ];
    await page.getByLabel('Choose files').setInputFiles(files);
    await page
      .getByRole('list', { name: 'Uploads' })
      .getByText('uploaded')
      .nth(1)
      .waitFor({ timeout: 60_000 });
    // Drag and drop of a third file onto the drop zone.
    const dropped = await png(200, 200, { main: '#20a040' });
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${dropped.toString('base64')}'), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'green-${stamp}.png', { type: 'image/png' }));
      document.querySelector('.dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await page
      .getByRole('list', { name: 'Uploads' })
      .getByText('uploaded')
      .nth(2)
      .waitFor({ timeout: 60_000 });
    // Thumbnails appear once processed (the gallery refreshes while images are pending).
    try {
      for (const name of [`red-${stamp}.png`, `blue-${stamp}.png`, `green-${stamp}.png`])
        await page.getByRole('link', { name }).locator('img[src^="blob:"]').waitFor({ timeout: 60_000 });
    } catch (error) {
      await screenshot(page, 'failed-images');
      throw error;
    }
    await expectCleanPage(page, problems, 'images');
    await screenshot(page, 'images');

    await page.getByRole('link', { name: `red-${stamp}.png` }).click();
    await page.getByRole('heading', { level: 1, name: /Image/ }).waitFor();
    await page.getByRole('link', { name: 'red' }).waitFor();
    await page.locator('.detail img[src^="blob:"]').waitFor();
    await expectCleanPage(page, problems, 'image');
    await screenshot(page, 'image');

    await page.getByRole('link', { name: 'red' }).click();
    await page.getByRole('heading', { level: 2, name: 'Images labelled “red”' }).waitFor();
    await page.getByRole('link', { name: `red-${stamp}.png` }).waitFor();
    await expect(page.getByRole('link', { name: `blue-${stamp}.png` }).count()).resolves.toBe(0);

    await page.getByRole('link', { name: `green-${stamp}.png` }).waitFor({ state: 'detached' });
    await page.goto(url(`/images/${encodeURIComponent(`blue-${stamp}.png`)}`));
    await page.getByRole('button', { name: 'Delete image' }).click();
    await page.getByRole('heading', { level: 1, name: 'Images' }).waitFor();
    await page.getByRole('link', { name: `red-${stamp}.png` }).waitFor();
    await expect(page.getByRole('link', { name: `blue-${stamp}.png` }).count()).resolves.toBe(0);
    expect((await api('GET', `/api/images/blue-${stamp}.png`, { token: adminToken() })).status).toBe(404);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('image cache: changes settings and sees the statistics move', async () => {
    const { page, problems } = await openConsole(browser);
    await signIn(page, adminToken());
    await navigateTo(page, 'Image cache', 'Image cache');
    await page.getByLabel('Capacity (MB)').fill('32');
    await page.getByLabel('Replacement policy').selectOption('random');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved: running containers').waitFor();
    const settings = await api<{ capacityMb: number; policy: string }>('GET', '/api/image-cache', {
      token: adminToken(),
    });
    expect(settings.body).toMatchObject({ capacityMb: 32, policy: 'random' });
    // Traffic through the cache: one image's page viewed again and again, one content request at a
    // time (concurrent requests land in different workers, each with its own cache, as Lambda
    // containers do), 2 s apart so every worker writes its counters. The browser's own cache is off,
    // so every view reaches the server's.
    const key = `cache-view-${Date.now().toString(36)}`;
    const put = await api('PUT', `/api/images/${key}`, {
      token: adminToken(),
      rawBody: await png(300, 200),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(202);
    const devtools = await page.context().newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(url(`/images/${key}`));
    for (let view = 0; view < 5; view += 1) {
      await page.locator('.detail img[src^="blob:"]').waitFor({ timeout: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      await page.reload();
    }
    await page.locator('.detail img[src^="blob:"]').waitFor();
    const end = Math.ceil(Date.now() / 60_000) * 60_000;
    for (const intervalEnd of [end - 60_000, end])
      await runJob('rollup-stats', { intervalEnd: new Date(intervalEnd).toISOString() });
    await navigateTo(page, 'Image cache', 'Image cache');
    const points = await page
      .getByRole('img', { name: /^Cache requests: \d+ points$/ })
      .getAttribute('aria-label');
    expect(Number(points?.match(/(\d+) points/)?.[1])).toBeGreaterThan(0);
    const series = await api<{ data: Array<{ cacheHits?: number }> }>('GET', '/api/stats?minutes=5', {
      token: adminToken(),
    });
    expect(series.body.data.reduce((sum, row) => sum + (row.cacheHits ?? 0), 0)).toBeGreaterThan(0);
    await expectCleanPage(page, problems, 'cache');
    await screenshot(page, 'cache');

    for (const [link, heading, name] of [
      ['Overview', 'Overview', 'overview'],
      ['Stats', 'Stats', 'stats'],
      ['Audit', 'Audit log', 'audit'],
    ] as const) {
      await navigateTo(page, link, heading);
      await page.locator('.state.loading').waitFor({ state: 'detached' });
      if (name === 'overview') {
        // Dead letters back to the queue now; the answer says what moved.
        await page.getByRole('button', { name: 'Redrive dead letters' }).click();
        await page.getByText(/^Moved \d+ dead letter\(s\) back to the queue; 0 could not be moved/).waitFor();
      }
      await expectCleanPage(page, problems, name);
      await screenshot(page, name);
    }
    await page.context().close();
  }, 120_000);

  it('device: sees only itself, no admin page, hostile strings as text; every page fits a phone', async () => {
    const { page, problems } = await openConsole(browser, { width: 375, height: 740 });
    await signIn(page, device.token);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const hidden of ['Devices', 'Provisioning', 'Audit', 'Image cache'])
      await expect(nav.getByRole('link', { name: hidden, exact: true }).count()).resolves.toBe(0);
    for (const pathname of ['/audit', '/devices', `/devices/${hostileDevice.deviceId}`, '/cache']) {
      await page.goto(url(pathname));
      await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    }
    for (const [link, heading] of [
      ['Overview', 'Overview'],
      ['Readings', 'Readings explorer'],
      ['Images', 'Images'],
      ['Stats', 'Stats'],
    ] as const) {
      await navigateTo(page, link, heading);
      await page.locator('.state.loading').waitFor({ state: 'detached' });
      expect({ link, sideways: await scrollsSideways(page) }).toEqual({ link, sideways: false });
      await expectCleanPage(page, problems, `device ${link}`);
    }
    // Its own readings, without naming a device; the admin's images are not in its gallery.
    await navigateTo(page, 'Readings', 'Readings explorer');
    await expect(page.getByLabel('Device').count()).resolves.toBe(0);
    await page.getByLabel('Time window').selectOption('all');
    await page.getByRole('button', { name: 'Show readings' }).click();
    await page.getByText('30 reading(s) shown').waitFor();
    expect({ sideways: await scrollsSideways(page) }).toEqual({ sideways: false });
    // What a phone shows first (the whole page is 30 table rows long).
    await screenshot(page, 'device-readings-phone', false);
    await navigateTo(page, 'Images', 'Images');
    await page.getByText('No images yet').waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  }, 120_000);
});
