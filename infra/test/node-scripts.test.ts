// The scripts the nodes run, run here on this machine's own folders: the
// bundle written by consult-apply-bundle, the production Apache config
// rendered by consult-render from the repository's own conf/ and, where
// Apache and a build of the modules are at hand, checked by apache2 -t.
// Nothing here starts a server or opens a connection.

import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { config, run, runShared, valueOf } from "./harness";
import { PATHS_ENV } from "../src/cloudinit";
import { NodeFiles } from "../src/bundle";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../src/cloudflare-ips";
import { infraRoot } from "../src/files";

const infra = infraRoot();
const repo = path.join(infra, "..");
const node = (name: string) => path.join(infra, "node", name);

const made: string[] = [];
function tmpdir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consult-infra-"));
    made.push(dir);
    return dir;
}

function applyBundle(root: string, files: NodeFiles): string {
    return execFileSync("python3", [node("consult-apply-bundle")], {
        input: JSON.stringify(files),
        env: { ...process.env, CONSULT_BUNDLE_ROOT: root },
        encoding: "utf8",
    });
}

/** A release tree: conf/ copied (consult-render writes prod/ beside it), the rest linked. */
function fakeRelease(dir: string): string {
    const rel = path.join(dir, "release");
    fs.mkdirSync(rel);
    fs.cpSync(path.join(repo, "conf"), path.join(rel, "conf"), { recursive: true });
    for (const d of ["modules", "htdocs", "sql", "Makefile"]) fs.symlinkSync(path.join(repo, d), path.join(rel, d));
    return rel;
}

