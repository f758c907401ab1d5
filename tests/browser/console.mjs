// SPDX-License-Identifier: Apache-2.0
// The console in a real browser: Debian's chromium, headless, driven by
// playwright-core. Run by tests/integration/it_console.c against a server it
// seeded; environment: AC_CONSOLE_URL, AC_CONSOLE_TOKEN (read + operate +
// ingest), AC_SCREENSHOTS (a directory), AC_CHROMIUM (default
// /usr/bin/chromium). Every check that fails throws; exit 0 means all held.
// Prints one line a check, and the screenshot files it saved.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const URL0 = process.env.AC_CONSOLE_URL;
const TOKEN = process.env.AC_CONSOLE_TOKEN;
const SHOTS = process.env.AC_SCREENSHOTS;
const LEVELS = ['P1', 'P2', 'P3', 'P4'];
const T = 20000; // the longest a check waits for the page

if (!URL0 || !TOKEN || !SHOTS) {
  console.error('AC_CONSOLE_URL, AC_CONSOLE_TOKEN and AC_SCREENSHOTS are required');
  process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });

let checks = 0;
function ok(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  checks++;
  console.log('ok ' + checks + ' - ' + what);
}

async function api(method, p, body) {
  const r = await fetch(URL0 + p, {
    method,
    headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(method + ' ' + p + ': ' + r.status + ' ' + text);
  return text ? JSON.parse(text) : null;
}

// Open alerts or incidents per level, counted from the lists (not /v1/summary).
async function countsFromLists(kind) {
  const out = { P1: 0, P2: 0, P3: 0, P4: 0 };
  let cursor = '';
  for (let pages = 0; pages < 100; pages++) {
    const q = new URLSearchParams({ status: kind === 'incidents' ? 'active' : 'open', limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', '/v1/' + kind + '?' + q);
    for (const x of r.items) out[x.level]++;
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return out;
}

async function renderedCounts(page) {
  const out = {};
  for (const l of LEVELS) out[l] = Number(await page.textContent('[data-count="' + l + '"]'));
  return out;
}

// Waits until the page shows the counts the API has (they move while
// escalation runs: each round reads the API again).
async function countsAgree(page, kind) {
  const end = Date.now() + T;
  let want, got;
  while (Date.now() < end) {
    want = await countsFromLists(kind);
    got = await renderedCounts(page);
    if (LEVELS.every((l) => want[l] === got[l])) return { want, got };
    await page.waitForTimeout(500);
  }
  throw new Error('FAILED: rendered ' + JSON.stringify(got) + ' vs API ' + JSON.stringify(want));
}

async function ready(page, name) {
  await page.waitForSelector('body[data-ready="' + name + '"]', { timeout: T });
}

async function shot(page, name) {
  const f = path.join(SHOTS, name + '.png');
  await page.screenshot({ path: f, fullPage: false });
  console.log('# screenshot ' + f);
}

const browser = await chromium.launch({
  executablePath: process.env.AC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } });
const page = await ctx.newPage();
try {
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // the wrong token's 401 is logged by the browser as a failed load: expected
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().includes('401 (Unauthorized)')) problems.push('console: ' + m.text());
});
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(URL0)) outside.push(r.url()); });

  // --- the page and its policy
  const resp = await page.goto(URL0 + '/');
  const csp = resp.headers()['content-security-policy'] || '';
  ok(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'),
    'the page carries a strict Content-Security-Policy');
  await page.waitForSelector('#login:not([hidden])', { timeout: T });
  ok(true, 'the sign-in form shows without a token');

  // --- sign in: a wrong token is refused, the right one kept in sessionStorage
  await page.fill('#token', 'not-a-valid-token-0000');
  await page.click('#login-form button');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0,
    null, { timeout: T });
  ok(true, 'a wrong token is refused on the sign-in form');
  await page.fill('#token', TOKEN);
  await page.click('#login-form button');
  await ready(page, 'overview');
  ok(await page.evaluate(() => sessionStorage.getItem('ac_token')) === TOKEN,
    'the token is kept in sessionStorage');

  // --- incidents: counts per level against the API, paging
  let c = await countsAgree(page, 'incidents');
  ok(true, 'incident counts per level match the API: ' + JSON.stringify(c.got));
  let rows = await page.$$eval('#list tbody tr', (t) => t.length);
  ok(rows === 50, 'the first page shows 50 incidents (' + rows + ')');
  await shot(page, 'incidents');

  // --- alerts: 10,000 open alerts, paged, counts against the API
  await page.click('#nav a[data-view="alerts"]');
  const t0 = Date.now();
  await ready(page, 'alerts');
  const ms = Date.now() - t0;
  c = await countsAgree(page, 'alerts');
  const total = LEVELS.reduce((s, l) => s + c.got[l], 0);
  ok(total >= 10000, 'alert counts per level match the API with ' + total + ' open alerts');
  rows = await page.$$eval('#list tbody tr', (t) => t.length);
  ok(rows === 50, 'only one page of alerts is in the page (' + rows + ' rows, drawn in ' + ms + ' ms)');
  const firstId = await page.getAttribute('#list tbody tr', 'data-id');
  await page.click('#next');
  await page.waitForFunction((id) => {
    const r = document.querySelector('#list tbody tr');
    return r && r.getAttribute('data-id') !== id;
  }, firstId, { timeout: T });
  ok((await page.textContent('#page')).startsWith('page 2'), 'the next page of alerts loads');
  await page.fill('#f-type', 'ConsoleHostile');
  await page.click('.filters button[type="submit"]');
  await page.waitForFunction(() => {
    const r = document.querySelectorAll('#list tbody tr');
    return r.length === 1;
  }, null, { timeout: T });
  const hostile = await page.textContent('#list tbody tr');
  ok(hostile.includes('<img src=x onerror=') && (await page.$$('#list img')).length === 0,
    'a title with markup shows as text, not HTML');
  await shot(page, 'alerts');

  // --- live: a new P1 incident appears without a reload
  await page.click('#nav a[data-view="overview"]');
  await ready(page, 'overview');
  await page.selectOption('#f-level', 'P1');
  await page.waitForFunction(() => document.querySelector('#list'), null, { timeout: T });
  await page.evaluate(() => { window.__noReload = true; });
  const p1Before = Number(await page.textContent('[data-count="P1"]'));
  await api('POST', '/v1/events', { source: 'probe', type: 'ConsoleLiveP1', level: 'P1',
    title: 'payments down (live)', app_id: 'pay-live' });
  await page.waitForFunction((n) =>
    Number(document.querySelector('[data-count="P1"]').textContent) > n, p1Before, { timeout: T });
  await page.waitForSelector('#list tbody tr:has-text("ConsoleLiveP1")', { timeout: T });
  ok(await page.evaluate(() => window.__noReload === true),
    'a new P1 incident shows up in the open list without a reload');

  // --- an incident: timeline, acknowledge, the API agrees
  await page.click('#list tbody tr:has-text("ConsoleLiveP1")');
  await ready(page, 'incident');
  const incId = (await page.textContent('dd[data-field="id"]')).trim();
  ok((await page.$$('table')).length >= 2, 'the incident page shows its alerts and timeline');
  ok((await page.textContent('main')).includes('incident.open'), 'the timeline names the opening');
  await shot(page, 'incident');
  await page.click('#ack');
  await ready(page, 'incident');
  await page.waitForSelector('#flash:not([hidden])', { timeout: T });
  const inc = await api('GET', '/v1/incidents/' + incId);
  ok(inc.status === 'acknowledged', 'after Acknowledge the API says incident ' + incId + ' is acknowledged');
  ok((await page.textContent('dd[data-field="status"]')) === 'acknowledged',
    'the page shows it acknowledged');

  // --- a silence from an alert's labels, then ended
  const alertId = inc.alert_list[0].id;
  await page.goto(URL0 + '/#/alert/' + alertId);
  await ready(page, 'alert');
  await page.click('#silence');
  await ready(page, 'silences');
  const pre = await page.inputValue('#s-matchers');
  ok(pre.includes('type=ConsoleLiveP1'), 'the silence form is filled from the alert: ' + pre.replace(/\n/g, ' '));
  await page.fill('#s-comment', 'browser test');
  await page.click('#s-create');
  await page.waitForSelector('#flash:has-text("created")', { timeout: T });
  const sid = /Silence (\d+) created/.exec(await page.textContent('#flash'))[1];
  let s = await api('GET', '/v1/silences/' + sid);
  ok(s.active === true && s.comment === 'browser test' &&
    s.matchers.some((m) => m.name === 'type' && m.value === 'ConsoleLiveP1'),
    'the API has silence ' + sid + ', active, with the alert\'s matchers');
  await ready(page, 'silences');
  await shot(page, 'silences');
  await page.click('button[data-end="' + sid + '"]');
  await page.waitForSelector('#flash:has-text("ended")', { timeout: T });
  s = await api('GET', '/v1/silences/' + sid);
  ok(s.expired_at !== null && s.active === false, 'after End the API says silence ' + sid + ' ended');

  // --- the other views
  await page.click('#nav a[data-view="escalation"]');
  await ready(page, 'escalation');
  ok((await page.$$('svg.meter')).length > 0, 'escalation windows show counts against thresholds');
  await shot(page, 'escalation');
  await page.click('#nav a[data-view="oncall"]');
  await ready(page, 'oncall');
  const oc = await api('GET', '/v1/oncall');
  const who = oc.teams[0].tiers[0].targets[0].contact.name;
  ok((await page.textContent('main')).includes(who), 'on call now names ' + who + ', as the API');
  await shot(page, 'oncall');
  await page.click('#nav a[data-view="stats"]');
  await ready(page, 'stats');
  ok((await page.$$('svg.chart')).length === 3, 'MTTD, MTTA and MTTR charts are drawn (SVG)');
  ok((await page.$$('svg.chart rect.bar')).length > 0, 'the charts have bars');
  await shot(page, 'stats');
  await page.click('#nav a[data-view="audit"]');
  await ready(page, 'audit');
  await page.fill('#a-action', 'incident.ack');
  await page.click('.filters button[type="submit"]');
  await page.waitForSelector('body[data-ready="audit"] td:text-is("incident.ack")', { timeout: T });
  ok(true, 'the audit log, filtered by action, lists the acknowledgement');
  await shot(page, 'audit');

  ok(outside.length === 0, 'no request left the server\'s origin (' + outside.join(', ') + ')');
  ok(problems.length === 0, 'no script errors or CSP violations: ' + problems.join(' | '));
  console.log('# ' + checks + ' checks passed');
} catch (e) {
  // what the page showed when it failed
  await page.screenshot({ path: path.join(SHOTS, 'failure.png') }).catch(() => {});
  console.log('# failed at ' + page.url() + '; the view said: ' +
    ((await page.textContent('#view').catch(() => '')) || '').slice(0, 600));
  console.log('# problems: ' + problems.join(' | '));
  throw e;
} finally {
  await browser.close();
}
