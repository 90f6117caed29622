// hostile.mjs - hostile web input. An XSS catalogue in every field that reaches a page,
// then every page that shows it loaded with JavaScript on (and the CSP bypassed, so
// that only the escaping stands between the payload and the page): no dialog, no
// script, handler or javascript: URL in the DOM or in the raw HTML. Then CSRF, session
// fixation, oversized and malformed requests and path tricks, each with its status and
// the replica unchanged, and the hub still serving.
import {
  env, ok, same, step, hearth, digest, raw, form, cookie, csrfOf, rawJoin, rawLogin,
} from './lib.mjs';

const PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(2)>',
  "'><svg onload=alert(3)>",
  '[click me](javascript:alert(4))',
  '<a href="javascript:alert(5)">x</a>',
  "'-alert(6)-'",
  '![pic](javascript:alert(7))',
  '</textarea><iframe src="javascript:alert(8)"></iframe>',
  '[x](JaVaScRiPt:alert(9)) <javascript:alert(10)> <style>*{display:none}</style>',
  '&lt;b&gt;typed entities&lt;/b&gt; &#60;script&#62;alert(11)',
  '<details open ontoggle=alert(12)><summary>x',
  '" autofocus onfocus="alert(13)',
];
const BIDI = 'invoice\u202Etxt.exe';
const zeroId = '0'.repeat(64);

// ---- checking HTML ----

function decode(v) {
  return v.replace(/&#x([0-9a-f]+);?/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);?/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&colon;/gi, ':').replace(/&tab;|&newline;/gi, '')
    .replace(/&quot;/g, '"').replace(/&apos;|&#39;/g, "'").replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const BAD_TAGS = new Set(['iframe', 'object', 'embed', 'svg', 'math', 'style', 'base', 'frame',
  'frameset', 'applet', 'template', 'video', 'audio']);
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'srcset']);
const BAD_URL = /^[\s\u0000-\u001f]*(javascript|vbscript|data):/i;

// rawProblems - what in the HTML as sent could run: tags are read as a browser would
// (the pages quote every attribute with "), so an escaped payload is text, not a tag.
export function rawProblems(html) {
  const bad = [];
  const tag = /<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s"'>\/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
  const attr = /([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = tag.exec(html))) {
    const name = m[1].toLowerCase();
    const attrs = {};
    let a;
    while ((a = attr.exec(m[2]))) attrs[a[1].toLowerCase()] = decode(a[2] ?? a[3] ?? a[4] ?? '');
    if (BAD_TAGS.has(name)) bad.push(`<${name}>`);
    if (name === 'script' && attrs.src !== '/quick.js') bad.push(`<script ${m[2]}>`);
    if (name === 'meta' && 'http-equiv' in attrs) bad.push('<meta http-equiv>');
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith('on')) bad.push(`<${name} ${k}=>`);
      if (URL_ATTRS.has(k) && BAD_URL.test(v)) bad.push(`<${name} ${k}="${v}">`);
      if (k === 'autofocus' && name !== 'input') bad.push(`<${name} autofocus>`);
    }
  }
  if ((html.match(/<script/gi) || []).length !== 1) bad.push('a <script other than /quick.js');
  return bad;
}

// domProblems - the same, asked of the page the browser built.
function domProblems() {
  const bad = [];
  const badTags = ['iframe', 'object', 'embed', 'svg', 'math', 'style', 'base', 'frame', 'applet'];
  for (const el of document.querySelectorAll('*')) {
    const n = el.localName;
    if (badTags.includes(n)) bad.push(`<${n}>`);
    if (n === 'script' && el.getAttribute('src') !== '/quick.js') bad.push('<script>');
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) bad.push(`<${n} ${a.name}>`);
      if (['href', 'src', 'action', 'formaction'].includes(a.name) &&
          /^[\s\u0000-\u001f]*(javascript|vbscript|data):/i.test(a.value))
        bad.push(`<${n} ${a.name}="${a.value}">`);
    }
  }
  return bad;
}

// ---- the members ----

function location(res) {
  return res.headers.location || '';
}

