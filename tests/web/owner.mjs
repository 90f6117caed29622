// owner.mjs - `hearth open`: the node's owner signs in to its own web pages with the
// one-time link the CLI prints, as the node's author (no account, no passphrase); a
// post made in the page is signed with the node's author key; the link does not work
// a second time.
import { env, hearth, ok, phone, readThread, same, step, submit, threadIdOf } from './lib.mjs';

export async function owner(browser, s) {
  step('hearth open prints a one-time link on this machine');
  const me = hearth('id');
  const opened = hearth('open', '--no-browser');
  ok(opened.url.startsWith(`${env.base}/owner?token=`), `the link is on the hub's loopback address: ${opened.url}`);
  same(opened.author, me.author, 'the link is for the node\'s author');

  step('the link signs the owner in, as the node\'s author');
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  await page.goto(opened.url);
  same(page.url(), `${env.base}/`, 'the link leads home');
  const href = await page.getAttribute('nav a:text("My profile")', 'href');
  same(href, `/u/${me.author}`, 'signed in as the node\'s author');

  step('a post made in the page is the node author\'s');
  const board = s.board || hearth('boards').find((b) => b.name === 'welcome').id;
  await page.goto(`${env.base}/new/${board}`);
  await page.fill('#title', 'From the hub\'s own screen');
  await page.fill('#text', 'Posted through the web pages by the owner of this node.');
  await submit(page, 'main form button[type=submit]');
  const id = threadIdOf(page.url());
  ok(id, 'the post leads to its thread');
  const t = readThread(id);
  same(t[0].author, me.author, 'the replica holds it signed by the node\'s author key');

  step('the link works once');
  const again = await browser.newContext(phone);
  const p2 = await again.newPage();
  const res = await p2.goto(opened.url);
  same(res.status(), 403, 'a second use is refused');
  ok((await p2.textContent('main')).includes('used already or has expired'), 'and says why');
  ok(!(await p2.isVisible('nav a:text("My profile")')), 'nobody is signed in by it');
  await again.close();
  await ctx.close();
}
