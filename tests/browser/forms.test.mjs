// The sites' offline-safe contact forms (htdocs/shared/consult-forms.js) in
// a real browser (Debian's Chromium via playwright-core), against the
// Apache and PostgreSQL started by tests/browser/harness.sh, on the coffee
// shop's real form (conf/sites/coffee-shop.conf: form token required).
//
// Contract exercised here:
//   JavaScript off    the plain form posts and lands on /thanks.html
//   the script        sends with fetch, an Idempotency-Key and Accept:
//                     application/json, then goes to the thank-you page;
//                     a 400 is shown inline (aria-invalid, aria-describedby,
//                     focus); a failure (offline, 429, 5xx) keeps the text
//                     fields in localStorage (consult-forms-queue-v1) and
//                     resends them (backoff honouring Retry-After, `online`,
//                     the next page load), saying so in the form's
//                     [role=status]; forms with chosen files are not kept
//   exactly once      however often a queued submission is resent, the
//                     database holds it once
//   Apache stopped    for real (tests/browser/httpd.sh): queued, then sent
//                     by the backoff alone once it is back, stored once
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
    OUT, PORT, ROOT, SITE, launch, newPage, closePage, screenshot, axe, formatViolations, sql, intakeSettled, until, uniqueWord,
} from './lib.mjs';

const STORE = 'consult-forms-queue-v1';
// The harness's Apache, stopped and started for real (tests/browser/httpd.sh).
const httpd = (what) => execFileSync(join(ROOT, 'tests', 'browser', 'httpd.sh'), [what], { stdio: 'inherit' });
const FORM = 'form[action="/api/intake"]';
const QUEUED = /your message is saved on this device and will be sent automatically/;
const SENT = 'Your message from earlier has been sent.';
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

// Another page in the same context (so the same localStorage: a later visit).
async function laterVisit(p) {
    const q = await p.context().newPage();
    q.on('pageerror', (e) => { (q.__errors ||= []).push(String(e)); });
    pages.add(q);
    return q;
}

function uitest(name, fn) {
    test(name, T, async () => {
        try {
            await fn();
            for (const p of pages) assert.deepEqual(p.__errors || [], [], `script errors on ${p.url()}`);
        } catch (e) {
            let i = 0;
            for (const p of pages) {
                if (!p.isClosed()) await screenshot(p, `FAILED-forms-${name.slice(0, 50)}-${i++}`).catch(() => {});
            }
            throw e;
        } finally {
            for (const p of [...pages]) { pages.delete(p); await closePage(p); }
        }
    });
}

// The coffee shop's home page with its form filled in. The server marks a
// form sent within 3 s of being served as spam (too_fast), so wait first.
async function fillForm(p, fields, url = `${SITE}/`) {
    await p.goto(url);
    await p.waitForTimeout(3500);
    const form = p.locator(FORM);
    for (const [k, v] of Object.entries(fields)) await form.locator(`[name=${k}]`).fill(v);
    return form;
}

const submit = (p) => p.locator(`${FORM} button[type=submit]`).click();
const status = (p, text) => p.locator(`${FORM} [role=status]`, { hasText: text });
const queue = (p) => p.evaluate((k) => JSON.parse(localStorage.getItem(k) || '[]'), STORE);
const setQueue = (p, entries) => p.evaluate(([k, v]) => localStorage.setItem(k, v), [STORE, JSON.stringify(entries)]);

// The coffee shop's submissions whose message contains this text.
function stored(text) {
    intakeSettled();
    return JSON.parse(sql(`SELECT coalesce(json_agg(json_build_object('spam', s.is_spam, 'reasons', s.spam_reasons,
                                                                       'key', s.idempotency_key) ORDER BY s.id), '[]')
                             FROM submissions s JOIN clients c ON c.id = s.client_id
                            WHERE c.slug = 'coffee-shop' AND position(:'p1' in s.message) > 0`, text));
}

function assertStoredOnce(text, { spam = false } = {}) {
    const rows = stored(text);
    assert.equal(rows.length, 1, `submissions with ${text}: ${JSON.stringify(rows)}`);
    assert.equal(rows[0].spam, spam, `marked spam: ${JSON.stringify(rows[0])}`);
    return rows[0];
}

const visitor = (word, extra = {}) => ({
    name: `Ada ${word}`, email: `ada.${word}@example.com`,
    message: `Catering for 12 on Friday, ${word}: coffee and pastries please.`, ...extra,
});

// ---------------------------------------------------------------- the plain form

uitest('with JavaScript off the plain form posts and lands on /thanks.html', async () => {
    const word = uniqueWord('zf');
    const p = await page({ javaScriptEnabled: false });
    await fillForm(p, visitor(word));
    await Promise.all([p.waitForURL((u) => u.pathname === '/thanks.html'), submit(p)]);
    assert.match(await p.locator('h1').innerText(), /thank you/i);
    assert.match(assertStoredOnce(word).key, /^form:/, 'the form token is the idempotency key');
});

// ---------------------------------------------------------------- online

