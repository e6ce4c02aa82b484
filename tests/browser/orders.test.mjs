// A whole online order in a real browser on a phone-sized screen: the menu,
// the cart, checkout, the payment through the Stripe stand-in's script
// (tests/fakes/fake_stripe.py serves it at /v3/ and sends the signed
// webhook back), the guest's status page following the order by itself,
// and the staff's Orders page: the new-order alert, Accept and Ready.
// Each page is checked with axe. The vhost (pizza-order.localhost) and the
// fake are set up by tests/browser/harness.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    PORT, launch, newPage, closePage, screenshot, axe, formatViolations, login, sql, until,
} from './lib.mjs';

const SHOP = `http://pizza-order.localhost:${PORT}`;
const T = { timeout: 120_000 };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function axeClean(page, what) {
    const serious = (await axe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.equal(serious.length, 0, `${what}: ${formatViolations(serious)}`);
}

test('a guest orders a pizza on a phone and sees it go from paid to ready', T, async () => {
    // The POS menu is synced when Apache starts.
    await until(async () => Number(await sql(
        "SELECT count(*) FROM menu_items m JOIN clients c ON c.id = m.client_id WHERE c.slug = 'pizza-order'")) > 0,
        { what: 'the menu synced from the mock POS', timeout: 30_000 });
    const guest = await newPage(browser, PHONE);
    try {
        await guest.goto(`${SHOP}/order`);
        await assert.doesNotReject(guest.locator('h1', { hasText: 'Order online' }).waitFor());
        await axeClean(guest, 'the order page');
        // A Margherita, 16-inch: the size and crust radios default to the first choice.
        const pizza = guest.locator('#item-margherita');
        await pizza.locator('label', { hasText: '16-inch' }).click();
        await pizza.getByRole('button', { name: /Add Margherita/ }).click();
        await guest.waitForURL(/\/order#cart$/).catch(async (e) => {
            throw new Error(`after Add: ${guest.url()}: ${(await guest.locator('body').innerText()).slice(0, 400)}`);
        });
        const cart = guest.locator('#cart');
        await assert.doesNotReject(cart.locator('.order-line-name', { hasText: 'Margherita' }).waitFor());
        const total = await cart.locator('dd.order-total').innerText();
        assert.match(total, /^\$\d+\.\d\d$/);
        await screenshot(guest, 'order-phone-cart');

        await guest.getByRole('link', { name: 'Check out' }).click();
        await guest.waitForURL(/\/order\/checkout$/);
        await axeClean(guest, 'checkout');
        await guest.getByLabel('Name for the order').fill('Gina Guest');
        await guest.getByLabel(/Mobile phone/).fill('(401) 555-0142');
        await guest.getByLabel(/^Email/).fill('gina@guest.example');
        await guest.getByRole('radio', { name: /18%/ }).check();
        const payPage = guest.waitForResponse((r) => /\/order\/pay\//.test(r.url())
                                                     && r.request().resourceType() === 'document');
        await guest.getByRole('button', { name: 'Continue to payment' }).click();
        await guest.waitForURL(/\/order\/pay\//);
        const pub = guest.url().split('/').pop();
        // The card form loaded under the page's own CSP (Stripe's origins
        // only, here the stand-in's); axe needs a page without it.
        await assert.doesNotReject(guest.locator('#stand-in-card').waitFor());
        const csp = (await payPage).headers()['content-security-policy'];
        assert.match(csp, /script-src 'self' http:\/\/127\.0\.0\.1:\d+;/);
        {
            const check = await newPage(browser, { ...PHONE, bypassCSP: true });
            try {
                // The card form opens only for the browser whose cart made the order.
                await check.context().addCookies(await guest.context().cookies());
                await check.goto(guest.url());
                await check.locator('#stand-in-card').waitFor();
                await axeClean(check, 'the pay page');
            } finally {
                await closePage(check);
            }
        }

        // A declined card says so and lets the guest try again.
        await guest.locator('#stand-in-card').fill('4000 0000 0000 0002');
        await guest.getByRole('button', { name: /^Pay / }).click();
        await assert.doesNotReject(guest.locator('#pay-error', { hasText: /declined/i }).waitFor());
        await guest.locator('#stand-in-card').fill('4242 4242 4242 4242');
        await guest.getByRole('button', { name: /^Pay / }).click();
        await guest.waitForURL(new RegExp(`/order/status/${pub}`));
        // The signed webhook arrives, the order reaches the mock POS.
        await assert.doesNotReject(guest.locator('h1', { hasText: 'Sent to the kitchen' })
            .waitFor({ timeout: 30_000 }));
        await axeClean(guest, 'the status page');
        await screenshot(guest, 'order-phone-sent');

        // The kitchen: the alert, then Acknowledge, Accept, Ready.
        const staff = await newPage(browser, { bypassCSP: true });   // for axe
        try {
            await login(staff, 'owner@pizza-order.example', 'pizza owner pass');
            await staff.goto(`http://admin.localhost:${PORT}/orders`);
            const alert = staff.locator('#orders-alert');
            await assert.doesNotReject(alert.waitFor({ state: 'visible' }));
            assert.match(await alert.innerText(), /1 new order/);
            await axeClean(staff, 'the Orders page');
            const card = staff.locator('.order-card', { hasText: 'Gina Guest' });
            await card.getByRole('button', { name: /Acknowledge/ }).click();
            await until(async () => !(await staff.locator('#orders-alert').isVisible()),
                        { what: 'the alert to stop' });
            await staff.locator('.order-card', { hasText: 'Gina Guest' }).getByRole('button', { name: /^Accept/ }).click();
            await staff.locator('.order-card', { hasText: 'Gina Guest' }).getByRole('button', { name: /^Ready/ }).click();
            assert.equal(await sql("SELECT state FROM orders WHERE public_id = :'p1'", pub), 'ready');
        } finally {
            await closePage(staff);
        }
        // The guest's page follows without a reload by hand.
        await assert.doesNotReject(guest.locator('h1', { hasText: 'Ready for pickup' })
            .waitFor({ timeout: 20_000 }));
        await screenshot(guest, 'order-phone-ready');
    } finally {
        await closePage(guest);
    }
});
