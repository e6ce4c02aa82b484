// The staff dashboard in a real browser (Debian's Chromium via
// playwright-core), against the Apache and PostgreSQL started by
// tests/browser/harness.sh. The tests run in order and share the messages
// they post through the coffee shop's real contact form.
//
// UI contract exercised here:
//   /login            form#login: input[name=email], input[name=password],
//                     button[type=submit]; a failed login shows one generic
//                     message in [role=alert]
//   /                 #inbox-list with a.conv-row rows; form#filters with
//                     input[name=q]; .empty when nothing matches;
//                     a[data-status=archived] switches to the archive
//   row click         #panel with the thread: .msg per message,
//                     button[name=action][value=archive], a.contact-link
//   /c/ID             the thread as a full page (404 for another tenant)
//   logout            a button in form[action="/logout"]
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    ADMIN, launch, newPage, closePage, login, screenshot, axe, formatViolations,
    postViaSiteForm, sql, until, uniqueWord,
} from './lib.mjs';

const OWNER = { email: 'owner@coffee.example', password: 'correct horse battery' };
const OTHER = { email: 'other@other.example', password: 'other secret pass' };

// Words that appear nowhere else: WORD is in the sender's name and address
// (row lookups), MSG_WORD only in the message body (search).
const WORD = uniqueWord('zq');
const MSG_WORD = uniqueWord('zm');
const NONSENSE = uniqueWord('xw');
// The sender's row, whether it shows the name, the address or the message.
const SENDER_ROW = new RegExp(`${WORD}|${MSG_WORD}`, 'i');
const XSS_ROW = /<img src=x|xss\.zx|<script>/;
const cap = (s) => s[0].toUpperCase() + s.slice(1);
const SAVED = { title: `Hours ${uniqueWord('zh')}`, body: 'We are open 7am to 6pm every day.' };
const SENDER = {
    name: `Maya ${cap(WORD)}`,
    email: `maya.${WORD}@example.com`,
    message: `Catering request ${MSG_WORD}: we are planning a team breakfast for 25 people ` +
             'next Friday at 9am. Could you bring coffee and pastries?',
};
const XSS = {
    name: '<img src=x onerror="window.__xss=1">',
    email: `xss.${uniqueWord('zx')}@example.com`,
    message: '<script>window.__xss=1</script> hello',
};

const T = { timeout: 90_000 };
let browser;
const pages = new Set();

before(async () => { browser = await launch(); });
after(async () => {
    for (const p of pages) await closePage(p);
    await browser?.close();
});

async function page(options) {
    const p = await newPage(browser, options);
    pages.add(p);
    return p;
}

async function done(p) {
    pages.delete(p);
    await closePage(p);
}

async function ownerPage(options) {
    const p = await page(options);
    await login(p, OWNER.email, OWNER.password);
    return p;
}

// Each message is posted once, whichever test needs it first.
let senderPosted, xssPosted;
const ensureSender = () => (senderPosted ||= postViaSiteForm(browser, SENDER));
const ensureXss = () => (xssPosted ||= postViaSiteForm(browser, XSS));

const rows = (p) => p.locator('#inbox-list a.conv-row');
const rowOf = (p, text) => rows(p).filter({ hasText: text });

// Waits (reloading) until a row with this text is listed on the page.
async function waitForRow(p, text, timeout = 15_000) {
    await until(async () => {
        if (await rowOf(p, text).count() > 0) return true;
        await p.reload();
        return false;
    }, { timeout, interval: 1000, what: `a row with ${JSON.stringify(String(text))} in #inbox-list (${p.url()})` });
    const row = rowOf(p, text).first();
    await row.waitFor({ state: 'visible' });
    return row;
}

// The id of the coffee shop's conversation with this address, from the
// database (the UI's links are not part of the contract).
function conversationIdByEmail(email) {
    const id = sql(`SELECT v.id FROM conversations v JOIN contacts c ON c.id = v.contact_id
                     JOIN clients k ON k.id = v.client_id
                    WHERE k.slug = 'coffee-shop' AND lower(c.email) = lower(:'p1')`, email);
    assert.match(id, /^\d+$/, `no coffee-shop conversation for ${email}`);
    return id;
}

async function openPanel(p, row) {
    await row.click();
    const panel = p.locator('#panel');
    await panel.waitFor({ state: 'visible' });
    return panel;
}

async function xssFired(p) {
    return p.evaluate(() => typeof window.__xss !== 'undefined');
}

