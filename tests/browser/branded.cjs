// Opens invitation links in Debian's chromium (headless, driven by playwright-core) and reports how each page
// looks: its language, its words, the tenant's logo and accent colour as the browser applied them under the page's
// policy, and whether the policy refused anything. One screenshot per link. It only reports what it saw, as one
// JSON object on stdout; the Rust test (tests/api/landing_page/browser.rs) makes the assertions.
//
//   node tests/browser/branded.cjs <screenshot-dir> <logo-origin> <name>=<invitation-url>...
//
// The logo's origin is answered by the browser itself (playwright's routing, so no network is needed): the request
// is still made by the page, after its Content-Security-Policy allowed it. The browser
// is launched as chromium.cjs says.
'use strict';

const path = require('node:path');
const { run } = require('./chromium.cjs');

const [screenshots, logoOrigin, ...links] = process.argv.slice(2);

// A 32 x 32 PNG in the tenant's accent colour.
const LOGO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAKklEQVR4nGPgqo2iKWIYtWDUglELRi0YtWDUglELRi0YtWDUglELhooFAEvQhC7v+ujMAAAAAElFTkSuQmCC',
  'base64',
);

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

const usage = '<screenshot-dir> <logo-origin> <name>=<invitation-url>...';
run('branded.cjs', usage, screenshots && logoOrigin && links.length > 0, async (context, page) => {
  const logoRequests = [];
  await context.route(`${logoOrigin}/**`, (route) => {
    logoRequests.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'image/png', body: LOGO });
  });
  const pages = {};
  for (const link of links) {
    const at = link.indexOf('=');
    const [name, url] = [link.slice(0, at), link.slice(at + 1)];
    const opened = await page.goto(url, { waitUntil: 'load' });
    pages[name] = { status: opened.status(), ...(await look(page)) };
    await page.screenshot({ path: path.join(screenshots, `branded-${name}.png`), fullPage: true });
  }
  return { pages, logoRequests };
});
