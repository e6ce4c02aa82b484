// The Integrations settings page in a real browser (Debian's Chromium via
// playwright-core), for the hauler-test client the harness configures with
// a Cal.com webhook secret and Jobber pointed at tests/fakes/fake_jobber.py:
// the owner sees what to paste into Cal.com and Jobber, connects Jobber
// through its approval page (the fake's), sends a test event and sees its
// result, disconnects; an axe scan of the page.
//
// UI contract exercised here (modules/inbox/templates/integrations.mustache):
//   /settings/integrations   #calcom-url, #jobber-url (webhook URLs to paste),
//                            #jobber-state[data-state] (disconnected,
//                            connected, revoked, failing), the link
//                            "Connect Jobber", buttons "Send a test event"
//                            and "Disconnect", #jobber-test with the result
//   /book (junk-hauler)      [data-consult-cal] holding a.cal-link (the plain
//                            link) and [data-cal-inline]; .cal-embedded once
//                            the loader queued the inline calendar
//   / (junk-hauler)          a[data-consult-cal-popup] to /book; [data-cal-ready]
//                            once /book.json gave the link; a click queues
//                            Cal("modal")
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, PORT, launch, newPage, closePage, login, screenshot, axe, formatViolations, until } from './lib.mjs';

const OWNER = { email: 'owner@hauler.example', password: 'hauler owner pass' };
const T = { timeout: 90_000 };

let browser, page;

before(async () => {
    browser = await launch();
});

after(async () => {
    await closePage(page);
    await browser?.close();
});

const state = () => page.locator('#jobber-state').getAttribute('data-state');

test('the owner connects Jobber, tests it and disconnects; axe finds nothing serious', T, async () => {
    try {
        // bypassCSP: axe is injected into the page, which the dashboard's CSP forbids.
        page = await newPage(browser, { bypassCSP: true });
        await login(page, OWNER.email, OWNER.password);
        await page.getByRole('link', { name: 'Integrations' }).click();
        await page.locator('h1', { hasText: 'Integrations' }).waitFor();
        assert.equal(await page.locator('#calcom-url').innerText(),
                     'https://hauler-test.example.com/webhooks/calcom');
        assert.equal(await page.locator('#jobber-url').innerText(),
                     'https://hauler-test.example.com/webhooks/jobber');
        // The secret is there to paste, behind a click.
        assert.equal(await page.locator('#calcom-secret').isVisible(), false);
        await page.getByText('Show the secret').click();
        assert.equal(await page.locator('#calcom-secret').innerText(), 'browser-cal-secret-1');
        assert.equal(await state(), 'disconnected');

        let violations = await axe(page);
        assert.equal(violations.length, 0,
                     `serious or critical axe violations on /settings/integrations:\n${formatViolations(violations)}`);

        // Off to Jobber's approval page (the fake approves at once) and back.
        await Promise.all([
            page.waitForURL((u) => u.pathname === '/settings/integrations' && u.search.includes('connected')),
            page.getByRole('link', { name: 'Connect Jobber' }).click(),
        ]);
        assert.equal(await state(), 'connected');
        assert.match(await page.locator('[role=status]').first().innerText(), /Jobber is connected/);
        assert.match(await page.locator('.integration').nth(1).innerText(), /stored encrypted under key b1/);

        // The test runs as a job; the page polls until its result is in.
        await page.getByRole('button', { name: 'Send a test event' }).click();
        await until(async () => /Jobber answered/.test(await page.locator('#jobber-test').innerText().catch(() => '')),
                    { timeout: 20_000, what: 'the test result on the page' });
        await screenshot(page, 'integrations-connected');
        violations = await axe(page);
        assert.equal(violations.length, 0,
                     `serious or critical axe violations once connected:\n${formatViolations(violations)}`);

        await page.getByRole('button', { name: 'Disconnect' }).click();
        await page.waitForURL((u) => u.search.includes('disconnected'));
        assert.equal(await state(), 'disconnected');
        assert.equal(await page.getByRole('link', { name: 'Connect Jobber' }).count(), 1);
        assert.deepEqual(page.__errors || [], [], 'JavaScript errors on the page');
    } catch (e) {
        if (page) await screenshot(page, 'FAILED-integrations').catch(() => {});
        throw e;
    }
});

const HAULER = `http://junk-hauler.localhost:${PORT}`;

test('the junk hauler\'s booking page is a plain link without JavaScript and an inline calendar with it; axe finds nothing serious', T, async () => {
    let p;
    try {
        // Without JavaScript: the link to the client's Cal.com page is all.
        p = await newPage(browser, { javaScriptEnabled: false });
        const res = await p.goto(`${HAULER}/book`);
        assert.equal(res.status(), 200, `GET /book answered ${res.status()}`);
        const link = p.locator('[data-consult-cal] a.cal-link');
        assert.equal(await link.getAttribute('href'), 'https://app.cal.com/haul-away/estimate');
        assert.match(await link.innerText(), /Open the booking calendar/);
        await closePage(p);

        // With it: Cal.com's snippet (from npm) is loaded and the inline
        // calendar queued for Cal.com's embed (which this closed network
        // cannot fetch; make run points it at a local stand-in).
        p = await newPage(browser, { bypassCSP: true });
        await p.goto(`${HAULER}/book`);
        await p.locator('[data-consult-cal].cal-embedded').waitFor({ state: 'attached' });
        const queued = await p.evaluate(() => JSON.stringify((window.Cal && window.Cal.q || [])
            .map((a) => Array.from(a)).filter((a) => a[0] === 'inline')
            .map((a) => a[1].calLink)));
        assert.equal(queued, '["haul-away/estimate"]');
        assert.equal(await p.locator('a.cal-link').count(), 1, 'the plain link is gone with JavaScript on');
        const violations = await axe(p);
        assert.equal(violations.length, 0,
                     `serious or critical axe violations on /book:\n${formatViolations(violations)}`);
        assert.deepEqual(p.__errors || [], [], 'JavaScript errors on the page');
    } catch (e) {
        if (p) await screenshot(p, 'FAILED-book').catch(() => {});
        throw e;
    } finally {
        await closePage(p);
    }
});

test('the junk hauler\'s booking button goes to /book without JavaScript and opens Cal.com\'s pop-up with it', T, async () => {
    let p;
    try {
        p = await newPage(browser, { javaScriptEnabled: false });
        await p.goto(`${HAULER}/`);
        const plain = p.locator('a[data-consult-cal-popup]');
        assert.equal(await plain.getAttribute('href'), '/book');
        await plain.click();
        await p.waitForURL((u) => u.pathname === '/book');
        await closePage(p);

        // With it: the vhost's link comes from /book.json and a click asks
        // Cal.com's embed for its pop-up, staying on the page.
        p = await newPage(browser, { bypassCSP: true });
        await p.goto(`${HAULER}/`);
        const button = p.locator('a[data-consult-cal-popup][data-cal-ready]');
        await button.waitFor({ state: 'attached' });
        await button.click();
        const queued = await p.evaluate(() => JSON.stringify((window.Cal && window.Cal.q || [])
            .map((a) => Array.from(a)).filter((a) => a[0] === 'modal')
            .map((a) => a[1].calLink)));
        assert.equal(queued, '["haul-away/estimate"]');
        assert.equal(new URL(p.url()).pathname, '/', 'the click left the page');
        assert.deepEqual(p.__errors || [], [], 'JavaScript errors on the page');
    } catch (e) {
        if (p) await screenshot(p, 'FAILED-book-popup').catch(() => {});
        throw e;
    } finally {
        await closePage(p);
    }
});