// A test whose open pages are screenshotted (tests/out/browser/FAILED-*)
// when it fails, and closed in any case.
function uitest(name, fn) {
    test(name, T, async () => {
        try {
            await fn();
        } catch (e) {
            let i = 0;
            for (const p of pages) {
                await screenshot(p, `FAILED-${name.slice(0, 60)}-${i++}`).catch(() => {});
            }
            throw e;
        } finally {
            for (const p of [...pages]) await done(p);
        }
    });
}

function assertNoViolations(violations, where) {
    assert.equal(violations.length, 0,
                 `serious or critical axe violations on ${where}:\n${formatViolations(violations)}`);
}

// ---------------------------------------------------------------- login

uitest('GET /login shows the login form', async () => {
    const p = await page();
    const res = await p.goto(`${ADMIN}/login`);
    assert.equal(res.status(), 200, `GET ${ADMIN}/login answered ${res.status()}`);
    const form = p.locator('form#login');
    await form.waitFor({ state: 'visible' });
    assert.equal(await form.locator('input[name=email]').count(), 1);
    assert.equal(await form.locator('input[name=password]').getAttribute('type'), 'password');
    assert.equal(await form.locator('button[type=submit]').count(), 1);
    await done(p);
});

uitest('a failed login shows one generic error, the same for an unknown user and a wrong password', async () => {
    const p = await page();
    const attempt = async (email, password) => {
        await p.goto(`${ADMIN}/login`);
        const form = p.locator('form#login');
        await form.locator('input[name=email]').fill(email);
        await form.locator('input[name=password]').fill(password);
        await form.locator('button[type=submit]').click();
        const alerts = p.locator('[role=alert]').filter({ hasText: /\S/ });
        await alerts.first().waitFor({ state: 'visible' });
        assert.equal(new URL(p.url()).pathname.startsWith('/login'), true, `left the login page: ${p.url()}`);
        const texts = (await alerts.allInnerTexts()).map((t) => t.trim()).filter(Boolean);
        assert.equal(texts.length, 1, `expected one error, got ${JSON.stringify(texts)}`);
        assert.equal(await p.locator('form#login').count(), 1, 'the form is shown again');
        return texts[0];
    };
    const wrongPassword = await attempt(OWNER.email, 'not the password');
    await screenshot(p, 'login-error');
    const unknownUser = await attempt(`nobody.${WORD}@coffee.example`, 'whatever it is');
    assert.equal(unknownUser, wrongPassword, 'unknown user and wrong password must read the same');
    assert.ok(!wrongPassword.includes(OWNER.email), 'the error does not echo the address');
    await done(p);
});

// ---------------------------------------------------------------- inbox

uitest('a message sent through the coffee shop form shows up in the inbox', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    await p.locator('#inbox-list').waitFor({ state: 'attached' });
    const row = await waitForRow(p, SENDER_ROW);
    assert.ok(await row.isVisible(), 'the row is visible');
    const text = await row.innerText();
    assert.match(text, /Catering request/i, `the row shows the message's text: ${JSON.stringify(text)}`);
    await row.getByText(/Catering request/i).first().waitFor({ state: 'visible' });
    assert.equal(await xssFired(p), false);
    await done(p);
});

uitest('clicking a row opens the panel with the message body and marks it read', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    const row = await waitForRow(p, SENDER_ROW);
    assert.match(await row.getAttribute('class'), /\bunread\b/, 'a new thread is listed unread');
    const panel = await openPanel(p, row);
    const msg = panel.locator('.msg').filter({ hasText: MSG_WORD }).first();
    await msg.waitFor({ state: 'visible' });
    assert.ok((await msg.innerText()).includes('team breakfast for 25 people'),
              'the whole body is shown in .msg');
    // Opening it reads it: the buttons and the refreshed list say so.
    await panel.locator('button[name=action][value=unread]').waitFor({ state: 'visible' });
    await until(async () => !/\bunread\b/.test(await rowOf(p, SENDER_ROW).first().getAttribute('class')),
                { timeout: 5000, what: 'the row to lose its unread mark' });
    assert.equal(sql('SELECT unread FROM conversations WHERE id = :p1', conversationIdByEmail(SENDER.email)), 'f');
    // "Mark unread" sticks: the panel it answers does not read it again.
    await panel.locator('button[name=action][value=unread]').click();
    await panel.locator('button[name=action][value=read]').waitFor({ state: 'visible' });
    await p.waitForTimeout(1000);
    assert.equal(sql('SELECT unread FROM conversations WHERE id = :p1', conversationIdByEmail(SENDER.email)), 't',
                 'marked unread, then read again by itself');
    await until(async () => /\bunread\b/.test(await rowOf(p, SENDER_ROW).first().getAttribute('class')),
                { timeout: 5000, what: 'the row to show unread again' });
    await screenshot(p, 'inbox-panel');
    await done(p);
});

