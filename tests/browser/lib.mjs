// Shared helpers for the browser tests: Debian's Chromium driven by
// playwright-core, login, screenshots, axe-core checks, posting through the
// coffee shop's real form, and a psql escape hatch for looking up ids.
//
// Environment (set by tests/browser/harness.sh):
//   CS_BASE      http://127.0.0.1:PORT
//   CS_PORT      the port; vhosts are reached as http://NAME.localhost:PORT
//   CS_DATABASE  libpq conninfo of the test database
//   CS_OUT       folder for screenshots (tests/out/browser)
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PORT = process.env.CS_PORT || '8080';
export const BASE = process.env.CS_BASE || `http://127.0.0.1:${PORT}`;
export const ADMIN = `http://admin.localhost:${PORT}`;
export const SITE = `http://coffee-shop.localhost:${PORT}`;
export const OUT = process.env.CS_OUT || join(ROOT, 'tests', 'out', 'browser');
export const CHROMIUM = process.env.CS_CHROMIUM || '/usr/bin/chromium';

const AXE_PATH = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

// Flags that work as root on a machine without outside network access.
// Playwright's launch() also gives every browser a fresh, temporary
// --user-data-dir of its own and removes it on close.
export const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
];

export async function launch() {
    return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// A fresh context (own cookies) with short timeouts, so a missing element
// fails in seconds rather than half a minute.
export async function newPage(browser, options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    const page = await context.newPage();
    page.on('pageerror', (e) => { (page.__errors ||= []).push(String(e)); });
    return page;
}

export async function closePage(page) {
    if (page) await page.context().close().catch(() => {});
}

// Log in through form#login; resolves once the browser has left /login.
export async function login(page, email, password) {
    await page.goto(`${ADMIN}/login`);
    const form = page.locator('form#login');
    await form.locator('input[name=email]').fill(email);
    await form.locator('input[name=password]').fill(password);
    await Promise.all([
        page.waitForURL((u) => !u.pathname.startsWith('/login')).catch(async (e) => {
            const alert = await page.locator('[role=alert]').allInnerTexts().catch(() => []);
            throw new Error(`login as ${email} stayed on ${page.url()}` +
                            (alert.length ? ` with alert ${JSON.stringify(alert)}` : '') + `: ${e.message}`);
        }),
        form.locator('button[type=submit]').click(),
    ]);
}

export async function screenshot(page, name) {
    mkdirSync(OUT, { recursive: true });
    const path = join(OUT, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
}

// Runs axe-core in the page; returns the serious and critical violations,
// each with the first few offending nodes. Pages with a strict CSP need a
// context created with { bypassCSP: true } for the injected script to run.
export async function axe(page) {
    await page.addScriptTag({ path: AXE_PATH });
    const violations = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200),
                                                     summary: n.failureSummary })),
        }));
    });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function formatViolations(violations) {
    return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes.map((n) => `    ${n.target}  ${n.html}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`).join('\n'))
        .join('\n');
}

// Posts a message through the coffee shop's own form, as a visitor would:
// the page carries a signed token and the server marks a form sent sooner
// than 3 s after it was served as spam, so we wait 3.5 s before filling it.
export async function postViaSiteForm(browser, { name, email, message }) {
    const page = await newPage(browser);
    try {
        await page.goto(`${SITE}/`);
        await page.waitForTimeout(3500);
        const form = page.locator('form[action="/api/intake"]');
        await form.locator('[name=name]').fill(name);
        await form.locator('[name=email]').fill(email);
        await form.locator('[name=message]').fill(message);
        await Promise.all([
            page.waitForURL((u) => u.pathname === '/thanks.html'),
            form.locator('button[type=submit]').click(),
        ]);
        const h1 = await page.locator('h1').innerText();
        if (!/thank you/i.test(h1)) throw new Error(`no thank-you page after posting: h1 ${JSON.stringify(h1)}`);
        if (!intakeSettled()) throw new Error('the post was acknowledged but not filed within 10 s');
    } catch (e) {
        await screenshot(page, 'FAILED-site-form').catch(() => {});
        throw new Error(`posting through ${SITE}/ failed (at ${page.url()}): ${e.message}`);
    } finally {
        await closePage(page);
    }
}

// One value from the test database (psql speaks libpq conninfo).
export function sql(query, ...params) {
    const conninfo = process.env.CS_DATABASE;
    if (!conninfo) throw new Error('CS_DATABASE is not set (run tests/browser/harness.sh)');
    const args = [conninfo, '-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1'];
    params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
    return execFileSync('psql', args, { input: query, encoding: 'utf8' }).trim();
}

// Journal-first intake: a post the server acknowledged is filed (contact,
// message, submission) by the job worker a moment later. Waits, up to
// timeout ms, until nothing acknowledged is left to file.
export function intakeSettled(timeout = 10_000) {
    const deadline = Date.now() + timeout;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline) {
        if (sql(`SELECT count(*) FROM provider_events WHERE provider = 'intake'
                   AND processed_at IS NULL AND attempts < 5`) === '0') return true;
        Atomics.wait(nap, 0, 0, 100);
    }
    return false;
}

// Polls fn until it returns a truthy value or the time runs out.
export async function until(fn, { timeout = 15_000, interval = 500, what = 'condition' } = {}) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeout} ms waiting for ${what}` +
                            (last instanceof Error ? `: ${last.message}` : ''));
        }
        await new Promise((r) => setTimeout(r, interval));
    }
}

export function uniqueWord(prefix = 'zq') {
    const letters = 'bcdfghjklmnpqrstvwz';
    let w = prefix;
    for (let i = 0; i < 8; i++) w += letters[Math.floor(Math.random() * letters.length)];
    return `${w}x`; // ends in a consonant no English or Spanish stemmer strips
}
