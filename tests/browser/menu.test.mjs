// The pizzeria's /menu page in a real browser (Debian's Chromium via
// playwright-core), against the Apache and PostgreSQL started by
// tests/browser/harness.sh with the real conf/sites/pizzeria.conf: the
// mock POS reads sql/seed/pos/pizzeria.json and its state file under
// CONSULT_VAR, and items are 86'd the way the restaurant would at its POS,
// with `consult-admin pos-86` (the state file changes, then a signed
// webhook goes to POST /webhooks/pos).
//
// UI contract exercised here (htdocs/pizzeria/menu.mustache,
// htdocs/shared/menu-live.js):
//   /menu             complete without JavaScript: section.menu-cat per
//                     category (h2), [data-item-id] per visible item with
//                     [data-item-name] and .item-price; a sold-out item has
//                     data-sold-out="true" and a visible [data-sold-out-badge]
//   menu-live.js      polls /api/menu/availability every 3 s and updates the
//                     marks in place (no reload), announcing changes in
//                     [data-menu-announce]
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
    ROOT, PORT, launch, newPage, closePage, screenshot, axe, formatViolations, until, OUT,
} from './lib.mjs';

const SLUG = 'pizzeria';
const PIZZERIA = `http://${SLUG}.localhost:${PORT}`;
const T = { timeout: 90_000 };
const run = promisify(execFile);

// What the POS holds: the menu file the vhost's mock POS reads.
const MENU = JSON.parse(readFileSync(join(ROOT, 'sql', 'seed', 'pos', `${SLUG}.json`), 'utf8'));
const VISIBLE = MENU.categories.flatMap((c) => c.items.filter((i) => i.visible !== false)
                                                     .map((i) => ({ ...i, category: c.id })));
const HIDDEN = MENU.categories.flatMap((c) => c.items.filter((i) => i.visible === false));
const usd = (cents) => `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

// The webhook secret and state file, from the site's own configuration.
const CONF = readFileSync(join(ROOT, 'conf', 'sites', `${SLUG}.conf`), 'utf8');
function directive(name) {
    const m = CONF.match(new RegExp(`^\\s*${name}\\s+"([^"]*)"`, 'm'));
    assert.ok(m, `${name} not found in conf/sites/${SLUG}.conf`);
    return m[1];
}
const SECRET = directive('ConsultPOSWebhookSecret');
const STATE_FILE = directive('ConsultPOSStateFile').replace('${CONSULT_VAR}', process.env.CONSULT_VAR || '');
const ADMIN_BIN = process.env.CS_CONSULT_ADMIN || join(ROOT, 'build', 'release', 'consult-admin');

// Items the tests 86; each test puts its own back.
const LIVE_ITEM = 'margherita';
const PHONE_ITEM = 'diavola';
const nameOf = (id) => VISIBLE.find((i) => i.id === id).name;

// GET on the pizzeria's vhost from node (Chromium resolves *.localhost by
// itself; node may not, so this goes to 127.0.0.1 with the Host header).
function get(path) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: PORT, path,
                               headers: { Host: `${SLUG}.localhost:${PORT}`, Accept: 'application/json' } },
        (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    });
}