uitest("the panel's contact link leads to the contact's page", async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    const panel = await openPanel(p, await waitForRow(p, SENDER_ROW));
    const link = panel.locator('a.contact-link').first();
    await link.waitFor({ state: 'visible' });
    await link.click();
    const h1 = p.locator('h1').filter({ hasText: SENDER.name });
    await h1.first().waitFor({ state: 'visible' });
    await done(p);
});

// ---------------------------------------------------------------- XSS

uitest('stored XSS: a name and message full of markup are shown as text, never run', async () => {
    await ensureXss();
    // CSP, if the dashboard sends one, is a second line of defence; bypass
    // it so this checks the escaping itself.
    const p = await ownerPage({ bypassCSP: true });
    await p.goto(`${ADMIN}/`);
    const row = await waitForRow(p, XSS_ROW);
    await p.waitForTimeout(500); // an <img src=x> would have errored by now
    assert.equal(await xssFired(p), false, 'window.__xss was set by the inbox list');
    assert.equal(await p.locator('#inbox-list img[src=x], #inbox-list script').count(), 0,
                 'markup from the submission became elements in the list');

    const panel = await openPanel(p, row);
    const msg = panel.locator('.msg').filter({ hasText: 'hello' }).first();
    await msg.waitFor({ state: 'visible' });
    await p.waitForTimeout(500);
    assert.equal(await xssFired(p), false, 'window.__xss was set by the panel');
    assert.equal(await panel.locator('img[src=x], .msg script').count(), 0,
                 'markup from the submission became elements in the panel');
    assert.ok((await msg.innerText()).includes('<script>window.__xss=1</script>'),
              `the literal <script> is shown as text: ${JSON.stringify(await msg.innerText())}`);
    await panel.getByText('<script>', { exact: false }).first().waitFor({ state: 'visible' });

    // And as a full page.
    const id = conversationIdByEmail(XSS.email);
    const res = await p.goto(`${ADMIN}/c/${id}`);
    assert.equal(res.status(), 200);
    await p.locator('.msg').filter({ hasText: '<script>' }).first().waitFor({ state: 'visible' });
    await p.waitForTimeout(500);
    assert.equal(await xssFired(p), false, 'window.__xss was set by /c/ID');
    assert.equal(await p.locator('img[src=x]').count(), 0);
    await screenshot(p, 'xss-conversation');
    await done(p);
});

// ---------------------------------------------------------------- search

uitest('search lists the thread for a word of its message and nothing for nonsense', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    await waitForRow(p, SENDER_ROW);
    const q = p.locator('form#filters input[name=q]');

    await q.fill(NONSENSE);
    await q.press('Enter');
    await until(async () => (await rows(p).count()) === 0 && (await p.locator('.empty').first().isVisible()),
                { timeout: 10_000, what: `no a.conv-row and a visible .empty after searching ${NONSENSE}` });
    await screenshot(p, 'search-empty');

    await p.locator('form#filters input[name=q]').fill(MSG_WORD);
    await p.locator('form#filters input[name=q]').press('Enter');
    await rowOf(p, SENDER_ROW).first().waitFor({ state: 'visible' });
    if (xssPosted) {
        // Only the matching thread, not every thread.
        await until(async () => (await rowOf(p, XSS_ROW).count()) === 0,
                    { timeout: 5000, what: 'the XSS thread to be left out of the search results' });
    }
    await done(p);
});

// ---------------------------------------------------------------- archive

uitest('archiving removes the thread from the open list; the archive lists it', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    const panel = await openPanel(p, await waitForRow(p, SENDER_ROW));
    const [answer] = await Promise.all([
        p.waitForResponse((r) => r.request().method() === 'POST'),
        panel.locator('button[name=action][value=archive]').click(),
    ]);
    assert.ok(answer.status() < 400, `archiving: POST ${new URL(answer.url()).pathname} answered ${answer.status()}`);
    await until(async () => (await rowOf(p, SENDER_ROW).count()) === 0,
                { timeout: 16_000, what: "the archived row to leave the open list (the list refreshes on inbox-changed or every 15 s)" });
    await p.goto(`${ADMIN}/`);
    await p.locator('#inbox-list').waitFor({ state: 'attached' });
    assert.equal(await rowOf(p, SENDER_ROW).count(), 0, 'still listed in the open list after a reload');
    await p.locator('a[data-status=archived]').first().click();
    await rowOf(p, SENDER_ROW).first().waitFor({ state: 'visible' });
    await done(p);
});

// ---------------------------------------------------------------- tenants

