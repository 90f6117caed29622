// care.mjs - running the forum from a phone (JavaScript off): a moderator locks a
// thread and bans and unbans a member from a post's moderation form, and finds it in
// the log; an admin (made so by the founder) grants a professional role on the admin
// page, and the badge shows beside that member's posts here and on a second node; the
// admin adds a board and renames it, and the second node shows the new name.
import { env, ok, same, step, hearth, hearthOn, readThread, shot, submit, syncNode2 } from './lib.mjs';

export async function care(browser, s) {
  const pm = s.pages.pm; // Moana, a moderator since the journeys
  step('a moderator locks a thread from its moderation form, with a reason');
  await pm.goto(`${env.base}/t/${s.beaThread}`);
  await pm.click('article.post .actions a:has-text("Moderate")');
  ok(pm.url().endsWith(`/mod/${s.beaThread}`), 'the Moderate link leads to the post\'s form');
  await shot(pm, 'moderate');
  await pm.check('#a-lock');
  await pm.fill('#reason', 'cooling off for the night');
  await submit(pm, 'main form button[type=submit]');
  same(readThread(s.beaThread)[0].locked, true, 'the replica says the thread is locked');
  const log = await pm.textContent('main');
  ok(log.includes('cooling off for the night'), 'the post\'s history shows the reason');
  await pm.goto(`${env.base}/t/${s.beaThread}`);
  ok((await pm.textContent('main')).includes('locked'), 'the thread says it is locked');
  same(await pm.locator('main form[action^="/reply/"]').count(), 0, 'and offers no reply form');
  const entry = hearth('mod', 'log').find((x) => x.action === 'lock');
  same(entry.author, s.moanaPk, 'the lock is signed by the moderator\'s key');
  same(entry.reason, 'cooling off for the night', 'with the reason she gave');

  step('a moderator bans and unbans a post\'s author; the log page lists it all');
  await pm.goto(`${env.base}/mod/${s.calReply}`);
  await pm.check('#a-ban');
  await pm.fill('#reason', 'testing the ban');
  await submit(pm, 'main form button[type=submit]');
  const ban = hearth('mod', 'log').find((x) => x.action === 'ban');
  same(ban.subject, s.calPk, 'the ban names the post\'s author');
  await pm.check('#a-unban');
  await pm.fill('#reason', 'only a test');
  await submit(pm, 'main form button[type=submit]');
  ok(hearth('mod', 'log').some((x) => x.action === 'unban'), 'the unban is in the replica');
  await pm.goto(`${env.base}/mod/log`);
  const all = await pm.textContent('main');
  for (const why of ['cooling off for the night', 'testing the ban', 'only a test'])
    ok(all.includes(why), `the moderation log shows "${why}"`);

  step('a member sees her own hidden post, and why; others do not see it');
  await pm.goto(`${env.base}/mod/${s.calReply}`);
  await pm.check('#a-hide');
  await pm.fill('#reason', 'please keep phone numbers private');
  await submit(pm, 'main form button[type=submit]');
  const pc = s.pages.pc; // Cal, the reply's author
  await pc.goto(`${env.base}/t/${s.beaThread}`);
  const own = await pc.textContent(`article#p${s.calReply.slice(0, 12)}`);
  ok(own.includes('Hidden by a moderator') && own.includes('please keep phone numbers private'),
     'the author sees her reply marked hidden, with the moderator\'s reason');
  const pv = s.pages.pv; // a visitor
  await pv.goto(`${env.base}/t/${s.beaThread}`);
  same(await pv.locator(`article#p${s.calReply.slice(0, 12)}`).count(), 0,
       'a visitor does not see the hidden reply');
  await pm.goto(`${env.base}/mod/${s.calReply}`);
  await pm.check('#a-unhide');
  await pm.fill('#reason', 'edited out, thanks');
  await submit(pm, 'main form button[type=submit]');
  await pv.goto(`${env.base}/t/${s.beaThread}`);
  same(await pv.locator(`article#p${s.calReply.slice(0, 12)}`).count(), 1, 'unhidden, a visitor sees it');

  step('an action that would do nothing says so and signs nothing');
  const before = hearth('status').events;
  await pm.goto(`${env.base}/mod/${s.calReply}`);
  same(await pm.locator('#a-approve').count(), 0, 'approve is not offered for a post that is not held');
  const csrf = await pm.getAttribute('main form input[name=csrf]', 'value');
  const r = await pm.request.post(`${env.base}/mod/${s.calReply}`,
                                  { form: { csrf, action: 'approve', reason: 'again' }, maxRedirects: 0 });
  same(r.status(), 409, 'approving a post that is not held is refused as a no-op (409)');
  same(hearth('status').events, before, 'no event was made');

  step('an admin grants a professional role on the admin page');
  const denied = await pm.goto(`${env.base}/admin`);
  same(denied.status(), 403, 'a moderator who is not an admin may not open it');
  hearth('role', 'grant', s.moanaPk, 'admin');
  await pm.goto(`${env.base}/admin`);
  await shot(pm, 'admin');
  await pm.fill('#member', s.calPk);
  await pm.selectOption('#role', 'professional');
  await pm.fill('#about', 'counsellor');
  await submit(pm, 'main form:has(#member) button[type=submit]');
  const grants = hearth('role', 'list');
  const cal = grants.find((g) => g.key === s.calPk);
  ok(cal && JSON.stringify(cal).includes('professional'), 'the replica holds the grant');
  await pm.goto(`${env.base}/t/${s.beaThread}`);
  const badge = pm.locator(`article#p${s.calReply.slice(0, 12)} .badge`);
  same((await badge.textContent()).trim(), 'professional: counsellor',
       'Cal\'s reply shows the badge with what it means');
  ok(await pm.locator(`article#p${s.calReply.slice(0, 12)}.pro`).count() === 1,
     'and is marked as a professional\'s');

  step('the badge reaches a second node');
  syncNode2();
  const there = readThread(s.beaThread, env.dir2).find((p) => p.id === s.calReply);
  ok(there.roles.includes('professional'), 'the second node shows Cal as a professional');
  same(there.role_about.professional, 'counsellor', 'with what the role means');
  same(hearthOn(env.dir2, 'status').view_digest, hearth('status').view_digest,
       'both nodes show the same forum');

  step('the admin page changes the settings and the crisis line everyone sees');
  await pm.goto(`${env.base}/admin`);
  await pm.fill('#resources', 'Rural helpline 0800 787 797 (24/7)\nText 1737 any time.');
  await submit(pm, 'main form:has(#resources) button[type=submit]');
  await pm.goto(`${env.base}/about`);
  ok((await pm.textContent('.crisis')).includes('Rural helpline 0800 787 797'),
     'the banner shows the new first line');
  await pm.goto(`${env.base}/admin`);
  await pm.fill('#hold', '0');
  await submit(pm, 'main form:has(#hold) button[type=submit]');
  same(hearth('settings').hold, 0, 'the forum no longer holds first posts');

  step('the admin page adds a board and renames it; the second node shows the new name');
  await pm.goto(`${env.base}/admin`);
  await pm.fill('#bname', 'Farm life');
  await pm.fill('#babout', 'Work, weather and stock');
  await submit(pm, 'main form:has(#bname) button[type=submit]');
  const added = hearth('boards').find((b) => b.name === 'Farm life');
  ok(added, 'the replica holds the new board');
  await pm.goto(`${env.base}/admin`);
  await pm.selectOption('#rboard', added.id);
  await pm.fill('#rname', 'Farm and station life');
  await submit(pm, 'main form:has(#rname) button[type=submit]');
  const renamed = hearth('boards').find((b) => b.id === added.id);
  same(renamed.name, 'Farm and station life', 'the replica shows the new name');
  same(renamed.about, 'Work, weather and stock', 'and keeps what it is for');
  await pm.goto(`${env.base}/`);
  ok((await pm.textContent('main')).includes('Farm and station life'), 'the boards page shows it');
  syncNode2();
  same(hearthOn(env.dir2, 'boards').find((b) => b.id === added.id).name,
       'Farm and station life', 'the second node shows the renamed board');
}