uitest('with JavaScript the form is sent once with an Idempotency-Key, and a resend of it is a duplicate', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    await fillForm(p, visitor(word));
    const posted = p.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/intake');
    await Promise.all([p.waitForURL((u) => u.pathname === '/thanks.html'), submit(p)]);
    const req = await posted;
    const headers = await req.allHeaders();
    assert.match(headers['idempotency-key'] || '', /^[0-9a-f-]{32,36}$/, 'an Idempotency-Key');
    assert.match(headers.accept || '', /application\/json/);
    assert.match(headers['content-type'] || '', /^application\/x-www-form-urlencoded/, 'no files, so urlencoded');
    const body = new URLSearchParams(req.postData());
    assert.match(body.get('_token') || '', /^v1\./, 'the form token travels with the fields');
    assertStoredOnce(word);

    // The same post with the same key, as a retry would send it.
    const again = await p.evaluate(async ([b, key]) => {
        const res = await fetch('/api/intake', { method: 'POST', body: new URLSearchParams(b),
                                                 headers: { Accept: 'application/json', 'Idempotency-Key': key } });
        return { redirected: res.redirected, path: new URL(res.url).pathname };
    }, [req.postData(), headers['idempotency-key']]);
    assert.deepEqual(again, { redirected: true, path: '/thanks.html' }, 'answered as stored');
    assertStoredOnce(word);
    assert.deepEqual(await queue(p), [], 'nothing left queued');
});

uitest('a refused field is shown inline, described and focused, and nothing is queued', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    // Neither email nor phone: the browser lets it through, the server does not.
    await fillForm(p, { name: `Ada ${word}`, message: `No way to reach me, ${word}.` });
    await submit(p);
    const error = p.locator(`${FORM} [data-consult-error=email]`);
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /^Email is required unless a phone number is given/);
    const email = p.locator(`${FORM} [name=email]`);
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    const described = (await email.getAttribute('aria-describedby')).split(' ');
    assert.ok(described.includes('contact-hint') && described.includes(await error.getAttribute('id')),
              `aria-describedby="${described.join(' ')}"`);
    await until(() => p.evaluate(() => document.activeElement?.name === 'email'), { what: 'focus on the email field' });
    await status(p, /Please check the form/).waitFor();
    assert.deepEqual(await queue(p), []);
    assert.equal(stored(word).length, 0);
    const violations = await axe(p);
    assert.equal(violations.length, 0, `axe on the form with an error:\n${formatViolations(violations)}`);
    await p.locator(FORM).screenshot({ path: join(OUT, 'forms-field-error.png') });

    // Corrected, it goes through, and the marks are gone first.
    await email.fill(`ada.${word}@example.com`);
    await Promise.all([p.waitForURL((u) => u.pathname === '/thanks.html'), submit(p)]);
    assertStoredOnce(word);
});

// ---------------------------------------------------------------- offline

uitest('offline the message is queued, sent on the next visit, and stored once however often it is resent', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    const ctx = p.context();
    await fillForm(p, visitor(word));
    await ctx.setOffline(true);
    await submit(p);
    await status(p, /^No connection — /).waitFor();
    assert.match(await status(p, QUEUED).innerText(), QUEUED);
    await p.locator(FORM).screenshot({ path: join(OUT, 'forms-queued.png') });
    const saved = await queue(p);
    assert.equal(saved.length, 1, JSON.stringify(saved));
    const fields = Object.fromEntries(saved[0].fields);
    assert.equal(fields.message, visitor(word).message);
    assert.match(fields._token, /^v1\./);
    assert.match(saved[0].key, /^[0-9a-f-]{32,36}$/);
    assert.ok(Math.abs(Date.now() - saved[0].created) < 60_000, 'created now');
    assert.equal(stored(word).length, 0, 'nothing reached the server');

    // Closed while offline; the visitor comes back later, online.
    await p.close();
    await ctx.setOffline(false);
    const later = await laterVisit(p);
    await later.goto(`${SITE}/`);
    await status(later, SENT).waitFor();
    assert.deepEqual(await queue(later), [], 'the queue is empty once sent');
    assert.match(assertStoredOnce(word).key, /^form:/);

    // The same submission resent twice more (a lost answer, two tabs): one row.
    for (let i = 0; i < 2; i++) {
        await setQueue(later, saved);
        await later.reload();
        await status(later, SENT).waitFor();
        assert.deepEqual(await queue(later), []);
    }
    assertStoredOnce(word);

    // Without a form token the Idempotency-Key alone keeps it to one row
    // (stored, marked spam for the missing token).
    const other = uniqueWord('zf');
    const bare = [{ ...saved[0], key: `test-${other}`,
                    fields: saved[0].fields.filter(([k]) => k !== '_token')
                        .map(([k, v]) => [k, k === 'message' ? `Resent without a token, ${other}.` : v]) }];
    for (let i = 0; i < 2; i++) {
        await setQueue(later, bare);
        await later.reload();
        await status(later, SENT).waitFor();
    }
    const row = assertStoredOnce(other, { spam: true });
    assert.equal(row.key, `key:test-${other}`);
    assert.deepEqual(row.reasons, ['no_form_token']);
});

