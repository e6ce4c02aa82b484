// The dashboard's Menu page in a real browser (Debian's Chromium via
// playwright-core), for the pizzeria of the real conf/sites/pizzeria.conf
// on the mock POS: its staff open the Menu, 86 an item, and see it 86'd and
// pushed to the POS; an axe scan of the page.
//
// UI contract exercised here (modules/inbox/templates/menu.mustache):
//   /menu             li.menu-item[data-pos-id][data-state] per item
//                     (available, pos, eod, undone) with its buttons
//                     "86 today", "86 until undone", "Back on the menu";
//                     .push says what the POS made of a staff 86
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import {
    ROOT, PORT, ADMIN, launch, newPage, closePage, login, screenshot, axe, formatViolations,
    sql, until,
} from './lib.mjs';

const SLUG = 'pizzeria';
const STAFF = { email: 'kitchen@pizzeria.example', name: 'Kai Kitchen', password: 'pizzeria kitchen pass' };
const ITEM = 'arancini';
const ADMIN_BIN = process.env.CS_CONSULT_ADMIN
    || join(ROOT, process.env.BUILD || 'build/release', 'consult-admin');
const T = { timeout: 90_000 };

function admin(...args) {
    execFileSync(ADMIN_BIN, ['--db', process.env.CS_DATABASE, ...args], { stdio: 'pipe' });
}

// GET on the pizzeria's own vhost from node (127.0.0.1 with its Host).
function get(path) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: PORT, path,
                               headers: { Host: `${SLUG}.localhost:${PORT}`, Accept: 'application/json' } },
        (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
        req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    });
}

async function soldOut() {
    const res = await get('/api/menu/availability');
    assert.equal(res.status, 200, `GET /api/menu/availability answered ${res.status}`);
    return JSON.parse(res.body).sold_out;
}

const staffMark = () => sql(`SELECT coalesce(string_agg(a.source || ':' || coalesce(a.pushed, '-'), ','), '')
                               FROM item_availability a JOIN clients c ON c.id = a.client_id
                              WHERE c.slug = :'p1' AND a.item_id = :'p2'`, SLUG, ITEM);

let browser, page;

before(async () => {
    // The restaurant's client (idempotent) and a member of its staff.
    admin('seed', join(ROOT, 'sql', 'seed', 'restaurants.sql'));
    if (sql(`SELECT count(*) FROM staff_users WHERE email = :'p1'`, STAFF.email) === '0') {
        // The password on stdin: user-add takes none on the command line.
        execFileSync(ADMIN_BIN, ['--db', process.env.CS_DATABASE, 'user-add', STAFF.email, STAFF.name,
                                 '--password-stdin'], { input: `${STAFF.password}\n`, stdio: 'pipe' });
    }
    admin('member-add', STAFF.email, SLUG, 'staff');
    // The site's first request makes the restaurant and its first sync.
    await until(async () => {
        const res = await get('/api/menu');
        return res.status === 200 && res.body.includes(`"${ITEM}"`);
    }, { timeout: 30_000, what: `the first menu sync of ${SLUG}` });
    browser = await launch();
});

after(async () => {
    await closePage(page);
    await browser?.close();
    // Whatever happened, the item is back for the other suites.
    sql(`DELETE FROM item_availability a USING clients c WHERE c.id = a.client_id
          AND c.slug = :'p1' AND a.item_id = :'p2' AND a.source = 'staff'`, SLUG, ITEM);
});

test('staff 86 an item on the Menu page and see it 86\'d and pushed to the POS; axe finds nothing serious', T, async () => {
    try {
        // bypassCSP: axe is injected into the page, which the dashboard's CSP forbids.
        page = await newPage(browser, { bypassCSP: true });
        await login(page, STAFF.email, STAFF.password);
        const res = await page.goto(`${ADMIN}/menu`);
        assert.equal(res.status(), 200, `GET ${ADMIN}/menu answered ${res.status()}`);
        await page.locator('h1', { hasText: 'Menu' }).waitFor();
        assert.equal(await page.locator('nav a[href="/menu"][aria-current=page]').count(), 1, 'no Menu link in the nav');
        assert.match(await page.locator('.menu-health').innerText(), /Mock POS/);

        const item = page.locator(`li.menu-item[data-pos-id="${ITEM}"]`);
        await item.waitFor({ state: 'visible' });
        assert.equal(await item.getAttribute('data-state'), 'available');
        assert.deepEqual(await soldOut(), [], 'something is sold out before the test');

        await item.getByRole('button', { name: /86 until undone/ }).click();
        // htmx swaps the item in place: 86'd, and then (its row refreshing
        // itself) pushed to the mock POS by the pos.item.push job.
        await until(async () => (await item.getAttribute('data-state')) === 'undone',
                    { timeout: 10_000, what: `${ITEM} shown as 86'd` });
        assert.match(await item.innerText(), /86'd until undone/);
        assert.ok((await soldOut()).includes(ITEM), `${ITEM} is not sold out on /api/menu/availability`);
        await until(async () => /Pushed to the POS/.test(await item.innerText()),
                    { timeout: 15_000, what: `${ITEM} shown as pushed to the POS` });
        assert.equal(staffMark(), 'staff:pos');
        await screenshot(page, 'menu-dashboard-86');

        const violations = await axe(page);
        assert.equal(violations.length, 0,
                     `serious or critical axe violations on /menu:\n${formatViolations(violations)}`);

        // And back on.
        await item.getByRole('button', { name: /Back on the menu/ }).click();
        await until(async () => (await item.getAttribute('data-state')) === 'available',
                    { timeout: 10_000, what: `${ITEM} shown as available again` });
        await until(async () => !(await soldOut()).includes(ITEM) && staffMark() === '',
                    { timeout: 15_000, what: `${ITEM} available again on the site` });
        assert.deepEqual(page.__errors || [], [], 'JavaScript errors on the page');
    } catch (e) {
        if (page) await screenshot(page, 'FAILED-menu-dashboard').catch(() => {});
        throw e;
    }
});
