// E2E helper: Debian's Chromium driven by playwright-core (never a browser Playwright downloads), and screenshots.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../support/demo';

/** `apt-get install chromium` puts its launcher here; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Git-ignored; CI can keep it as an artifact. */
export const OUTPUT_DIR = join(REPO_ROOT, 'test', 'output', 'e2e');
// An action waits for its element this long; far below mocha's timeout, so a failure names the element.
const ACTION_TIMEOUT_MS = 15_000;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  // Chromium refuses its sandbox when run as root, which CI containers are.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}

/**
 * A page in a new context with the given browser locale (Node-RED's editor follows
 * navigator.language). Requests that leave 127.0.0.1, such as the palette catalogue, are
 * refused so the run never depends on the network.
 */
export async function openPage(browser: Browser, locale: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 1400, height: 900 } });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  return { context, page };
}

/** Saves a PNG of the page under test/output/e2e/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
