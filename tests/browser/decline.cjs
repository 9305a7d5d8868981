// Opens an invitation link in Debian's chromium (headless, driven by playwright-core), reads the landing page,
// declines, and reads the page again. It only reports what it saw, as one JSON object on stdout; the Rust test
// (tests/landing_page.rs) runs it and makes the assertions.
//
//   node tests/browser/decline.cjs <invitation-url> <screenshot-dir>
//
// RSVP_TEST_CHROMIUM names the browser binary and RSVP_TEST_NODE_MODULES the node_modules that holds
// playwright-core; scripts/test installs both and sets them.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [url, screenshots] = process.argv.slice(2);
const executablePath = process.env.RSVP_TEST_CHROMIUM;
const modules = process.env.RSVP_TEST_NODE_MODULES;
if (!url || !screenshots || !executablePath || !modules) {
  console.error('usage: RSVP_TEST_CHROMIUM=... RSVP_TEST_NODE_MODULES=... node decline.cjs <url> <screenshot-dir>');
  process.exit(2);
}
const { chromium } = require(path.join(modules, 'playwright-core'));

// A phone: the page must read well at this width without zooming.
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function look(page) {
  return page.evaluate(() => ({
    title: document.title,
    heading: document.querySelector('h1')?.textContent ?? null,
    state: document.querySelector('#state')?.textContent ?? null,
    text: document.querySelector('main')?.innerText ?? '',
    forms: document.forms.length,
    scripts: document.scripts.length,
    acceptHref: document.querySelector('a.primary')?.getAttribute('href') ?? null,
    // The stylesheet is allowed by its hash alone: if the policy refused it, main would have no max-width.
    styled: getComputedStyle(document.querySelector('main')).maxWidth !== 'none',
    fitsWidth: document.documentElement.scrollWidth <= window.innerWidth,
  }));
}

(async () => {
  // A fresh profile every run, removed afterwards: no cache, cookies or history carried between runs.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rsvp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    ...PHONE,
  });
  const consoleErrors = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));

    const opened = await page.goto(url, { waitUntil: 'load' });
    const before = { status: opened.status(), ...(await look(page)) };
    await page.screenshot({ path: path.join(screenshots, 'invitation.png'), fullPage: true });

    // Submitting the form navigates to the answer of the POST.
    const answered = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Decline invitation' }).click();
    const response = await answered;
    await page.waitForLoadState('load');
    const after = { status: response.status(), url: page.url(), ...(await look(page)) };
    await page.screenshot({ path: path.join(screenshots, 'declined.png'), fullPage: true });

    process.stdout.write(JSON.stringify({ browser: context.browser()?.version() ?? null, before, after, consoleErrors }));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((error) => {
  console.error(`decline.cjs: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
