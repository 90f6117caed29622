// run.mjs - the browser tests of the web pages, in one headless Chromium (Debian's):
// the journeys and moderation (JavaScript off, a phone's viewport), axe-core on every page type
// (JavaScript on), then hostile input. tests/web/test_web.sh starts the hub and runs this.
import { chromium } from 'playwright-core';

import { passedCount } from './lib.mjs';
import { journeys } from './journeys.mjs';
import { accessibility } from './a11y.mjs';
import { hostile } from './hostile.mjs';
import { care } from './care.mjs';
import { messages } from './messages.mjs';
import { owner } from './owner.mjs';
import { devices } from './devices.mjs';

// Phases to run after the journeys, comma-separated (care,messages,owner,devices,a11y,hostile): all
// when none is given, less those named in WEB_SKIP (also comma-separated).
const only = process.argv[2] ? process.argv[2].split(',') : null;
const skip = (process.env.WEB_SKIP || '').split(',');
const want = (name) => (!only || only.includes(name)) && !skip.includes(name);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const state = {};
const t0 = Date.now();
let failed = false;
try {
  const phase = async (name, fn) => {
    const t = Date.now();
    await fn(browser, state);
    console.log(`== ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  await phase('journeys', journeys);
  if (want('care')) await phase('moderation and admin', care);
  if (want('messages')) await phase('messages with the moderators', messages);
  if (want('owner')) await phase('the owner in their own browser (hearth open)', owner);
  if (want('devices')) await phase('a person on a laptop and in the browser (hearth device)', devices);
  if (want('a11y')) await phase('axe', accessibility);
  if (want('hostile')) await phase('hostile input', hostile);
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  failed = true;
  for (const c of browser.contexts())
    for (const p of c.pages())
      console.error(`  open page ${p.url()}: ${(await p.content().catch(() => '?')).replace(/\s+/g, ' ').slice(-1500)}`);
} finally {
  await browser.close();
}
console.log(`${passedCount()} checks passed${failed ? ', 1 failed' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