async function soldOutNow() {
    const res = await get('/api/menu/availability');
    assert.equal(res.status, 200, `GET /api/menu/availability answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body).sold_out;
}

// 86 (or, with undo, un-86) an item at the mock POS, as the restaurant
// would: consult-admin changes the POS's state file and posts the signed
// webhook, and fails unless the webhook was answered 2xx.
const eightySixed = new Set();
async function pos86(item, { undo = false } = {}) {
    const args = ['pos-86', SLUG, item, '--state', STATE_FILE, '--secret', SECRET,
                  '--url', `${PIZZERIA}/webhooks/pos`];
    if (undo) args.push('--undo');
    let out;
    try {
        out = await run(ADMIN_BIN, args, { timeout: 20_000 });
    } catch (e) {
        throw new Error(`consult-admin ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
    assert.match(out.stdout, /webhook .*: 2\d\d /, `the webhook was not accepted: ${out.stdout}`);
    if (undo) eightySixed.delete(item); else eightySixed.add(item);
}

let browser, BASELINE = [];
const pages = new Set();

before(async () => {
    // The first request creates the restaurant and queues its first menu
    // sync (the job worker runs every 200 ms under the harness).
    await until(async () => {
        const res = await get('/api/menu');
        if (res.status !== 200) return false;
        const menu = JSON.parse(res.body);
        return menu.categories?.reduce((n, c) => n + c.items.length, 0) >= VISIBLE.length;
    }, { timeout: 30_000, what: `the first menu sync of ${SLUG} (GET /api/menu)` });
    // Another suite may have left an item 86'd; ours must start available.
    BASELINE = await soldOutNow();
    for (const id of [LIVE_ITEM, PHONE_ITEM]) {
        assert.ok(!BASELINE.includes(id), `${id} is sold out before the tests`);
    }
    browser = await launch();
});

after(async () => {
    for (const p of pages) await closePage(p);
    for (const item of [...eightySixed]) await pos86(item, { undo: true }).catch(() => {});
    await browser?.close();
});

async function page(options) {
    const p = await newPage(browser, options);
    pages.add(p);
    return p;
}

// Like dashboard.test.mjs: open pages are screenshotted when a test fails
// (tests/out/browser/FAILED-*), closed in any case, and whatever the test
// 86'd is put back.
function uitest(name, fn) {
    test(name, T, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            let i = 0;
            for (const p of pages) {
                await screenshot(p, `FAILED-menu-${name.slice(0, 55)}-${i++}`).catch(() => {});
            }
            throw e;
        } finally {
            for (const p of [...pages]) { pages.delete(p); await closePage(p); }
            for (const item of [...eightySixed]) await pos86(item, { undo: true });
        }
    });
}

function assertNoViolations(violations, where) {
    assert.equal(violations.length, 0,
                 `serious or critical axe violations on ${where}:\n${formatViolations(violations)}`);
}

const itemEl = (p, id) => p.locator(`[data-item-id="${id}"]`);
const badgeOf = (p, id) => itemEl(p, id).locator('[data-sold-out-badge]');

// ---------------------------------------------------------------- without JavaScript

