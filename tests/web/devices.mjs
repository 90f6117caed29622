// devices.mjs - one person on a laptop and on the hub's web pages (docs/CLI.md,
// `hearth device`). A browser member pairs a laptop: the page's code, `hearth device
// join` on the laptop, a sync, Accept in the page, and the laptop's post counts as the
// member's. The reverse: a laptop's code signs a browser in, the account waits until
// the laptop accepts it, then posts as the laptop's person. And the invites page gives
// the join link `hearth invite` prints, which a laptop joins by. Real nodes: each laptop
// is its own data directory synced with the hub over its socket.
import { execFileSync } from 'node:child_process';
import {
  env, form, hearth, hearthOn, joinPage, ok, phone, raw, readThread, same, step, submit,
  threadIdOf,
} from './lib.mjs';

const PASS = 'a long enough passphrase';

function cli(dir, ...args) {
  try {
    return execFileSync(env.hearth, ['-d', dir, ...args],
                        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000, encoding: 'utf8' });
  } catch (e) {
    throw new Error(`hearth -d ${dir} ${args.join(' ')} failed (exit ${e.status}): ${e.stderr || e.message}`);
  }
}
const sync = (dir) => cli(dir, 'sync', env.addr);

export async function devices(browser, s) {
  const board = s.board || hearth('boards').find((b) => b.name === 'welcome').id;

  step('the invites page gives the join link hearth invite prints, with its QR, and a laptop joins by it');
  const mod = await browser.newContext(phone);
  const pm = await mod.newPage();
  await joinPage(pm, { code: hearth('invite').code, login: 'kiri', name: 'Kiri', pass: PASS });
  const kiriPk = (await pm.getAttribute('nav a:text("My profile")', 'href')).slice(3);
  hearth('role', 'grant', kiriPk, 'moderator');
  await pm.goto(`${env.base}/invites`);
  await submit(pm, 'main form button[value=make]');
  const link = (await pm.textContent('#join-link')).trim();
  const forum = hearth('id').forum;
  ok(link.startsWith('hearth://') && link.includes(`/${forum}?invite=`),
     `the page's join link names the forum and a code: ${link}`);
  ok(link.startsWith(env.addr.replace(/:\d+$/, '')), 'and the hub\'s node key and address');
  same(await pm.locator('main svg.qr').count(), 2, 'a QR code for a phone and one for a laptop');
  const laptop = env.laptop;
  cli(laptop, 'init', '--join', link);
  ok(hearthOn(laptop, 'boards').some((b) => b.id === board), 'the laptop joined by the link and synced');

  step('a web member adds a device: a one-time code, as text and a QR');
  await pm.goto(`${env.base}/devices`);
  await submit(pm, 'main form button[value=add]');
  const code = (await pm.textContent('#pair-code')).trim();
  ok(code.startsWith('hd1-'), `the page shows a device code: ${code}`);
  same(await pm.locator('main svg.qr').count(), 1, 'and its QR code');
  // the whole page: the code and its QR code are below the fold
  if (env.shots) await pm.screenshot({ path: `${env.shots}/devices.png`, fullPage: true });

  step('the laptop asks with it and syncs; the member accepts in the page');
  const asked = hearthOn(laptop, 'device', 'join', code);
  same(asked.person, kiriPk, 'the laptop asked to be Kiri\'s device');
  sync(laptop);
  await pm.goto(`${env.base}/devices`);
  const accept = `main form button:text("Accept device ${asked.device.slice(0, 16)}")`;
  ok(await pm.isVisible(accept), 'the request waits in the page with an Accept button');
  await submit(pm, accept);
  same(pm.url(), `${env.base}/devices`, 'accepting leads back to the devices');
  ok((await pm.textContent('#devices')).includes(asked.device.slice(0, 16)), 'the laptop is listed');
  ok(!(await pm.isVisible(accept)), 'and no longer waits');

  step('the laptop posts with hearth post; the hub shows it as Kiri\'s');
  sync(laptop);
  const listed = hearthOn(laptop, 'device', 'list');
  same(listed.person, kiriPk, 'the laptop knows it is Kiri\'s device');
  const post = hearthOn(laptop, 'post', board, '--title', 'From my laptop', '--body', 'Typed on the laptop.');
  sync(laptop);
  const t = readThread(post.event);
  same(t[0].author, kiriPk, 'the hub\'s replica counts the laptop\'s post as Kiri\'s');
  same(t[0].author_name, 'Kiri', 'under her name');
  await pm.goto(`${env.base}/t/${post.event}`);
  ok((await pm.textContent('main article .who')).includes('Kiri'), 'the thread page shows it under Kiri');
  ok(await pm.isVisible(`a[href="/edit/${post.event}"]`), 'as hers to edit in the browser too');

  step('the devices forms refuse a post without the session\'s CSRF token, and visitors');
  const cookies = await mod.cookies();
  const hs = cookies.find((c) => c.name === 'hs').value;
  const forged = await raw('POST', '/devices', { headers: { Cookie: `hs=${hs}` },
    body: form({ do: 'revoke', device: asked.device }) });
  same(forged.status, 403, 'a revoke without the token is refused');
  const foreign = await raw('POST', '/devices', {
    headers: { Cookie: `hs=${hs}`, Origin: 'http://evil.example' },
    body: form({ do: 'add', csrf: await pm.getAttribute('input[name=csrf]', 'value') }) });
  same(foreign.status, 403, 'a form from another site is refused');
  ok(hearth('device', 'list').devices !== undefined, 'the hub still answers');
  same((await raw('GET', '/devices')).status, 303, 'a visitor is sent to log in');
  same((await raw('POST', '/join/device', { body: form({ code: code, login: 'x', pass: PASS }) })).status,
       403, 'a device sign-in without the visitor\'s token is refused');

  step('the member revokes the laptop in the page');
  await pm.goto(`${env.base}/devices`);
  await submit(pm, `main form button:text("Revoke device ${asked.device.slice(0, 16)}")`);
  ok((await pm.textContent('#devices')).includes('revoked'), 'the laptop is shown revoked');
  ok(!(await pm.isVisible('main form button:text("Revoke device")')), 'with no revoke button left');
  await mod.close();

  step('the reverse: a laptop user signs in to the hub\'s page with a code from their laptop');
  const l2 = env.laptop2;
  cli(l2, 'init', '--join', forum);
  sync(l2);
  hearthOn(l2, 'profile', '--name', 'Tama');
  const tamaPk = hearthOn(l2, 'id').author;
  sync(l2);
  const code2 = hearthOn(l2, 'device', 'add').code;
  const ctx = await browser.newContext(phone);
  const pt = await ctx.newPage();
  await pt.goto(`${env.base}/login`);
  await submit(pt, 'main a:text("Sign in with a code from your own device")');
  same(pt.url(), `${env.base}/join/device`, 'the login page leads to the device sign-in');
  await pt.fill('#code', code2.slice(0, 20) + (code2[20] === 'a' ? 'b' : 'a') + code2.slice(21));
  await pt.fill('#login', 'tama-phone');
  await pt.fill('#pass', PASS);
  await submit(pt, 'main form button[type=submit]');
  ok((await pt.textContent('main')).includes('mistyped'), 'a mistyped code is refused, saying so');
  await pt.fill('#code', code2);
  await pt.fill('#login', 'tama-phone');
  await pt.fill('#pass', PASS);
  await submit(pt, 'main form button[type=submit]');
  same(pt.url(), `${env.base}/devices`, 'signing in leads to the devices page');
  ok((await pt.textContent('#pair-state')).includes('Waiting for your device to accept'),
     'which says it waits for the laptop');

  step('until the laptop accepts, the browser account cannot post');
  await pt.goto(`${env.base}/new/${board}`);
  await pt.fill('#title', 'Too early');
  await pt.fill('#text', 'Not yet accepted.');
  await submit(pt, 'main form button[type=submit]');
  ok((await pt.textContent('main')).includes('waits for your device'), 'a post is refused, saying why');

  step('the laptop syncs, accepts and syncs; the browser posts as Tama');
  sync(l2);
  const added = hearthOn(l2, 'device', 'accept');
  same(added.length, 1, 'the laptop accepts one device');
  sync(l2);
  await pt.goto(`${env.base}/devices`);
  ok((await pt.textContent('#pair-state')).includes('Tama'), 'the page says the account is Tama\'s device');
  same((await pt.getAttribute('nav a:text("My profile")', 'href')).slice(3), tamaPk,
       'the browser acts as Tama');
  await pt.goto(`${env.base}/new/${board}`);
  await pt.fill('#title', 'From the hub\'s page');
  await pt.fill('#text', 'Typed in a browser, as Tama.');
  await submit(pt, 'main form button[type=submit]');
  const id = threadIdOf(pt.url());
  ok(id, 'the post leads to its thread');
  sync(l2);
  const t2 = readThread(id, l2);
  same(t2[0].author, tamaPk, 'the laptop\'s replica holds the browser\'s post as Tama\'s');
  same(t2[0].author_name, 'Tama', 'under Tama\'s name');
  await ctx.close();
}
