// journeys.mjs - people using the forum on a phone (360x640, JavaScript off): each step
// checks the page and the hub's replica (the CLI on its data directory).

import {
  env, ok, same, step, hearth, hearthOn, phone, shot, joinPage, loginPage, submit,
  threadIdOf, readThread, syncNode2,
} from './lib.mjs';

const PASS = 'correct horse battery';

function post(list, id) {
  return list.find((p) => p.id === id);
}

export async function journeys(browser, s) {
  const welcome = hearth('boards').find((b) => b.name === 'welcome');
  s.board = welcome.id;

  step('a moderator joins with an invite the founder made with the CLI');
  const code1 = hearth('invite').code;
  const mod = await browser.newContext(phone);
  const pm = await mod.newPage();
  await pm.goto(`${env.base}/`);
  await shot(pm, 'home');
  s.moanaPk = await joinPage(pm, { code: code1, login: 'moana', name: 'Moana', pass: PASS });
  const inv = hearth('invite', '--list').find((i) => i.code === code1);
  same(inv.state, 'used', 'the CLI invite is used');
  same(inv.used_by, s.moanaPk, 'the CLI invite is used by the new member\'s key');
  ok(!(await pm.isVisible('nav a:text("Moderation")')), 'no moderation link before the role');

  step('posting works (no hold yet), signed by the member\'s key');
  await submit(pm, `ul.boards a:text("welcome")`);
  await submit(pm, 'a:text("Start a thread")');
  await shot(pm, 'compose');
  await pm.fill('#title', 'Walking by the riverbank helps');
  await pm.fill('#text', 'Some days a slow walk by the riverbank is what gets me through.');
  await submit(pm, 'main form button[type=submit]');
  s.moanaThread = threadIdOf(pm.url());
  ok(s.moanaThread, 'the post leads to its thread');
  same(await pm.textContent('h1'), 'Walking by the riverbank helps', 'the thread shows its title');
  let t = readThread(s.moanaThread);
  same(t[0].author, s.moanaPk, 'the post is signed by the key in /u/<hex>');
  same(t[0].status, 'visible', 'the post is visible');
  same(t[0].author_name, 'Moana', 'the author\'s name is the one chosen at /join');

  step('editing one\'s own post');
  await submit(pm, `#p${s.moanaThread.slice(0, 12)} a:text("Edit")`);
  same(await pm.inputValue('#text'), t[0].body, 'the edit form holds the words');
  await pm.fill('#text', 'Some days a slow walk by the riverbank, and a chat, gets me through.');
  await submit(pm, 'main form button[type=submit]');
  ok((await pm.textContent(`#p${s.moanaThread.slice(0, 12)}`)).includes('a chat'), 'the thread shows the new words');
  ok((await pm.textContent(`#p${s.moanaThread.slice(0, 12)} .meta`)).includes('edited'), 'and says it was edited');
  t = readThread(s.moanaThread);
  ok(t[0].body.includes('a chat') && t[0].edited, 'the replica has the edit');
  same(t[0].title, 'Walking by the riverbank helps', 'the edit keeps the title');

  step('every page shows the crisis line; the quick exit leaves for a neutral page');
  for (const path of ['/', `/t/${s.moanaThread}`, '/search', '/nowhere']) {
    await pm.goto(`${env.base}${path}`);
    ok((await pm.textContent('.crisis')).includes('Lifeline 0800 543 354'), `the crisis line on ${path}`);
  }
  await submit(pm, 'a:text("Quick exit")');
  same(new URL(pm.url()).pathname, '/exit', 'the quick exit works without JavaScript');
  ok(!(await pm.content()).includes('Riverbend'), 'the exit page shows nothing of the forum');

  step('a content warning folds behind <details> until opened');
  await pm.goto(`${env.base}/new/${s.board}`);
  await pm.fill('#title', 'A hard week');
  await pm.fill('#text', 'My dad died on Tuesday and the house is very quiet.');
  await pm.fill('#cw', 'grief, death');
  await submit(pm, 'main form button[type=submit]');
  s.cwThread = threadIdOf(pm.url());
  const cw = pm.locator('article details.cw').first();
  same(await cw.count(), 1, 'the post with a warning has a <details>');
  same(await cw.evaluate((d) => d.open), false, 'the warning is closed');
  ok((await cw.locator('summary').textContent()).includes('grief, death'), 'the summary names the warning');
  ok(!(await pm.isVisible('article details.cw .text')), 'the words are not shown');
  await cw.locator('summary').click();
  same(await cw.evaluate((d) => d.open), true, 'a click opens it');
  ok(await pm.isVisible('article details.cw .text'), 'the words are shown once opened');
  same(readThread(s.cwThread)[0].cw, 'grief, death', 'the replica holds the warning');

  step('the founder makes the member a moderator (CLI); /invites makes an invite');
  hearth('role', 'grant', s.moanaPk, 'moderator');
  await pm.goto(`${env.base}/`);
  ok(await pm.isVisible('nav a:text("Moderation")'), 'the moderator sees the moderation link');
  await submit(pm, 'nav a:text("Invites")');
  await submit(pm, 'main form button[type=submit]');
  const code2 = (await pm.textContent('.code')).trim();
  const link = await pm.getAttribute('main a[href*="/join?code="]', 'href');
  ok(link.endsWith(`/join?code=${code2}`), 'the invite page gives a join link with the code');
  same(hearth('invite', '--list').find((i) => i.code === code2).creator, s.moanaPk,
       'the invite made on the page is the moderator\'s');

  step('hold on: a new member joins by the link and their first post is held');
  hearth('settings', '--hold', '1');
  same(hearth('settings').hold, 1, 'the forum holds first posts');
  const bea = await browser.newContext(phone);
  const pb = await bea.newPage();
  await pb.goto(link);
  same(await pb.inputValue('#code'), code2, 'the link fills in the code');
  await shot(pb, 'join');
  s.beaPk = await joinPage(pb, { login: 'bea', name: 'Bea', pass: PASS, url: link });
  same(hearth('invite', '--list').find((i) => i.code === code2).used_by, s.beaPk,
       'the page\'s invite is used by the second member');
  await pb.goto(`${env.base}/new/${s.board}`);
  await pb.fill('#title', 'First time here');
  await pb.fill('#text', 'Hello, I care for my brother and feel alone with it.');
  await submit(pb, 'main form button[type=submit]');
  s.beaThread = threadIdOf(pb.url());
  ok((await pb.textContent('article .note')).includes('Waiting for a moderator'),
     'the author sees that the post waits for approval');
  same(readThread(s.beaThread)[0].status, 'held', 'the replica holds the post back');
  same(readThread(s.beaThread)[0].author, s.beaPk, 'the held post is signed by the member');
  const visitor = await browser.newContext(phone);
  const pv = await visitor.newPage();
  const vr = await pv.goto(`${env.base}/t/${s.beaThread}`);
  ok(vr.status() === 404 || !(await pv.content()).includes('feel alone'),
     'a visitor does not see the held post');

  step('the moderator approves it on /mod');
  await pm.goto(`${env.base}/mod`);
  await shot(pm, 'mod-queue');
  const held = pm.locator('article', { hasText: 'First time here' });
  ok((await held.textContent()).includes('held for approval'), 'the queue lists the held post');
  await held.locator('input[name=reason]').fill('welcome, Bea');
  await submit(pm, 'article:has-text("First time here") button[value=approve]');
  same(readThread(s.beaThread)[0].status, 'visible', 'the replica shows the post approved');
  await pv.goto(`${env.base}/t/${s.beaThread}`);
  ok((await pv.content()).includes('feel alone'), 'a visitor sees the approved post');

  step('a third member replies (held, approved); the first sees it, and her approval, under Replies to me');
  const cal = await browser.newContext(phone);
  const pc = await cal.newPage();
  s.calPk = await joinPage(pc, { code: hearth('invite').code, login: 'cal', name: 'Cal', pass: PASS });
  await pc.goto(`${env.base}/t/${s.beaThread}`);
  await pc.fill('#text', 'You are not alone. Our carers group meets on Thursdays.');
  await submit(pc, 'main > form button[type=submit]');
  t = readThread(s.beaThread);
  const calReply = t.find((p) => p.author === s.calPk);
  ok(calReply && calReply.kind === 'reply', 'the replica has the reply, signed by the third member');
  same(calReply.status, 'held', 'the third member\'s first post is held too');
  s.calReply = calReply.id;
  await pm.goto(`${env.base}/mod`);
  await pm.locator('article', { hasText: 'carers group' }).locator('input[name=reason]').fill('ok');
  await submit(pm, 'article:has-text("carers group") button[value=approve]');
  same(post(readThread(s.beaThread), s.calReply).status, 'visible', 'the reply is approved');
  await pb.goto(`${env.base}/`);
  ok((await pb.textContent('nav a[href="/replies"] .count')).startsWith('2'),
     'the header counts two things waiting: the reply, and her post approved');
  await submit(pb, 'nav a[href="/replies"]');
  await shot(pb, 'replies');
  ok((await pb.textContent('main')).includes('carers group'), 'Replies to me lists the reply');
  ok((await pb.textContent('main li.unread')).includes('carers group'), 'the new reply is marked new');
  const notice = await pb.textContent('main h2 + ul');
  ok(notice.includes('approved your post') && notice.includes('welcome, Bea'),
     'she is told her held post was approved, with the moderator\'s words');
  same(await pb.locator('nav a[href="/replies"] .count').count(), 0, 'the count is gone once read');

  step('reacting toggles on and off');
  await pb.goto(`${env.base}/t/${s.beaThread}`);
  const art = `#p${s.calReply.slice(0, 12)}`;
  await submit(pb, `${art} button[value=support]`);
  same(await pb.getAttribute(`${art} button[value=support]`, 'aria-pressed'), 'true', 'the reaction is pressed');
  ok((await pb.textContent(`${art} button[value=support]`)).includes('1'), 'the count is 1');
  same(post(readThread(s.beaThread), s.calReply).reactions.support, 1, 'the replica counts the reaction');
  await submit(pb, `${art} button[value=support]`);
  same(await pb.getAttribute(`${art} button[value=support]`, 'aria-pressed'), 'false', 'pressed again, it is off');
  same(post(readThread(s.beaThread), s.calReply).reactions.support, 0, 'the replica no longer counts it');
  await submit(pb, `${art} button[value=hug]`);
  same(post(readThread(s.beaThread), s.calReply).reactions.hug, 1, 'a standing hug for the second node');

  step('flagging someone else\'s post, with a reason');
  // Bea flags Moana's first post. (A post approved out of the hold and flagged later
  // waits in the queue again: tests/unit/test_care.c, test_queue_flag_after_approval.)
  await pb.goto(`${env.base}/t/${s.moanaThread}`);
  await submit(pb, `#p${s.moanaThread.slice(0, 12)} a:text("Flag for a moderator")`);
  await pb.fill('#reason', 'names a real person');
  await submit(pb, 'main form button[type=submit]');
  same(readThread(s.moanaThread)[0].flags, 1, 'the replica counts the flag');
  const queue = hearth('mod', 'queue');
  ok(queue.some((q) => q.post.id === s.moanaThread && q.flag_reasons.includes('names a real person')), 'the flagged post, with its reason, is in the moderation queue');
  await pm.goto(`${env.base}/mod`);
  ok((await pm.textContent('main')).includes('Flagged by 1 member'), 'the queue page shows the flagged post');

  step('taking back one\'s own post, after a confirmation');
  await pb.goto(`${env.base}/t/${s.beaThread}`);
  await pb.fill('#text', 'Thank you, maybe I will come on Thursday.');
  await submit(pb, 'main > form button[type=submit]');
  const mine = readThread(s.beaThread).find((p) => p.author === s.beaPk && p.kind === 'reply');
  ok(mine && mine.status === 'visible', 'the second post is not held');
  s.beaReply = mine.id;
  await submit(pb, `#p${mine.id.slice(0, 12)} a:text("Take back")`);
  ok((await pb.textContent('h1')).includes('Take back'), 'a confirmation page comes first');
  same(post(readThread(s.beaThread), mine.id).status, 'visible', 'nothing is taken back yet');
  await submit(pb, 'button[value=yes]');
  const gone = post(readThread(s.beaThread), mine.id);
  same(gone.status, 'retracted', 'the replica has the retraction');
  same(gone.body, null, 'the replica no longer has the words');
  same(hearth('search', 'Thursday', 'maybe').length, 0, 'the words are not found any more');
  ok((await pb.textContent(`#p${mine.id.slice(0, 12)}`)).includes('Taken back'), 'the page says it was taken back');

  step('search finds a post');
  await pb.goto(`${env.base}/search`);
  await pb.fill('#q', 'riverbank');
  await submit(pb, 'main form button[type=submit]');
  ok((await pb.textContent('main h2')).startsWith('1 post'), 'one post found');
  ok(await pb.isVisible(`main a[href^="/t/${s.moanaThread}"]`), 'it links to the thread');

  step('editing the profile changes the display name');
  await submit(pb, 'nav a:text("My profile")');
  same(pb.url(), `${env.base}/u/${s.beaPk}`, 'My profile is /u/<key>');
  await pb.fill('#name', 'Bea R.');
  await pb.fill('#about', 'Carer, two years in.');
  await submit(pb, 'main form button[type=submit]');
  same(await pb.textContent('h1'), 'Bea R.', 'the profile shows the new name');
  same(readThread(s.beaThread)[0].author_name, 'Bea R.', 'the replica has the new name');

  step('logging out and in again');
  await submit(pb, 'nav button:text("Log out")');
  ok(await pb.isVisible('nav a:text("Log in")'), 'logged out');
  same(await pb.locator('nav a:text("My profile")').count(), 0, 'no profile link when logged out');
  same(await loginPage(pb, 'bea', PASS), s.beaPk, 'logged in again with the same key');
  await pb.goto(`${env.base}/login`);
  await pb.fill('#login', 'bea');
  await pb.fill('#pass', 'not the passphrase');
  await submit(pb, 'main form button[type=submit]');
  ok((await pb.textContent('.problem')).includes('wrong'), 'a wrong passphrase is refused');

  step('a member named "Sam [moderator]" shows no badge; badges come from roles');
  const sam = await browser.newContext(phone);
  const ps = await sam.newPage();
  s.samPk = await joinPage(ps, { code: hearth('invite').code, login: 'sam', name: 'Sam [moderator]', pass: PASS });
  await ps.goto(`${env.base}/t/${s.moanaThread}`);
  await ps.fill('#text', 'Same here, the river helps.');
  await submit(ps, 'main > form button[type=submit]');
  const samPost = readThread(s.moanaThread).find((p) => p.author === s.samPk);
  same(JSON.stringify(samPost.roles), '[]', 'the replica gives Sam no role');
  await pm.goto(`${env.base}/mod`);
  await pm.locator('article', { hasText: 'river helps' }).locator('input[name=reason]').fill('ok');
  await submit(pm, 'article:has-text("river helps") button[value=approve]');
  await pv.goto(`${env.base}/t/${s.moanaThread}`);
  const samArt = pv.locator(`#p${samPost.id.slice(0, 12)}`);
  ok((await samArt.locator('.who').textContent()).includes('Sam [moderator]'), 'the name is shown as typed');
  same(await samArt.locator('.badge').count(), 0, 'Sam\'s post has no badge');
  const moanaArt = pv.locator(`#p${s.moanaThread.slice(0, 12)}`);
  same((await moanaArt.locator('.badge').textContent()).trim(), 'moderator', 'the real moderator has the badge');
  await pv.goto(`${env.base}/u/${s.samPk}`);
  same(await pv.locator('main .badge').count(), 0, 'Sam\'s profile has no badge');

  step('screens for people: home, board, thread');
  await pc.goto(`${env.base}/t/${s.cwThread}`);
  await pc.fill('#text', 'I am so sorry. Thinking of you.');
  await submit(pc, 'main > form button[type=submit]');
  await submit(pc, `#p${s.cwThread.slice(0, 12)} button[value=thinking-of-you]`);
  await pb.goto(`${env.base}/`);
  await shot(pb, 'home');
  await pb.goto(`${env.base}/b/${s.board}`);
  await shot(pb, 'board');
  await pb.goto(`${env.base}/t/${s.beaThread}`);
  await shot(pb, 'thread');

  step('a second node that syncs sees the same events, signed by the same keys');
  syncNode2();
  const there = readThread(s.beaThread, env.dir2);
  const here = readThread(s.beaThread);
  same(there.length, here.length, 'the second node has every post of the thread');
  for (const p of here) {
    const q = post(there, p.id);
    ok(q, `the second node has ${p.id.slice(0, 8)}`);
    same(q.author, p.author, 'signed by the same key');
    same(q.status, p.status, `the same state (${p.status})`);
    same(q.body, p.body, 'the same words');
  }
  same(post(there, s.beaReply).body, null, 'the retracted words are gone there too');
  same(post(there, s.calReply).reactions.hug, 1, 'the reaction is there');
  same(post(there, s.calReply).reactions.support, 0, 'the withdrawn reaction is not');
  same(readThread(s.moanaThread, env.dir2)[0].flags, 1, 'the flag is there');
  same(there[0].author_name, 'Bea R.', 'the new name is there');
  const a = hearth('status'), b = hearthOn(env.dir2, 'status');
  same(b.view_digest, a.view_digest, 'both nodes show the same forum');

  step('long lists come a page at a time: a board, a thread, a search');
  const quiet = hearth('boards').find((b) => b.name !== 'welcome' && b.threads === 0);
  const made = [];
  for (let i = 0; i < 31; i++) {
    made.push(hearth('post', quiet.id, '--title', `Paging thread ${i}`, '--body', `paging words ${i}`).event);
  }
  await pb.goto(`${env.base}/b/${quiet.id}`);
  same(await pb.locator('ul.threads > li').count(), 30, 'a board page lists 30 threads');
  ok(!(await pb.isVisible('ul.threads a:text-is("Paging thread 0")')), 'the oldest is not on the first page');
  ok(!(await pb.isVisible('a:text("Newest threads")')), 'no way back from the first page');
  await submit(pb, 'nav.pages a:text("Older threads")');
  same(await pb.locator('ul.threads > li').count(), 1, 'the next page holds the one left');
  ok(await pb.isVisible('ul.threads a:text-is("Paging thread 0")'), 'the oldest thread is there');
  ok(!(await pb.isVisible('a:text("Older threads")')), 'and nothing lies beyond it');
  await submit(pb, 'nav.pages a:text("Newest threads")');
  ok(await pb.isVisible('ul.threads a:text-is("Paging thread 30")'), 'back at the newest');
  const long = made[30];
  for (let i = 0; i < 100; i++) hearth('reply', long, '--body', `reply number ${i}`);
  await pb.goto(`${env.base}/t/${long}`);
  same(await pb.locator('main article.post').count(), 100, 'a thread page shows the post and 99 replies');
  ok(!(await pb.textContent('main')).includes('reply number 99'), 'the last reply waits for the next page');
  await submit(pb, 'nav.pages a:text("Later replies")');
  same(await pb.textContent('h1'), 'Paging thread 30', 'a later page keeps the thread\'s title');
  ok((await pb.textContent('main')).includes('reply number 99'), 'the last reply is on the second page');
  same(await pb.locator('main article.post').count(), 1, 'and only it');
  same(hearth('read', long, '--limit', '1000').length, 101, 'the replica holds all 101');
  await pb.goto(`${env.base}/search?q=number`);
  same(await pb.locator('ul.found > li').count(), 50, 'a search page shows 50 of the 100 replies found');
  const hrefs = () => pb.locator('ul.found > li > a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const firstHalf = await hrefs();
  await submit(pb, 'nav.pages a:text("More results")');
  same(await pb.locator('ul.found > li').count(), 50, 'the next page the other 50');
  ok(!(await pb.isVisible('a:text("More results")')), 'and no more');
  same(new Set([...firstHalf, ...(await hrefs())]).size, 100, 'no reply is shown twice, none is missed');

  s.contexts = { mod, bea, cal, visitor, sam };
  s.pages = { pm, pb, pc, pv };
}

