// messages.mjs - notifications and the private channel on a phone (JavaScript off): a member writes to
// the moderators from the Messages page; the moderator finds the conversation waiting,
// reads it and answers; the member sees the answer marked new, with a count in the
// header. Across nodes: the second node's member writes from the command line and syncs,
// and the moderator reads it in the browser; the second node holds the hub's messages
// and cannot read them, and their words are in no database file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { env, ok, same, step, hearth, hearthOn, shot, submit, syncNode2 } from './lib.mjs';


function dbHas(dir, words) {
  execFileSync('sqlite3', [`${dir}/hearth.db`, 'PRAGMA wal_checkpoint(TRUNCATE)'],
               { stdio: ['ignore', 'pipe', 'pipe'] });
  return readFileSync(`${dir}/hearth.db`).includes(Buffer.from(words));
}

export async function messages(browser, s) {
  const pc = s.pages.pc; // Cal, a member
  const pm = s.pages.pm; // Moana, a moderator
  const pb = s.pages.pb; // Bea, another member

  step('a mention reaches the member: counted in the header, listed under Replies to me');
  await pc.goto(`${env.base}/replies`); // read what was there
  const said = `I think @Cal knows the bus times ${Date.now() % 1000}`;
  await pb.goto(`${env.base}/t/${s.moanaThread}`);
  await pb.fill('#text', said);
  await submit(pb, 'main > form button[type=submit]');
  await pc.goto(`${env.base}/`);
  ok(/1/.test(await pc.textContent('nav a:has-text("Replies to me")')),
     'Cal\'s header counts the mention');
  await pc.goto(`${env.base}/replies`);
  ok((await pc.textContent('ul.mentions')).includes(said), 'listed under "Mentions of you"');
  const words = `I have not slept for three nights ${Date.now() % 100000}`;

  step('a member writes privately to the moderators from her phone');
  await pc.goto(`${env.base}/`);
  await pc.click('nav a:has-text("Messages")');
  ok((await pc.textContent('main')).includes('Only you and the forum\'s moderators'),
     'the page says who can read what she writes');
  await pc.fill('#text', words);
  await submit(pc, 'main form button[type=submit]');
  ok(pc.url().endsWith('/messages'), 'she is back on her conversation');
  ok((await pc.textContent('ol.messages')).includes(words), 'her message is there');
  const mine = hearth('messages', s.calPk.slice(0, 16));
  same(mine.length, 1, 'the replica holds one message in her conversation');
  same(mine[0].author, s.calPk, 'signed by her key');
  same(mine[0].text, words, 'the founder (a moderator too) can read it');

  step('the moderator finds it waiting, reads it and answers');
  await pm.goto(`${env.base}/`);
  ok((await pm.textContent('nav a:has-text("Messages")')).includes('1'),
     'the header counts one conversation waiting');
  await pm.goto(`${env.base}/messages`);
  await shot(pm, 'messages');
  const row = pm.locator(`li:has(a[href="/messages/${s.calPk}"])`);
  ok((await row.textContent()).includes('Waiting'), 'Cal\'s conversation is marked waiting');
  await row.locator('a').click();
  ok((await pm.textContent('ol.messages')).includes(words), 'the moderator reads her words');
  const answer = 'Thank you for telling us. Would a call from our counsellor help?';
  await pm.fill('#text', answer);
  await submit(pm, 'main form button[type=submit]');
  ok(pm.url().endsWith(`/messages/${s.calPk}`), 'the moderator is back on the conversation');
  ok((await pm.textContent('ol.messages')).includes(answer), 'the answer is there');
  await pm.goto(`${env.base}/messages`);
  ok(!(await pm.locator(`li:has(a[href="/messages/${s.calPk}"])`).textContent())
    .includes('Waiting'), 'no longer waiting');

  step('the member sees the answer, marked new, and the count goes once read');
  await pc.goto(`${env.base}/`);
  ok((await pc.textContent('nav a:has-text("Messages")')).includes('1'),
     'her header counts one new answer');
  await pc.goto(`${env.base}/messages`);
  const last = pc.locator('ol.messages li').last();
  ok((await last.textContent()).includes(answer), 'she reads the answer');
  ok((await last.textContent()).includes('New'), 'marked new');
  ok((await last.textContent()).includes('moderator'), 'marked as from a moderator');
  await shot(pc, 'conversation');
  await pc.goto(`${env.base}/`);
  ok(!/\d/.test(await pc.textContent('nav a:has-text("Messages")')), 'the count is gone');

  step('another member cannot open someone else\'s conversation');
  const res = await pb.goto(`${env.base}/messages/${s.calPk}`);
  same(res.status(), 403, 'Bea is refused Cal\'s conversation');
  ok(!(await pb.textContent('main')).includes(words), 'and shown nothing of it');

  step('across nodes: the second node carries the messages and cannot read them');
  syncNode2();
  const held = execFileSync('sqlite3', [`${env.dir2}/hearth.db`,
                                        'select count(*) from events where kind = 14'],
                            { encoding: 'utf8' }).trim();
  same(held, '2', 'the second node holds both messages');
  same(hearthOn(env.dir2, 'messages').length, 0, 'its member has no conversation of their own');
  ok(!dbHas(env.dir2, words) && !dbHas(env.dir2, answer),
     'the words are in neither the second node\'s file…');
  ok(!dbHas(env.dir, words) && !dbHas(env.dir, answer), '…nor the hub\'s, in clear');

  step('across nodes: the second node\'s member writes; the moderator reads it in the browser');
  const far = 'Writing from the farm: the road is out again, can someone call?';
  execFileSync(env.hearth, ['-d', env.dir2, 'message', '--text', far],
               { stdio: ['ignore', 'pipe', 'pipe'] });
  syncNode2();
  const farPk = hearthOn(env.dir2, 'id').author;
  await pm.goto(`${env.base}/messages`);
  ok((await pm.locator(`li:has(a[href="/messages/${farPk}"])`).textContent()).includes('Waiting'),
     'the far member\'s conversation is waiting on the hub');
  await pm.goto(`${env.base}/messages/${farPk}`);
  ok((await pm.textContent('ol.messages')).includes(far), 'the moderator reads it');
  await pm.fill('#text', 'Calling you within the hour.');
  await submit(pm, 'main form button[type=submit]');
  syncNode2();
  const there = hearthOn(env.dir2, 'messages');
  same(there.length, 2, 'the answer reached the far node');
  same(there[1].text, 'Calling you within the hour.', 'and its member reads it');
  same(there[1].from_moderator, true, 'from a moderator');
}