uitest('back online on the same page the queued message is sent at once, and the form can send another', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    await fillForm(p, visitor(word));
    const token = await p.locator(`${FORM} [name=_token]`).inputValue();
    await p.context().setOffline(true);
    await submit(p);
    await status(p, QUEUED).waitFor();
    await p.context().setOffline(false);             // the `online` event
    await status(p, SENT).waitFor();
    assertStoredOnce(word);
    assert.equal(await p.locator(`${FORM} [name=message]`).inputValue(), '', 'the sent text is cleared');
    // The used token is replaced, or the next message would be taken for a
    // duplicate of this one.
    await until(async () => (await p.locator(`${FORM} [name=_token]`).inputValue()) !== token,
                { what: 'a fresh form token' });

    const second = uniqueWord('zf');
    await p.waitForTimeout(3500);
    const form = p.locator(FORM);
    for (const [k, v] of Object.entries(visitor(second))) await form.locator(`[name=${k}]`).fill(v);
    await Promise.all([p.waitForURL((u) => u.pathname === '/thanks.html'), submit(p)]);
    assertStoredOnce(second);
    assertStoredOnce(word);
});

uitest('with Apache stopped the message is queued, and once it is back the backoff sends it, stored once', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    await fillForm(p, visitor(word));
    httpd('stop');
    try {
        await submit(p);
        await status(p, QUEUED).waitFor();
        assert.equal((await queue(p)).length, 1);
        assert.equal(stored(word).length, 0, 'nothing stored while the server is down');
    } finally {
        httpd('start');
    }
    // No `online` event (the network never went away): the backoff timer
    // alone finds the server back (retries after 2-4 s, 4-8 s, 8-16 s...).
    await status(p, SENT).waitFor({ timeout: 45_000 });
    assert.deepEqual(await queue(p), []);
    assertStoredOnce(word);
});

uitest('a busy server (503, then 429, with Retry-After) is retried with backoff until it takes the message', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    const seen = [];
    await p.route('**/api/intake', async (route) => {
        seen.push(Date.now());
        if (seen.length === 1) {
            return route.fulfill({ status: 503, headers: { 'Retry-After': '5' }, contentType: 'application/json',
                                   body: '{"error":"unavailable","message":"try again"}' });
        }
        if (seen.length === 2) {
            return route.fulfill({ status: 429, headers: { 'Retry-After': '1' }, contentType: 'application/json',
                                   body: '{"error":"rate_limited","message":"try again later"}' });
        }
        return route.continue();
    });
    await fillForm(p, visitor(word));
    await submit(p);
    await status(p, /^We could not reach our inbox just now — /).waitFor();
    assert.equal((await queue(p)).length, 1);
    await status(p, SENT).waitFor({ timeout: 45_000 });
    assert.equal(seen.length, 3, 'three posts');
    assert.ok(seen[1] - seen[0] >= 4900, `the first retry came ${seen[1] - seen[0]} ms later; Retry-After said 5 s`);
    // The second wait is the backoff's (4 to 8 s), longer than Retry-After's 1 s.
    assert.ok(seen[2] - seen[1] >= 3900, `the second retry came ${seen[2] - seen[1]} ms later`);
    assertStoredOnce(word);
    assert.deepEqual(await queue(p), []);
});

uitest('a queued message the server refuses comes back into the form with the error shown', async () => {
    const word = uniqueWord('zf');
    const p = await page();
    await fillForm(p, { message: `Offline and no way to reach me, ${word}.` });
    await p.context().setOffline(true);
    await submit(p);
    await status(p, QUEUED).waitFor();
    await p.context().setOffline(false);
    await p.locator(`${FORM} [data-consult-error=email]`).waitFor({ state: 'visible' });
    assert.equal(await p.locator(`${FORM} [name=message]`).inputValue(), `Offline and no way to reach me, ${word}.`);
    assert.deepEqual(await queue(p), [], 'taken off the queue: it is back in the form');
    assert.equal(stored(word).length, 0);
});

// ---------------------------------------------------------------- files

uitest('a form with a chosen file is not queued offline, and keeps what was typed', async () => {
    const p = await page();
    const url = `http://landscaper.localhost:${PORT}/quote.html`;
    const message = `Front yard, ${uniqueWord('zf')}.`;
    await fillForm(p, { message, email: 'ada@example.com' }, url);
    // A 1x1 PNG.
    await p.locator(`${FORM} [name=photos]`).setInputFiles({
        name: 'yard.png', mimeType: 'image/png',
        buffer: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'),
    });
    await p.context().setOffline(true);
    await submit(p);
    await status(p, /messages with files cannot be saved on this device/).waitFor();
    assert.deepEqual(await queue(p), []);
    assert.equal(await p.locator(`${FORM} [name=message]`).inputValue(), message);
    assert.equal(await p.locator(`${FORM} [name=photos]`).evaluate((i) => i.files.length), 1);
});
