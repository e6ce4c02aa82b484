// sites-check's own tests: a copy of a real site passes; the same site broken
// in one way per rule fails, one line per failure naming the site, the page
// and the rule. Files only (check.mjs --static): no Apache needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECK = join(REPO, 'tests', 'sites', 'check.mjs');

// A checkout holding only the cleaning company's site (as "good" and as
// "bad"), its preset and the shared scripts.
function checkout() {
    const root = mkdtempSync(join(tmpdir(), 'sites-check-test-'));
    cpSync(join(REPO, 'conf', 'presets'), join(root, 'conf', 'presets'), { recursive: true });
    cpSync(join(REPO, 'htdocs', 'shared'), join(root, 'htdocs', 'shared'), { recursive: true });
    mkdirSync(join(root, 'conf', 'sites'));
    const vhost = readFileSync(join(REPO, 'conf', 'sites', 'cleaning.conf'), 'utf8');
    for (const slug of ['good', 'bad']) {
        cpSync(join(REPO, 'htdocs', 'cleaning'), join(root, 'htdocs', slug), { recursive: true });
        writeFileSync(join(root, 'conf', 'sites', `${slug}.conf`),
                      vhost.replace(/cleaning\.localhost/g, `${slug}.localhost`).replace(/\/cleaning"/g, `/${slug}"`));
    }
    return root;
}

function run(root) {
    const r = spawnSync(process.execPath, [CHECK, '--static', '--root', root], { encoding: 'utf8' });
    return { status: r.status, lines: r.stdout.split('\n').filter((l) => l.startsWith('sites-check: ') && !/failure\(s\)|every rule/.test(l)) };
}

function edit(root, file, change) {
    const path = join(root, 'htdocs', 'bad', file);
    const before = readFileSync(path, 'utf8');
    const after = change(before);
    assert.notEqual(after, before, `the edit of ${file} changed nothing`);
    writeFileSync(path, after);
}

test('a copy of a real site passes every rule', () => {
    const root = checkout();
    try {
        const r = run(root);
        assert.deepEqual(r.lines, []);
        assert.equal(r.status, 0);
    } finally {
        rmSync(root, { recursive: true, force: true });
    }
});

test('each broken rule is one line naming the site, the page and the rule', () => {
    const root = checkout();
    try {
        edit(root, 'index.html', (s) => s.replace('<main id="main"', '<p><a href="/prices-2019.html">Old prices</a></p>\n<main id="main"'));
        edit(root, 'index.html', (s) => s.replace('href="#area"', 'href="#nowhere"'));
        edit(root, 'thanks.html', (s) => s.replace('</main>', '<div><span>unclosed</div>\n</main>'));
        edit(root, '404.html', (s) => s.replace('</main>', '<img src="/team.jpg" alt="Our team">\n</main>'));
        writeFileSync(join(root, 'htdocs', 'bad', 'big.png'), Buffer.alloc(600 * 1024));
        edit(root, 'index.html', (s) => s.replace('</main>', '<img src="/big.png" alt="Our van" width="600" height="400">\n</main>'));
        edit(root, 'quote.html', (s) => s.replace(/<script[^>]*consult-forms\.js[^>]*><\/script>/, ''));
        edit(root, 'quote.html', (s) => s.replace(/name="message"/g, 'name="details"'));

        const r = run(root);
        assert.equal(r.status, 1);
        const has = (page, rule, detail = '') => assert.ok(
            r.lines.some((l) => l.startsWith(`sites-check: bad ${page} ${rule}`) && l.includes(detail)),
            `no "${page} ${rule}" line in:\n${r.lines.join('\n')}`);
        has('/index.html', 'broken-link', '/prices-2019.html');
        has('/index.html', 'broken-link', 'no id "nowhere"');
        has('/thanks.html', 'html:');
        has('/404.html', 'missing-asset', '/team.jpg');
        has('/index.html', 'weight', 'over the 500 KB budget');
        has('/quote.html', 'offline-form');
        has('-', 'preset-fields', '"message"');
        assert.ok(r.lines.every((l) => !l.startsWith('sites-check: good ')), `the good copy failed too:\n${r.lines.join('\n')}`);
    } finally {
        rmSync(root, { recursive: true, force: true });
    }
});
