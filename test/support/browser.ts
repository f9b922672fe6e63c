import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { apiUrl } from './api';

// Real headless Chromium (Debian's package; .ci/run installs it) driven by playwright-core.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });

/** Where screenshots go: docs/screenshots when SENSORCLOUD_SCREENSHOTS names it, else the test folder. */
export const screenshotDir = path.resolve(process.env.SENSORCLOUD_SCREENSHOTS ?? '.local/test/screenshots');

export interface ConsolePage {
  page: Page;
  /** Console errors, uncaught exceptions and CSP violations seen so far. */
  problems: string[];
}

export async function openConsole(
  browser: Browser,
  viewport = { width: 1280, height: 900 },
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content.Security.Policy/i.test(message.text()))
      problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('dialog', (dialog) => void dialog.accept());
  return { page, problems };
}

export const url = (pathname: string) => `${apiUrl()}${pathname}`;

export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(url('/'));
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Goes to a console page by clicking its link in the navigation (client-side routing). */
export async function navigateTo(page: Page, linkName: string, heading: string | RegExp): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: linkName, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (id: first targets). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) stays as it is.
  await page.evaluate(`${axeSource}\n;window.__axe = axe;`);
  const results = (await page.evaluate(
    `window.__axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  )) as Array<{ id: string; impact: string; targets: string[] }>;
  return results
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.targets.join(', ')}`);
}

/** True when the page scrolls sideways (it must not, down to phone width). */
export const scrollsSideways = async (page: Page): Promise<boolean> =>
  (await page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 1')) as boolean;

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage });
}