uitest("another client's owner neither sees the coffee shop's thread nor opens it", async () => {
    await ensureSender();
    const id = conversationIdByEmail(SENDER.email);
    const p = await page();
    await login(p, OTHER.email, OTHER.password);
    await p.goto(`${ADMIN}/`);
    await p.locator('#inbox-list').waitFor({ state: 'attached' });
    assert.equal(await rowOf(p, SENDER_ROW).count(), 0, 'the coffee shop thread is listed for another client');
    // The archive test above may have moved it there.
    const archived = p.locator('a[data-status=archived]').first();
    if (await archived.count()) {
        await archived.click();
        await p.waitForLoadState();
        await p.waitForTimeout(500);
        assert.equal(await rowOf(p, SENDER_ROW).count(), 0, 'listed in the archive for another client');
    }
    const q = p.locator('form#filters input[name=q]');
    if (await q.count()) {
        await q.fill(MSG_WORD);
        await q.press('Enter');
        await p.waitForLoadState();
        await p.waitForTimeout(1000);
        assert.equal(await rowOf(p, SENDER_ROW).count(), 0, 'found by search for another client');
    }
    const res = await p.goto(`${ADMIN}/c/${id}`);
    assert.equal(res.status(), 404, `GET /c/${id} as another client answered ${res.status()}`);
    const html = await p.content();
    assert.ok(!html.includes(MSG_WORD) && !html.includes(WORD), 'the 404 page leaks the thread');
    await done(p);
});

// ---------------------------------------------------------------- axe

// bypassCSP lets the axe script be injected into pages with a strict CSP.
uitest('axe: /login has no serious or critical violations', async () => {
    const p = await page({ bypassCSP: true });
    await p.goto(`${ADMIN}/login`);
    await p.locator('form#login').waitFor();
    await screenshot(p, 'login');
    assertNoViolations(await axe(p), '/login');
    await done(p);
});

uitest('axe: the inbox has no serious or critical violations', async () => {
    await ensureSender();
    const p = await ownerPage({ bypassCSP: true });
    await p.goto(`${ADMIN}/`);
    await p.locator('#inbox-list').waitFor({ state: 'attached' });
    await screenshot(p, 'inbox');
    assertNoViolations(await axe(p), 'the inbox (/)');
    await done(p);
});

uitest('axe: a conversation page (/c/ID) has no serious or critical violations', async () => {
    await ensureSender();
    const id = conversationIdByEmail(SENDER.email);
    const p = await ownerPage({ bypassCSP: true });
    const res = await p.goto(`${ADMIN}/c/${id}`);
    assert.equal(res.status(), 200, `GET /c/${id} answered ${res.status()}`);
    await p.locator('.msg').filter({ hasText: MSG_WORD }).first().waitFor({ state: 'visible' });
    await screenshot(p, 'conversation');
    assertNoViolations(await axe(p), `/c/${id}`);
    await done(p);
});

uitest('axe: the contact page has no serious or critical violations', async () => {
    await ensureSender();
    const id = conversationIdByEmail(SENDER.email);
    const p = await ownerPage({ bypassCSP: true });
    await p.goto(`${ADMIN}/c/${id}`);
    const link = p.locator('a.contact-link').first();
    await link.waitFor({ state: 'visible' });
    await link.click();
    await p.locator('h1').filter({ hasText: SENDER.name }).first().waitFor({ state: 'visible' });
    await screenshot(p, 'contact');
    assertNoViolations(await axe(p), `the contact page (${new URL(p.url()).pathname})`);
    await done(p);
});

uitest('axe: the activity log and saved replies have no serious or critical violations', async () => {
    const p = await ownerPage({ bypassCSP: true });
    // A saved reply, made through the page's own form.
    await p.goto(`${ADMIN}/replies`);
    await p.locator('input[name=title]').fill(SAVED.title);
    await p.locator('textarea[name=body]').fill(SAVED.body);
    await Promise.all([p.waitForLoadState('load'), p.locator('form:has(input[name=title]) button[type=submit]').click()]);
    await p.getByText(SAVED.title).first().waitFor({ state: 'visible' });
    assertNoViolations(await axe(p), '/replies');
    await p.goto(`${ADMIN}/audit`);
    await p.locator('h1').filter({ hasText: 'Activity' }).waitFor();
    await p.getByText('reply create').first().waitFor({ state: 'visible' });
    await screenshot(p, 'audit');
    assertNoViolations(await axe(p), '/audit');
    await done(p);
});

