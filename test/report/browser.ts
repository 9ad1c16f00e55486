// Opens a report in Debian's headless Chromium (playwright-core) and returns what a reader
// would notice: console errors, failed loads, images that did not render, and the text.
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export interface PageCheck {
  errors: string[];
  failedRequests: string[];
  images: { src: string; naturalWidth: number; naturalHeight: number }[];
  headings: string[];
  text: string;
}

export async function openReport(indexHtml: string, screenshot?: string): Promise<PageCheck> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const failedRequests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => failedRequests.push(r.url()));
    await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load' });
    const images = await page.$$eval('img', (imgs) =>
      imgs.map((i) => ({ src: i.getAttribute('src') ?? '', naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight })),
    );
    const headings = await page.$$eval('h1, h2', (hs) => hs.map((h) => h.textContent ?? ''));
    const text = await page.innerText('body');
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, failedRequests, images, headings, text };
  } finally {
    await browser.close();
  }
}
