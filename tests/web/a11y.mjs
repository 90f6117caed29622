// a11y.mjs - axe-core on every page type, in a context with JavaScript on (the
// script is injected past the pages' CSP, which would rightly refuse it): no
// violation of WCAG 2.0/2.1 A and AA.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { env, ok, same, step, hearth, loginPage, submit } from './lib.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function axe(page, what) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async (tags) => {
    const res = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return {
      passes: res.passes.length,
      violations: res.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
      })),
    };
  }, TAGS);
  ok(r.passes >= 5, `axe ran its rules on ${what} (${r.passes} passed)`);
  if (r.violations.length)
    console.error(`axe on ${what} (${page.url()}):\n${JSON.stringify(r.violations, null, 2)}`);
  same(r.violations.length, 0, `axe finds no WCAG 2.1 A/AA violation on ${what}`);
}

export async function accessibility(browser, s) {
  step('axe-core on every page type (JavaScript on)');
  const opts = { viewport: { width: 360, height: 640 }, javaScriptEnabled: true, bypassCSP: true };
  const visitor = await browser.newContext(opts);
  const pv = await visitor.newPage();
  const ctx = await browser.newContext(opts);
  const p = await ctx.newPage();
  await loginPage(p, 'moana', 'correct horse battery');
  // Something waits in the queue (Bea's flag), and Moana has a reply waiting.
  const calCtx = s.contexts.cal;
  const pc = s.pages.pc;
  await pc.goto(`${env.base}/t/${s.moanaThread}`);
  await pc.fill('#text', 'The river walk is lovely in autumn.');
  await submit(pc, 'main > form button[type=submit]');
  ok(calCtx, 'the third member is still logged in');

  const pages = [
    ['home', '/'],
    ['a board', `/b/${s.board}`],
    ['a thread with replies, reactions and a content warning', `/t/${s.cwThread}`],
    ['a thread with a retracted reply', `/t/${s.beaThread}`],
    ['compose', `/new/${s.board}`],
    ['search with results', '/search?q=riverbank'],
    ['search with none', '/search?q=zzzzqqq'],
    ['a profile (own, with its form)', `/u/${s.moanaPk}`],
    ['a profile (someone else\'s)', `/u/${s.beaPk}`],
    ['replies to me', '/replies'],
    ['resources', '/resources'],
    ['about', '/about'],
    ['the moderation queue', '/mod'],
    ['a post\'s moderation form', `/mod/${s.beaThread}`],
    ['the moderation log', '/mod/log'],
    ['the admin page', '/admin'],
    ['messages: the moderators\' list', '/messages'],
    ['messages: a conversation with a member', `/messages/${s.calPk}`],
    ['invites', '/invites'],
    ['devices', '/devices'],
    ['edit', `/edit/${s.moanaThread}`],
    ['flag', `/flag/${s.beaThread}`],
    ['retract', `/retract/${s.moanaThread}`],
    ['an error page', `/t/${'0'.repeat(64)}`],
    ['the quick exit', '/exit'],
  ];
  for (const [what, path] of pages) {
    await p.goto(`${env.base}${path}`);
    await axe(p, what);
  }
  ok((await (await p.goto(`${env.base}/replies`)).text()).includes('river walk'),
     'the replies page had a reply to show');
  await p.goto(`${env.base}/invites`);
  await submit(p, 'main form button[type=submit]');
  await axe(p, 'invites with a fresh code (a link and two QR codes)');
  await p.goto(`${env.base}/devices`);
  await submit(p, 'main form button[value=add]');
  await axe(p, 'devices with a fresh code and its QR code');
  await p.goto(`${env.base}/t/${s.cwThread}`);
  await p.click('article details.cw summary');
  await axe(p, 'a thread with its warning opened');
  for (const [what, path] of [['login', '/login'], ['join', '/join'],
                              ['sign in with a device code', '/join/device'], ['home (visitor)', '/'],
                              ['a thread (visitor)', `/t/${s.beaThread}`]]) {
    await pv.goto(`${env.base}${path}`);
    await axe(pv, what);
  }
  await pv.goto(`${env.base}/login`);
  await pv.fill('#login', 'moana');
  await pv.fill('#pass', 'wrong passphrase');
  await submit(pv, 'main form button[type=submit]');
  await axe(pv, 'login with a problem');
  await pv.goto(`${env.base}/join?code=NOPE`);
  await pv.fill('#login', 'x');
  await pv.fill('#name', 'X');
  await pv.fill('#pass', 'long enough passphrase');
  await submit(pv, 'main form button[type=submit]');
  await axe(pv, 'join with a problem');
  ok(hearth('status').events > 0, 'the replica is readable');
  s.jsContext = ctx;
  s.jsPage = p;
  await visitor.close();
}