uitest('/menu renders in full with JavaScript off: categories, items, prices', async () => {
    const p = await page({ javaScriptEnabled: false });
    const res = await p.goto(`${PIZZERIA}/menu`);
    assert.equal(res.status(), 200, `GET ${PIZZERIA}/menu answered ${res.status()}`);
    assert.match(res.headers()['content-type'] || '', /^text\/html/);
    assert.equal(res.headers()['x-consult-menu-snapshot'], undefined, 'served live, not from a snapshot');
    assert.match(await p.locator('h1').innerText(), /menu/i);
    assert.match(await p.title(), /Slice & Basil/);

    // Every category of the POS menu, in order, with its heading and a
    // link in the section nav.
    const headings = (await p.locator('section.menu-cat h2').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(headings, MENU.categories.map((c) => c.name), 'the category headings');
    for (const c of MENU.categories) {
        const link = p.locator(`nav.menu-nav a[href="#cat-${c.id}"]`);
        assert.equal(await link.count(), 1, `no section link for ${c.id}`);
        await p.locator(`section#cat-${c.id}`).waitFor({ state: 'visible' });
    }

    // Every visible item, in its category, with its name and price; none
    // marked sold out; the hidden staff pie nowhere.
    const items = p.locator('[data-item-id]');
    const n = await items.count();
    assert.ok(n >= 30, `only ${n} items on the menu`);
    assert.equal(n, VISIBLE.length, 'one element per visible POS item');
    for (const it of VISIBLE) {
        const el = p.locator(`section#cat-${it.category} [data-item-id="${it.id}"]`);
        assert.equal(await el.count(), 1, `${it.id} is not listed under ${it.category}`);
        assert.equal((await el.locator('[data-item-name]').innerText()).trim(), it.name);
        assert.equal((await el.locator('.item-price').innerText()).trim(), usd(it.price_cents),
                     `the price of ${it.id}`);
        const out = BASELINE.includes(it.id);
        assert.equal(await el.getAttribute('data-sold-out'), out ? 'true' : null,
                     `${it.id} is ${out ? 'not ' : ''}marked sold out`);
        assert.equal(await el.locator('[data-sold-out-badge]').isVisible(), out,
                     `${it.id} ${out ? 'lacks' : 'shows'} a sold-out badge`);
    }
    for (const it of HIDDEN) {
        assert.equal(await itemEl(p, it.id).count(), 0, `the hidden item ${it.id} is shown`);
        assert.equal(await p.getByText(it.name, { exact: true }).count(), 0, `${it.name} is shown`);
    }
    // A required choice shows in full; optional add-ons fold into details.
    assert.ok(await p.locator('.item .mod-opt').count() > 0, 'no modifier options on the page');
    assert.ok(await p.locator('.item details.mod-more summary').count() > 0, 'no folded add-on groups');
    assert.equal(await p.locator('[data-menu-stale]').isVisible(), false, 'the "menu as of" line shows');
    await screenshot(p, 'menu-no-js');
});

uitest('with JavaScript off, an item 86\'d at the POS is marked sold out by the server', async () => {
    await pos86(PHONE_ITEM);
    await until(async () => (await soldOutNow()).includes(PHONE_ITEM),
                { timeout: 10_000, interval: 200, what: `${PHONE_ITEM} in /api/menu/availability` });
    const p = await page({ javaScriptEnabled: false });
    await p.goto(`${PIZZERIA}/menu`);
    assert.equal(await itemEl(p, PHONE_ITEM).getAttribute('data-sold-out'), 'true');
    await badgeOf(p, PHONE_ITEM).waitFor({ state: 'visible' });
    assert.match(await badgeOf(p, PHONE_ITEM).innerText(), /sold out/i);
    assert.equal(await p.locator('[data-sold-out="true"]').count(), BASELINE.length + 1,
                 'only that item is marked');
});

// ---------------------------------------------------------------- live marks

uitest('an item 86\'d at the POS is marked sold out on the open page within 5 s, without a reload, and back again', async (t) => {
    const p = await page();
    // The script is polling (one answer seen) before the POS changes.
    const firstPoll = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/menu/availability',
                                        { timeout: 15_000 });
    await p.goto(`${PIZZERIA}/menu`);
    const item = itemEl(p, LIVE_ITEM);
    const badge = badgeOf(p, LIVE_ITEM);
    await item.waitFor({ state: 'visible' });
    assert.equal(await badge.isVisible(), false, `${LIVE_ITEM} starts available`);
    const polled = await firstPoll;
    assert.equal(polled.status(), 200, `the page's poll answered ${polled.status()}`);

    // A reload or navigation would lose this marker and fire these events.
    // The observer notes when the mark changed (the same clock as ours).
    await p.evaluate((id) => {
        window.__menuMarker = 'same page';
        window.__menuChanges = [];
        new MutationObserver(() => {
            const el = document.querySelector(`[data-item-id="${id}"]`);
            window.__menuChanges.push({ at: Date.now(), soldOut: el.getAttribute('data-sold-out') === 'true' });
        }).observe(document.querySelector(`[data-item-id="${id}"]`),
                   { attributes: true, attributeFilter: ['data-sold-out'] });
    }, LIVE_ITEM);
    const changedAt = async (soldOut) =>
        (await p.evaluate(() => window.__menuChanges)).find((c) => c.soldOut === soldOut)?.at;
    let navigations = 0;
    p.on('framenavigated', (f) => { if (f === p.mainFrame()) navigations++; });
    p.on('load', () => { navigations++; });

    // Each of the page's polls, for the message when the timing fails.
    let t0 = Date.now();
    const polls = [];
    p.on('response', (r) => {
        if (new URL(r.url()).pathname !== '/api/menu/availability') return;
        r.json().then((d) => polls.push(`+${Date.now() - t0} ms ${r.status()} ${JSON.stringify(d.sold_out)}`),
                      () => polls.push(`+${Date.now() - t0} ms ${r.status()} (no JSON)`));
    });
    await pos86(LIVE_ITEM);
    const posDone = Date.now() - t0;
    await badge.waitFor({ state: 'visible', timeout: 5_000 }).catch((e) => {
        throw new Error(`${LIVE_ITEM} not marked sold out within 5 s of the POS change ` +
                        `(webhook answered after ${posDone} ms; polls: ${polls.join('; ')}): ${e.message}`);
    });
    const goneAfter = (await changedAt(true)) - t0;
    assert.ok(goneAfter <= 5_000, `marked sold out ${goneAfter} ms after the POS change (over 5 s)`);
    assert.equal(await item.getAttribute('data-sold-out'), 'true');
    assert.equal(await item.getAttribute('aria-disabled'), 'true');
    assert.match(await badge.innerText(), /sold out/i);
    assert.equal(await p.locator('[data-sold-out="true"]').count(), BASELINE.length + 1,
                 'only that item is marked');
    assert.equal(await p.evaluate(() => window.__menuMarker), 'same page', 'the page was reloaded');
    assert.equal(navigations, 0, 'the page navigated');
    await until(async () => /is now sold out/.test(await p.locator('[data-menu-announce]').textContent()),
                { timeout: 2_000, interval: 100, what: 'the sold-out announcement' });
    assert.match(await p.locator('[data-menu-announce]').textContent(),
                 new RegExp(`${nameOf(LIVE_ITEM)} is now sold out`));
    await item.scrollIntoViewIfNeeded();
    await item.screenshot({ path: join(OUT, 'menu-live-sold-out-item.png') });

    t0 = Date.now();
    polls.length = 0;
    await pos86(LIVE_ITEM, { undo: true });
    await badge.waitFor({ state: 'hidden', timeout: 5_000 }).catch((e) => {
        throw new Error(`${LIVE_ITEM} still marked sold out 5 s after the POS put it back ` +
                        `(polls: ${polls.join('; ')}): ${e.message}`);
    });
    const backAfter = (await changedAt(false)) - t0;
    assert.ok(backAfter <= 5_000, `available again ${backAfter} ms after the POS change (over 5 s)`);
    assert.equal(await item.getAttribute('data-sold-out'), null);
    assert.equal(await item.getAttribute('aria-disabled'), null);
    assert.equal(await p.locator('[data-sold-out="true"]').count(), BASELINE.length,
                 'nothing else is marked');
    assert.equal(await p.evaluate(() => window.__menuMarker), 'same page', 'the page was reloaded');
    assert.equal(navigations, 0, 'the page navigated');
    await until(async () => /is available again/.test(await p.locator('[data-menu-announce]').textContent()),
                { timeout: 2_000, interval: 100, what: 'the available-again announcement' });
    assert.deepEqual(p.__errors || [], [], 'script errors on the page');
    t.diagnostic(`sold out shown after ${goneAfter} ms (webhook answered after ${posDone} ms), ` +
                 `available again after ${backAfter} ms`);
});