describe("node scripts", () => {
    after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

    it("are valid bash and python", () => {
        for (const s of ["consult-release", "consult-render", "consult-admin", "consult-db-setup", "consult-db-role", "consult-db-backup"]) {
            execFileSync("bash", ["-n", node(s)]);
            assert.ok(fs.statSync(node(s)).mode & 0o100, `${s} is executable`);
        }
        execFileSync("bash", ["-n", path.join(infra, "deploy.sh")]);
        execFileSync("python3", ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", node("consult-apply-bundle")]);
    });

    it("consult-apply-bundle writes each file with its mode, rewrites only what changed, drops stale certificates", async () => {
        const { stack } = await runShared("typical", () => config());
        const files = await valueOf(stack.outputs.nodeFiles);
        const root = tmpdir();
        const first = applyBundle(root, files);
        assert.match(first, new RegExp(`${Object.keys(files).length} file\\(s\\), ${Object.keys(files).length} changed`));
        for (const [p, spec] of Object.entries(files)) {
            assert.equal(fs.readFileSync(root + p, "utf8"), spec.content, p);
            assert.equal((fs.statSync(root + p).mode & 0o777).toString(8), spec.mode.replace(/^0/, ""), `${p} mode`);
        }
        assert.match(applyBundle(root, files), / 0 changed/);
        fs.writeFileSync(`${root}/etc/consult/tls/gone.example.pem`, "old");
        assert.match(applyBundle(root, files), /removed \/etc\/consult\/tls\/gone\.example\.pem/);
        assert.ok(!fs.existsSync(`${root}/etc/consult/tls/gone.example.pem`));
    });

    it("consult-apply-bundle refuses paths outside /etc/consult and /var/lib/consult", () => {
        for (const bad of ["/etc/passwd", "/etc/consult/../shadow", "/root/.ssh/authorized_keys"]) {
            const r = spawnSync("python3", [node("consult-apply-bundle")], {
                input: JSON.stringify({ [bad]: { mode: "0644", content: "x" } }),
                env: { ...process.env, CONSULT_BUNDLE_ROOT: tmpdir() },
                encoding: "utf8",
            });
            assert.notEqual(r.status, 0, `${bad} refused`);
            assert.match(r.stderr, /refusing entry/);
        }
    });

    it("consult-render serves each site of the bundle on 443 under its real names, from the release's own vhost", async () => {
        const { stack } = await runShared("typical", () => config());
        const files = await valueOf(stack.outputs.nodeFiles);
        const dir = tmpdir();
        applyBundle(path.join(dir, "root"), files);
        const rel = fakeRelease(dir);
        const etc = path.join(dir, "root/etc/consult");
        const out = execFileSync(node("consult-render"), [rel], { env: { ...process.env, CONSULT_ETC: etc }, encoding: "utf8" });
        assert.match(out, /4 site\(s\)/);

        const httpd = fs.readFileSync(path.join(rel, "prod/httpd.conf"), "utf8");
        assert.ok(!httpd.includes("Include conf/sites/*.conf"), "the demo vhosts are not included");
        assert.ok(httpd.includes(`Include "${etc}/apache/prelude.conf"`));
        assert.ok(httpd.includes(`Include "${rel}/prod/sites/*.conf"`));
        const original = fs.readFileSync(path.join(repo, "conf/httpd.conf"), "utf8");
        assert.equal(httpd.split("\n").filter((l) => l.startsWith("LoadModule")).join("\n"),
            original.split("\n").filter((l) => l.startsWith("LoadModule")).join("\n"), "the release's modules, unchanged");

        const coffee = fs.readFileSync(path.join(rel, "prod/sites/coffee-shop.conf"), "utf8");
        assert.match(coffee, /^<VirtualHost \*:443>$/m);
        assert.match(coffee, /^\s+ServerName emberandoak\.example$/m);
        assert.match(coffee, /^\s+ServerAlias www\.emberandoak\.example$/m);
        assert.ok(coffee.includes(`SSLCertificateFile "${etc}/tls/emberandoak.example.pem"`));
        assert.ok(coffee.includes(`SSLCertificateKeyFile "${etc}/tls/origin.key"`));
        assert.match(coffee, /^\s+ConsultClient coffee-shop$/m, "the release's directives are kept");
        assert.ok(!coffee.split("\n").some((l) => !l.trim().startsWith("#") && l.includes("localhost")), "no demo name is left");
        assert.match(coffee, /<VirtualHost \*:80>\s+ServerName www\.emberandoak\.example\s+Redirect permanent \/ https:\/\/www\.emberandoak\.example\/\s+<\/VirtualHost>/);
        const admin = fs.readFileSync(path.join(rel, "prod/sites/admin.conf"), "utf8");
        assert.match(admin, /^\s+ServerName consult\.agency\.example$/m);
        assert.ok(admin.includes(`${etc}/tls/agency.example.pem`));
        assert.match(admin, /ConsultInbox On/);
        const dflt = fs.readFileSync(path.join(rel, "prod/sites/000-default.conf"), "utf8");
        assert.match(dflt, /ServerName default\.invalid/);
    });

    it("consult-render stops, naming the site, when the release lacks its vhost file", async () => {
        const { stack } = await run(config({ clients: [{ slug: "no-such-client", domain: "nobody.example" }] }));
        const files = await valueOf(stack.outputs.nodeFiles);
        const dir = tmpdir();
        applyBundle(path.join(dir, "root"), files);
        const rel = fakeRelease(dir);
        const r = spawnSync(node("consult-render"), [rel], {
            env: { ...process.env, CONSULT_ETC: path.join(dir, "root/etc/consult") }, encoding: "utf8",
        });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /site no-such-client: the release has no conf\/sites\/no-such-client\.conf/);
        assert.ok(!fs.existsSync(path.join(rel, "prod")), "nothing half-written is left as prod/");
    });

    const modules = path.join(repo, "build/release/modules/mod_consult_core.so");
    const haveApache = fs.existsSync("/usr/sbin/apache2") && fs.existsSync(modules);
    (haveApache ? it : it.skip)("apache2 -t accepts the rendered config (with the modules of this checkout's build)", async function () {
        const { stack } = await runShared("typical", () => config());
        const files = await valueOf(stack.outputs.nodeFiles);
        const dir = tmpdir();
        const root = path.join(dir, "root");
        applyBundle(root, files);
        const rel = fakeRelease(dir);
        const etc = path.join(root, "etc/consult");
        // What consult-release makes before the first start.
        for (const d of ["log", "run", "pos/snapshots", "empty"]) fs.mkdirSync(path.join(root, "var/lib/consult", d), { recursive: true });
        execFileSync(node("consult-render"), [rel], { env: { ...process.env, CONSULT_ETC: etc } });
        const env: Record<string, string> = {};
        for (const line of PATHS_ENV.split("\n")) {
            const m = /^([A-Z_]+)=(.*)$/.exec(line);
            if (m) env[m[1]] = m[2];
        }
        Object.assign(env, {
            PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            CONSULT_ROOT: rel,
            CONSULT_HTDOCS: path.join(repo, "htdocs"),
            CONSULT_BUILD: path.join(repo, "build/release"),
            CONSULT_VAR: path.join(root, "var/lib/consult"),
            // A syntax check opens no connection; loopback all the same.
            CONSULT_DATABASE: "host=127.0.0.1 port=9 dbname=consult user=consult connect_timeout=1",
        });
        const r = spawnSync("/usr/sbin/apache2", ["-t", "-f", path.join(rel, "prod/httpd.conf")], { env, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr + r.stdout, /Syntax OK/);
    });

    it("tools/refresh-cloudflare-ips.sh rewrites the list from Cloudflare's two plain lists (curl stood in for)", () => {
        const dir = tmpdir();
        for (const d of ["tools", "src", "bin"]) fs.mkdirSync(path.join(dir, d));
        fs.copyFileSync(path.join(infra, "tools/refresh-cloudflare-ips.sh"), path.join(dir, "tools/refresh.sh"));
        fs.copyFileSync(path.join(infra, "src/cloudflare-ips.ts"), path.join(dir, "src/cloudflare-ips.ts"));
        fs.writeFileSync(path.join(dir, "ips-v4"), CLOUDFLARE_IPV4.join("\n") + "\n");
        fs.writeFileSync(path.join(dir, "ips-v6"), [...CLOUDFLARE_IPV6, "2a09:bac0::/29"].join("\n") + "\n");
        fs.writeFileSync(path.join(dir, "bin/curl"), `#!/usr/bin/env bash\nlast=\${!#}\ncat "${dir}/\${last##*/}"\n`, { mode: 0o755 });
        const out = execFileSync("bash", [path.join(dir, "tools/refresh.sh")], {
            env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` }, encoding: "utf8",
        });
        assert.match(out, /rewritten/);
        const text = fs.readFileSync(path.join(dir, "src/cloudflare-ips.ts"), "utf8");
        assert.match(text, /^    "2a09:bac0::\/29",$/m);
        assert.match(text, /^\/\/ Checked: \d{4}-\d{2} \(fetched from the two lists above\)$/m);
        for (const r of [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]) assert.ok(text.includes(`"${r}"`));
        assert.match(text, /^\/\/ Where they come from:/m, "the header is kept");
    });
});
