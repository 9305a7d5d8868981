// Opens invitation links in Debian's chromium (headless, driven by playwright-core) and reports how each page
// looks: its language, its words, the tenant's logo and accent colour as the browser applied them under the page's
// policy, and whether the policy refused anything. One screenshot per link. It only reports what it saw, as one
// JSON object on stdout; the Rust test (tests/landing_page.rs) makes the assertions.
//
//   node tests/browser/branded.cjs <screenshot-dir> <logo-origin> <name>=<invitation-url>...
//
// The logo's origin is answered by the browser itself (playwright's routing, so no network is needed): the request
// is still made by the page, after its Content-Security-Policy allowed it. RSVP_TEST_CHROMIUM and
// RSVP_TEST_NODE_MODULES as for decline.cjs.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [screenshots, logoOrigin, ...links] = process.argv.slice(2);
const executablePath = process.env.RSVP_TEST_CHROMIUM;
const modules = process.env.RSVP_TEST_NODE_MODULES;
if (!screenshots || !logoOrigin || links.length === 0 || !executablePath || !modules) {
  console.error('usage: RSVP_TEST_CHROMIUM=... RSVP_TEST_NODE_MODULES=... node branded.cjs <dir> <origin> <name>=<url>...');
  process.exit(2);
}
const { chromium } = require(path.join(modules, 'playwright-core'));

// A 32 x 32 PNG in the tenant's accent colour.
const LOGO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAKklEQVR4nGPgqo2iKWIYtWDUglELRi0YtWDUglELRi0YtWDUglELhooFAEvQhC7v+ujMAAAAAElFTkSuQmCC',
  'base64',
);
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

async function look(page) {
  return page.evaluate(() => {
    const logo = document.querySelector('header.brand img');
    const primary = document.querySelector('.primary');
    return {
      lang: document.documentElement.lang,
      title: document.title,
      state: document.querySelector('#state')?.textContent ?? null,
      text: document.querySelector('main')?.innerText ?? '',
      buttons: [...document.querySelectorAll('button')].map((b) => b.textContent),
      logoSrc: logo?.getAttribute('src') ?? null,
      logoLoaded: logo ? logo.complete && logo.naturalWidth > 0 : false,
      product: document.querySelector('header.brand span')?.textContent ?? null,
      footer: document.querySelector('footer')?.innerText ?? null,
      accent: primary ? getComputedStyle(primary).backgroundColor : null,
      scripts: document.scripts.length,
      fitsWidth: document.documentElement.scrollWidth <= window.innerWidth,
    };
  });
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rsvp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...PHONE,
  });
  const consoleErrors = [];
  const logoRequests = [];
  try {
    await context.route(`${logoOrigin}/**`, (route) => {
      logoRequests.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'image/png', body: LOGO });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    const pages = {};
    for (const link of links) {
      const at = link.indexOf('=');
      const [name, url] = [link.slice(0, at), link.slice(at + 1)];
      const opened = await page.goto(url, { waitUntil: 'load' });
      pages[name] = { status: opened.status(), ...(await look(page)) };
      await page.screenshot({ path: path.join(screenshots, `branded-${name}.png`), fullPage: true });
    }
    process.stdout.write(JSON.stringify({ browser: context.browser()?.version() ?? null, pages, logoRequests, consoleErrors }));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
