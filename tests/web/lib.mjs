// lib.mjs - what the browser tests share: the hearth CLI on the hub's replica, raw
// HTTP requests, checks that stop at the first failure, and joining and logging in
// through the pages.
import { execFileSync } from 'node:child_process';
import http from 'node:http';

export const env = {
  hearth: process.env.HEARTH,       // the binary
  dir: process.env.HUB_DIR,         // the hub's data directory (serve runs on it)
  base: process.env.WEB_URL,        // http://127.0.0.1:PORT
  addr: process.env.HUB_ADDR,       // hearth://KEY@127.0.0.1:PORT
  dir2: process.env.NODE2_DIR,      // a second node, joined to the forum, not running
  laptop: process.env.LAPTOP_DIR,   // laptops for devices.mjs: not made yet, not running
  laptop2: process.env.LAPTOP2_DIR,
  shots: process.env.HEARTH_SCREENSHOTS === '1' ? process.env.SHOT_DIR : null,
};

let passed = 0;
export function ok(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  passed++;
}
export function same(got, want, what) {
  if (got !== want)
    throw new Error(`check failed: ${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  passed++;
}
export function passedCount() {
  return passed;
}
export function step(what) {
  console.log(`-- ${what}`);
}

// hearth ARGS... - run the CLI on the hub's replica (while serve runs) with --json.
export function hearth(...args) {
  return hearthOn(env.dir, ...args);
}
export function hearthOn(dir, ...args) {
  const out = execFileSync(env.hearth, ['-d', dir, '--json', ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim() ? JSON.parse(out) : null;
}
// syncNode2 - the second node syncs with the hub once; a failure says what sync said.
export function syncNode2() {
  try {
    execFileSync(env.hearth, ['-d', env.dir2, 'sync', env.addr],
                 { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000, encoding: 'utf8' });
  } catch (e) {
    throw new Error(`the second node's sync failed (exit ${e.status}): ${e.stderr || e.message}`);
  }
}
export function events() {
  return hearth('status').events;
}
export function digest() {
  const s = hearth('status');
  return `${s.view_digest}/${s.events}`;
}

// raw - one HTTP request exactly as given: the path is not normalised (fetch would
// resolve /t/../.. before sending). Resolves {status, headers, text}.
export function raw(method, path, { headers = {}, body = null } = {}) {
  const u = new URL(env.base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, method, path, headers: {
        ...(body !== null ? { 'Content-Type': 'application/x-www-form-urlencoded',
                              'Content-Length': Buffer.byteLength(body) } : {}),
        ...headers,
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                    text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error(`${method} ${path.slice(0, 80)}: timeout`)));
    if (body !== null) req.write(body);
    req.end();
  });
}

export function form(fields) {
  return new URLSearchParams(fields).toString();
}

// cookie - the value a Set-Cookie header of res gives to name, or null.
export function cookie(res, name) {
  for (const c of [].concat(res.headers['set-cookie'] || [])) {
    const m = c.match(new RegExp(`^${name}=([^;]*)`));
    if (m) return m[1];
  }
  return null;
}

export function csrfOf(html) {
  const m = html.match(/name="csrf" value="([0-9a-f]+)"/);
  return m ? m[1] : null;
}

// A member driven with raw requests: {cookie, csrf, pk}.
export async function rawLogin(login, pass) {
  const g = await raw('GET', '/login');
  const hc = cookie(g, 'hc');
  const r = await raw('POST', '/login', { headers: { Cookie: `hc=${hc}` },
    body: form({ csrf: csrfOf(g.text), login, pass }) });
  same(r.status, 303, `raw login of ${login}`);
  const hs = cookie(r, 'hs');
  const home = await raw('GET', '/', { headers: { Cookie: `hs=${hs}` } });
  return { cookie: `hs=${hs}`, csrf: csrfOf(home.text), pk: pkOf(home.text) };
}

export async function rawJoin(code, login, name, pass) {
  const g = await raw('GET', '/join');
  const hc = cookie(g, 'hc');
  const r = await raw('POST', '/join', { headers: { Cookie: `hc=${hc}` },
    body: form({ csrf: csrfOf(g.text), code, login, name, pass }) });
  same(r.status, 303, `raw join of ${login}`);
  const hs = cookie(r, 'hs');
  const home = await raw('GET', '/', { headers: { Cookie: `hs=${hs}` } });
  return { cookie: `hs=${hs}`, csrf: csrfOf(home.text), pk: pkOf(home.text) };
}

export function pkOf(html) {
  const m = html.match(/href="\/u\/([0-9a-f]{64})">My profile/);
  return m ? m[1] : null;
}

// ---- in the browser ----

export const phone = { viewport: { width: 360, height: 640 }, javaScriptEnabled: false };

export async function shot(page, name) {
  if (!env.shots) return;
  await page.screenshot({ path: `${env.shots}/${name}.png` });
}

// joinPage - join through /join (code filled in unless the link carried it); the
// member's key, read from the "My profile" link.
export async function joinPage(page, { code, login, name, pass, url }) {
  await page.goto(url || `${env.base}/join`);
  if (code !== undefined) await page.fill('#code', code);
  await page.fill('#login', login);
  await page.fill('#name', name);
  await page.fill('#pass', pass);
  await submit(page, 'main form button[type=submit]');
  if (page.url() !== `${env.base}/`)
    throw new Error(`joining as ${login}: ${await page.textContent('main')}`);
  const href = await page.getAttribute('nav a:text("My profile")', 'href');
  ok(/^\/u\/[0-9a-f]{64}$/.test(href || ''), `${login} is logged in after joining`);
  return href.slice(3);
}

export async function loginPage(page, login, pass) {
  await page.goto(`${env.base}/login`);
  await page.fill('#login', login);
  await page.fill('#pass', pass);
  await submit(page, 'main form button[type=submit]');
  if (page.url() !== `${env.base}/`)
    throw new Error(`logging in as ${login}: ${await page.textContent('main')}`);
  const href = await page.getAttribute('nav a:text("My profile")', 'href');
  ok(href, `${login} is logged in`);
  return href.slice(3);
}

// submit - click a submit button and wait for the page it leads to.
export async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

export function threadIdOf(url) {
  const m = url.match(/\/t\/([0-9a-f]{64})/);
  return m ? m[1] : null;
}

export function readThread(id, dir = env.dir) {
  return hearthOn(dir, 'read', id);
}
