// What both browser scripts share: Debian's chromium, headless, on a phone-sized screen, in a fresh profile, with
// every console error and page error collected (a refused stylesheet or image shows up there). RSVP_TEST_CHROMIUM
// names the browser binary and RSVP_TEST_NODE_MODULES the node_modules that holds playwright-core; scripts/test
// installs both and sets them.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// A phone: the page must read well at this width without zooming.
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

// Runs `use(context, page, consoleErrors)` in a fresh browser, and writes what it returns to stdout as JSON,
// with the browser's version. Exits 2 with `usage` when an argument or variable is missing, 1 on failure.
function run(name, usage, ready, use) {
  const executablePath = process.env.RSVP_TEST_CHROMIUM;
  const modules = process.env.RSVP_TEST_NODE_MODULES;
  if (!ready || !executablePath || !modules) {
    console.error(`usage: RSVP_TEST_CHROMIUM=... RSVP_TEST_NODE_MODULES=... node ${name} ${usage}`);
    process.exit(2);
  }
  const { chromium } = require(path.join(modules, 'playwright-core'));
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
      const seen = await use(context, page);
      const browser = context.browser()?.version() ?? null;
      process.stdout.write(JSON.stringify({ browser, ...seen, consoleErrors }));
    } finally {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  })().catch((error) => {
    console.error(`${name}: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}

module.exports = { run };
