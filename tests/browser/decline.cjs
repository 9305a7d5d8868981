// Opens an invitation link in Debian's chromium (headless, driven by playwright-core), reads the landing page,
// declines, and reads the page again. It only reports what it saw, as one JSON object on stdout; the Rust test
// (tests/api/landing_page/browser.rs) runs it and makes the assertions.
//
//   node tests/browser/decline.cjs <invitation-url> <screenshot-dir>
//
// The browser is launched as chromium.cjs says.
'use strict';

const path = require('node:path');
const { run } = require('./chromium.cjs');

const [url, screenshots] = process.argv.slice(2);

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

run('decline.cjs', '<invitation-url> <screenshot-dir>', url && screenshots, async (_context, page) => {
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
  return { before, after };
});