async function send(who, path, fields, want = 303) {
  const r = await raw('POST', path, { headers: { Cookie: who.cookie },
                                      body: form({ csrf: who.csrf, ...fields }) });
  same(r.status, want, `POST ${path.slice(0, 20)} ${JSON.stringify(fields).slice(0, 60)}`);
  return r;
}

export async function hostile(browser, s) {
  hearth('settings', '--hold', '0');
  const code = hearth('invite').code;
  const xena = await rawJoin(code, 'xena', 'Xena', 'xena passphrase 1');
  ok(xena.pk && xena.csrf, 'a member joins with raw requests');
  const moana = await rawLogin('moana', 'correct horse battery');
  const bea = await rawLogin('bea', 'correct horse battery');

  // The viewers, JavaScript on, CSP bypassed: a moderator (sees the queue and hidden
  // posts) and Xena herself (her forms refilled with what she typed).
  const jsOpts = { viewport: { width: 360, height: 640 }, javaScriptEnabled: true, bypassCSP: true };
  const modCtx = await browser.newContext(jsOpts);
  const host = new URL(env.base).hostname;
  await modCtx.addCookies([{ name: 'hs', value: moana.cookie.slice(3), domain: host, path: '/' }]);
  const xenaCtx = await browser.newContext(jsOpts);
  await xenaCtx.addCookies([{ name: 'hs', value: xena.cookie.slice(3), domain: host, path: '/' }]);
  const dialogs = [];
  const viewers = [];
  for (const [c, who] of [[modCtx, moana], [xenaCtx, xena]]) {
    const p = await c.newPage();
    p.on('dialog', async (d) => { dialogs.push(`${p.url()}: ${d.message()}`); await d.dismiss(); });
    viewers.push([p, who]);
  }
  let loaded = 0;
  async function look(path, who = null) {
    for (const [p, w] of viewers) {
      if (who && w !== who) continue;
      const res = await p.goto(`${env.base}${path}`);
      ok(res.status() < 500, `${path.slice(0, 40)} answers`);
      await p.waitForLoadState('load');
      const d = await p.evaluate(domProblems);
      same(d.join(', '), '', `nothing runnable in the DOM of ${path.slice(0, 40)}`);
      const r = await raw('GET', path, { headers: { Cookie: w.cookie } });
      same(rawProblems(r.text).join(', '), '', `nothing runnable in the HTML of ${path.slice(0, 40)}`);
      loaded++;
    }
  }

  step('an XSS catalogue in every field that reaches a page');
  const threads = [];
  for (const [i, P] of PAYLOADS.entries()) {
    const title = `${P} #${i}`;
    let r = await send(xena, `/new/${s.board}`, { title, text: P, cw: '' });
    const thread = location(r).match(/\/t\/([0-9a-f]{64})/)[1];
    r = await send(xena, `/reply/${thread}`, { text: `reply ${P}`, cw: P });
    const reply = hearth('read', thread).find((x) => x.kind === 'reply').id;
    same(hearth('read', thread)[0].title, title, 'the title is stored as typed');
    await send(bea, `/flag/${thread}`, { reason: P });
    await send(moana, `/mod/${reply}`, { action: 'hide', reason: P });
    await send(bea, `/react/${thread}`, { reaction: 'support' });
    threads.push([thread, title]);
    // A profile is last-writer-wins: each name and about is looked at before the next.
    await send(xena, '/profile', { name: Buffer.from(P).subarray(0, 60).toString(), about: P });
    await look(`/u/${xena.pk}`);
  }
  // Threads stay: each is looked at once, by the moderator (who also sees the hidden
  // reply with its warning), and by its author in her forms.
  for (const [i, [thread, title]] of threads.entries()) {
    await look(`/t/${thread}`, moana);
    same(await viewers[0][0].textContent('h1'), title, 'the title reads as typed, as text');
    await look(`/search?q=${encodeURIComponent(PAYLOADS[i])}`, moana);
    if (i % 3 === 0) {
      await look(`/edit/${thread}`, xena);
      await look(`/retract/${thread}`, xena);
      await look(`/flag/${thread}`, moana);
    }
  }
  for (const path of ['/', `/b/${s.board}`, `/search?q=${encodeURIComponent(PAYLOADS.join(' '))}`,
                      `/join?code=${encodeURIComponent(PAYLOADS[1])}`])
    await look(path);
  await look('/mod', moana);
  await look('/replies', xena);
  same(dialogs.join('\n'), '', 'no dialog opened on any page');
  ok(loaded > 40, `${loaded} page loads checked`);

  step('a bidi override is refused in names, titles and reasons, and nothing changes');
  let before = digest();
  await send(xena, `/new/${s.board}`, { title: BIDI, text: 'x' }, 400);
  await send(xena, '/profile', { name: BIDI }, 400);
  await send(bea, `/flag/${s.moanaThread}`, { reason: BIDI }, 400);
  const join2 = await raw('GET', '/join');
  const hc = cookie(join2, 'hc');
  const jr = await raw('POST', '/join', { headers: { Cookie: `hc=${hc}` },
    body: form({ csrf: csrfOf(join2.text), code: hearth('invite').code, login: 'bidi', name: BIDI,
                 pass: 'long enough passphrase' }) });
  same(jr.status, 400, 'joining with a bidi override in the name is refused');
  same(digest(), before, 'the replica is unchanged');

  step('CSRF: a wrong, missing or foreign token or origin is refused (403)');
  before = digest();
  const fields = { title: 'csrf test', text: 'should not exist' };
  for (const [what, body, headers] of [
    ['a wrong token', form({ csrf: 'a'.repeat(64), ...fields }), {}],
    ['no token', form(fields), {}],
    ['another member\'s token', form({ csrf: bea.csrf, ...fields }), {}],
    ['Origin http://evil.example', form({ csrf: xena.csrf, ...fields }), { Origin: 'http://evil.example' }],
    ['Origin null', form({ csrf: xena.csrf, ...fields }), { Origin: 'null' }],
    ['Origin of another port', form({ csrf: xena.csrf, ...fields }), { Origin: 'http://127.0.0.1:1' }],
  ]) {
    const r = await raw('POST', `/new/${s.board}`, { headers: { Cookie: xena.cookie, ...headers }, body });
    same(r.status, 403, `a post with ${what} is refused`);
  }
  const g = await raw('GET', `/react/${s.moanaThread}?reaction=hug`, { headers: { Cookie: xena.cookie } });
  same(g.status, 405, 'a state change by GET is refused');
  const anon = await raw('POST', '/login', { body: form({ login: 'bea', pass: 'correct horse battery' }) });
  same(anon.status, 403, 'a login with no token is refused');
  same(digest(), before, 'the replica is unchanged');
  const okr = await raw('POST', `/new/${s.board}`, { headers: { Cookie: xena.cookie,
    Origin: env.base }, body: form({ csrf: xena.csrf, title: 'same origin', text: 'fine' }) });
  same(okr.status, 303, 'the same post with the right token and origin goes through');

  step('the security headers are on every page');
  for (const [path, who] of [['/', null], [`/t/${s.moanaThread}`, xena], ['/nowhere', null], ['/replies', xena]]) {
    const r = await raw('GET', path, { headers: who ? { Cookie: who.cookie } : {} });
    const hd = r.headers;
    ok((hd['content-security-policy'] || '').includes("default-src 'self'") &&
       hd['content-security-policy'].includes("frame-ancestors 'none'") &&
       hd['content-security-policy'].includes("form-action 'self'"), `the CSP on ${path}`);
    same(hd['x-content-type-options'], 'nosniff', `nosniff on ${path}`);
    ok(['no-referrer', 'same-origin'].includes(hd['referrer-policy']), `no referrer leaves the hub from ${path}`);
    same(hd['cache-control'], 'no-store', `no-store on ${path}`);
  }

  step('session fixation: a cookie planted before login is not the session after it');
  const attacker = 'b'.repeat(64);
  const lg = await raw('GET', '/login', { headers: { Cookie: `hs=${attacker}` } });
  const hc2 = cookie(lg, 'hc');
  const lr = await raw('POST', '/login', { headers: { Cookie: `hs=${attacker}; hc=${hc2}` },
    body: form({ csrf: csrfOf(lg.text), login: 'bea', pass: 'correct horse battery' }) });
  same(lr.status, 303, 'the login succeeds');
  const fresh = cookie(lr, 'hs');
  ok(/^[0-9a-f]{64}$/.test(fresh || ''), 'the login sets a new session cookie');
  ok(fresh !== attacker, 'the session is not the planted one');
  const asAttacker = await raw('GET', '/', { headers: { Cookie: `hs=${attacker}` } });
  ok(!asAttacker.text.includes('My profile'), 'the planted cookie is no session');
  const asMember = await raw('GET', '/', { headers: { Cookie: `hs=${fresh}` } });
  ok(asMember.text.includes(`/u/${s.beaPk}`), 'the new cookie is Bea\'s session');
  ok(/HttpOnly/.test(lr.headers['set-cookie'].join(';')) &&
     /SameSite=Strict/.test(lr.headers['set-cookie'].join(';')), 'the cookie is HttpOnly, SameSite=Strict');
  const out = await raw('POST', '/logout', { headers: { Cookie: `hs=${fresh}` },
                                             body: form({ csrf: csrfOf(asMember.text) }) });
  same(out.status, 303, 'logging out');
  ok(!(await raw('GET', '/', { headers: { Cookie: `hs=${fresh}` } })).text.includes('My profile'),
     'the session ends at logout');

  step('oversized and malformed requests');
  before = digest();
  const big = form({ csrf: xena.csrf, title: 'big', text: 'x'.repeat(210 * 1024) });
  same((await raw('POST', `/new/${s.board}`, { headers: { Cookie: xena.cookie }, body: big })).status,
       413, 'a body over 200 KiB gets 413');
  same((await rawChunked(`/new/${s.board}`, xena.cookie, big)).status, 413,
       'the same body sent in chunks (no Content-Length) gets 413');
  for (const [what, body] of [
    ['a bad %-escape', `csrf=${xena.csrf}&title=%ZZ&text=x`],
    ['a cut %-escape', `csrf=${xena.csrf}&title=x&text=abc%4`],
    ['invalid UTF-8', `csrf=${xena.csrf}&title=%FF%FE&text=x`],
    ['an overlong UTF-8 slash', `csrf=${xena.csrf}&title=%C0%AF&text=x`],
    ['a NUL', `csrf=${xena.csrf}&title=a%00b&text=x`],
    ['a field with no =', `csrf=${xena.csrf}&title&text=x`],
    ['too many fields', `csrf=${xena.csrf}&` + Array.from({ length: 40 }, (_, i) => `f${i}=1`).join('&')],
  ]) {
    const r = await raw('POST', `/new/${s.board}`, { headers: { Cookie: xena.cookie }, body });
    same(r.status, 400, `a form with ${what} gets 400`);
  }
  same(digest(), before, 'the replica is unchanged');

  step('writes on what cannot take them are refused with a 4xx, and nothing changes');
  hearth('mod', 'lock', s.cwThread, '--reason', 'closed for now');
  before = digest();
  for (const [what, who, path, fields] of [
    ['a reply to a locked thread', xena, `/reply/${s.cwThread}`, { text: 'still here?' }],
    ['an unknown reaction', xena, `/react/${s.moanaThread}`, { reaction: 'angry' }],
    ['an edit of a retracted reply', bea, `/edit/${s.beaReply}`, { text: 'back again' }],
    ['an edit of someone else\'s post', xena, `/edit/${s.moanaThread}`, { text: 'mine now' }],
    ['taking back someone else\'s post', xena, `/retract/${s.moanaThread}`, { confirm: 'yes' }],
    ['a flag of one\'s own post', moana, `/flag/${s.moanaThread}`, { reason: 'me' }],
    ['moderating without the role', xena, `/mod/${s.moanaThread}`, { action: 'remove', reason: 'x' }],
    ['an unknown moderation action', moana, `/mod/${s.moanaThread}`, { action: 'explode', reason: 'x' }],
    ['a moderation without a reason', moana, `/mod/${s.moanaThread}`, { action: 'hide' }],
    ['invites without the role', xena, '/invites', {}],
    ['an empty post', xena, `/new/${s.board}`, { title: ' ', text: ' ' }],
    ['a title of 301 bytes', xena, `/new/${s.board}`, { title: 'x'.repeat(301), text: 'x' }],
    ['a name of 65 bytes', xena, '/profile', { name: 'x'.repeat(65) }],
    ['a post in an unknown board', xena, `/new/${zeroId}`, { title: 'x', text: 'x' }],
  ]) {
    const r = await raw('POST', path, { headers: { Cookie: who.cookie }, body: form({ csrf: who.csrf, ...fields }) });
    ok(r.status >= 400 && r.status < 500, `${what} gets a 4xx (got ${r.status})`);
  }
  same(digest(), before, 'the replica is unchanged');

  step('unknown ids and path tricks get 400 or 404; the hub keeps serving');
  const zero = '0'.repeat(64);
  for (const [path, want] of [
    [`/t/${zero}`, [404]], [`/b/${zero}`, [404]], [`/u/${zero}`, [404]], ['/t/abc', [404]],
    [`/t/${zero.slice(1)}g`, [404]], [`/reply/${zero}`, [404, 405]],
    ['/t/../../etc/passwd', [400, 404]], ['/%2e%2e/%2e%2e/etc/passwd', [400, 404]],
    ['/b/%00', [400, 404]], ['/t/%FF%FE', [400, 404]], ['//etc/passwd', [400, 404]],
    ['/style.css/../../etc/passwd', [400, 404]], ['/search?q=%FF', [200, 400]],
    [`/b/${s.board}?before=-1`, [400]], [`/b/${s.board}?before=99999999999999999999.1.${zero}`, [400]],
    [`/b/${s.board}?before=${'9'.repeat(500)}`, [400]], [`/t/${zero}?before=1.1.${zero}`, [404]],
    ['/search?q=help&before=1.2', [400]],
    ['/' + 'a'.repeat(20000), [400, 404, 414, 431]],
    ['/search?q=' + 'a'.repeat(60000), [200, 400, 414, 431]],
  ]) {
    const r = await raw('GET', path, { headers: { Cookie: xena.cookie } }).catch((e) => ({ status: `error ${e.message}` }));
    ok(want.includes(r.status), `GET ${path.slice(0, 40)} gets ${want.join('/')} (got ${r.status})`);
  }
  for (const c of ['hs=' + 'x'.repeat(8000), ';;;==;hs', 'hs=%00%ff; hc=\u00ff', `hs=${'0'.repeat(64)}; hs=${'1'.repeat(64)}`]) {
    const r = await raw('GET', '/', { headers: { Cookie: c } }).catch((e) => ({ status: `error ${e.message}` }));
    ok([200, 400, 431].includes(r.status), `a strange cookie gets 200/400/431 (got ${r.status})`);
    ok(!(r.text || '').includes('My profile'), 'and no session');
  }
  const huge = await raw('GET', '/', { headers: { 'X-Pad': 'y'.repeat(40000) } }).catch((e) => ({ status: `error ${e.message}` }));
  ok([400, 413, 431].includes(huge.status) || String(huge.status).startsWith('error'),
     `headers over the connection's memory are refused (got ${huge.status})`);
  same((await raw('PUT', '/', { body: 'x' })).status, 405, 'PUT gets 405');
  const head = await raw('HEAD', '/');
  same(head.status, 200, 'HEAD / gets 200');
  same((await raw('GET', '/')).status, 200, 'the hub still serves its home page');
  same(digest(), before, 'the replica is unchanged');
  await modCtx.close();
  await xenaCtx.close();
}

// rawChunked - a POST whose body comes in chunks, with no Content-Length.
async function rawChunked(path, cookieHeader, body) {
  const http = await import('node:http');
  const u = new URL(env.base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path,
      headers: { Cookie: cookieHeader, 'Content-Type': 'application/x-www-form-urlencoded' } },
    (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode })); });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 16384) req.write(body.slice(i, i + 16384));
    req.end();
  });
}