uitest('a reply can start from a saved reply', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/?status=archived`);  // archived by an earlier test
    const panel = await openPanel(p, await waitForRow(p, SENDER_ROW));
    const pick = panel.locator('select[data-fill]');
    await pick.waitFor({ state: 'visible' });
    await pick.selectOption({ label: SAVED.title });
    const box = panel.locator('form.composer textarea[name=body]');
    assert.equal(await box.inputValue(), SAVED.body, 'the saved text is not in the reply box');
    await until(async () => /\d+ characters, 1 SMS segment/.test(await panel.locator('.sms-count').innerText()),
                { timeout: 3000, what: 'the SMS counter to count the inserted text' });
    await done(p);
});

uitest("the list's own refresh asks for as many rows as it shows", async () => {
    await ensureSender();
    await ensureXss();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    await waitForRow(p, XSS_ROW);
    const shown = await rows(p).count();
    const asked = p.waitForRequest((q) => q.url().includes('/inbox/list'), { timeout: 5000 });
    await p.evaluate(() => document.body.dispatchEvent(new Event('inbox-changed')));
    const url = new URL((await asked).url());
    assert.equal(url.searchParams.get('rows'), String(shown), `refresh asked ${url}`);
    await done(p);
});

uitest('an action the server refuses says so on screen', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/?status=archived`);  // archived by an earlier test
    const panel = await openPanel(p, await waitForRow(p, SENDER_ROW));
    const spam = panel.locator('button[name=action][value=spam]');
    await spam.waitFor({ state: 'visible' });
    // As if the page had outlived its session's CSRF token.
    await p.evaluate(() => document.body.setAttribute('hx-headers', '{"X-CSRF-Token": "stale"}'));
    await spam.click();
    const flash = p.locator('#flash');
    await flash.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await flash.innerText(), /out of date/i);
    assert.equal(sql('SELECT status FROM conversations WHERE id = :p1', conversationIdByEmail(SENDER.email)),
                 'archived', 'the refused action changed the thread');
    await screenshot(p, 'flash');
    await done(p);
});

// ---------------------------------------------------------------- phone, keyboard, no JavaScript

uitest('on a phone the inbox fits the screen and a thread opens', async () => {
    await ensureSender();
    const p = await ownerPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
                                bypassCSP: true });
    await p.goto(`${ADMIN}/?status=archived`);  // archived by the test above
    const row = await waitForRow(p, SENDER_ROW);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen (sideways scrolling)`);
    await screenshot(p, 'phone-inbox');
    assertNoViolations(await axe(p), 'the inbox on a phone');
    await row.click();
    await p.locator('#panel .msg').filter({ hasText: MSG_WORD }).first().waitFor({ state: 'visible' });
    await screenshot(p, 'phone-panel');
    await done(p);
});

uitest('keyboard: j opens the next thread, / goes to search', async () => {
    await ensureSender();
    const p = await ownerPage();
    await p.goto(`${ADMIN}/?status=archived`);  // archived by the test above
    await waitForRow(p, SENDER_ROW);
    await p.locator('body').press('j');
    await p.locator('#panel .msg').first().waitFor({ state: 'visible' });
    const first = await rows(p).first().getAttribute('data-id');
    assert.equal(await p.locator('#panel article.thread').getAttribute('data-id'), first,
                 'j did not open the first thread');
    await p.locator('body').press('/');
    assert.equal(await p.evaluate(() => document.activeElement && document.activeElement.id), 'q',
                 '/ did not move to the search box');
    await done(p);
});

uitest('with JavaScript off a thread can still be read', async () => {
    await ensureSender();
    const p = await page({ javaScriptEnabled: false });
    await login(p, OWNER.email, OWNER.password);
    await p.goto(`${ADMIN}/?status=archived`);  // archived by the test above
    const row = rowOf(p, SENDER_ROW).first();
    await row.waitFor({ state: 'visible' });
    await Promise.all([p.waitForURL(/\/c\/\d+/), row.click()]);
    await p.locator('.msg').filter({ hasText: MSG_WORD }).first().waitFor({ state: 'visible' });
    await done(p);
});

// ---------------------------------------------------------------- logout

uitest('logging out returns to /login, and / then redirects to /login', async () => {
    const p = await ownerPage();
    await p.goto(`${ADMIN}/`);
    const button = p.locator('form[action="/logout"] button').first();
    await Promise.all([
        p.waitForURL((u) => u.pathname === '/login'),
        button.click(),
    ]);
    await p.locator('form#login').waitFor({ state: 'visible' });
    const res = await p.goto(`${ADMIN}/`);
    assert.equal(new URL(p.url()).pathname, '/login', `/ after logout ended at ${p.url()}`);
    assert.equal(res.status(), 200);
    await p.locator('form#login').waitFor({ state: 'visible' });
    await done(p);
});