// ---------------------------------------------------------------- phone, axe

uitest('on a phone /menu fits the screen and shows a sold-out item; axe finds nothing serious', async () => {
    await pos86(PHONE_ITEM);
    await until(async () => (await soldOutNow()).includes(PHONE_ITEM),
                { timeout: 10_000, interval: 200, what: `${PHONE_ITEM} in /api/menu/availability` });
    const p = await page({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
                           bypassCSP: true });
    await p.goto(`${PIZZERIA}/menu`);
    await badgeOf(p, PHONE_ITEM).waitFor({ state: 'visible' });
    assert.equal(await itemEl(p, PHONE_ITEM).getAttribute('data-sold-out'), 'true');
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen (sideways scrolling)`);
    await screenshot(p, 'menu-phone-sold-out');
    await itemEl(p, PHONE_ITEM).scrollIntoViewIfNeeded();
    await p.screenshot({ path: join(OUT, 'menu-phone-sold-out-viewport.png') });
    assertNoViolations(await axe(p), '/menu on a phone with a sold-out item');
});

uitest('axe: /menu has no serious or critical violations', async () => {
    const p = await page({ bypassCSP: true });
    await p.goto(`${PIZZERIA}/menu`);
    await itemEl(p, LIVE_ITEM).waitFor({ state: 'visible' });
    await screenshot(p, 'menu');
    assertNoViolations(await axe(p), '/menu');
});

uitest('axe: the pizzeria home page has no serious or critical violations', async () => {
    const p = await page({ bypassCSP: true });
    const res = await p.goto(`${PIZZERIA}/`);
    assert.equal(res.status(), 200, `GET ${PIZZERIA}/ answered ${res.status()}`);
    assert.equal(await p.locator('a[href="/menu"]').first().isVisible(), true, 'no link to the menu');
    await screenshot(p, 'pizzeria-home');
    assertNoViolations(await axe(p), `${PIZZERIA}/`);
});
