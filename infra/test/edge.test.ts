import { strict as assert } from "assert";
import { FAKE_KEY_PEM, Recorded, T, config, ofType, run, runShared, valueOf } from "./harness";

// A small evaluator for the subset of Cloudflare's rules language the
// cache rules use, so the tests check what a request gets, not how the
// expression is spelled: and, or, not, parentheses, `field in {"a" "b"}`,
// starts_with(field, "x") and ends_with(field, "x").
interface Req { host: string; path: string }

function tokenize(text: string): string[] {
    const tokens: string[] = [];
    const re = /\s*("(?:[^"\\]|\\.)*"|[(){},]|[A-Za-z_][A-Za-z0-9_.]*)/y;
    let m: RegExpExecArray | null;
    while (re.lastIndex < text.length && (m = re.exec(text))) tokens.push(m[1]);
    if (re.lastIndex < text.trimEnd().length) throw new Error(`cannot read the expression at: ${text.slice(re.lastIndex)}`);
    return tokens;
}

function evaluate(expression: string, req: Req): boolean {
    const tokens = tokenize(expression);
    let i = 0;
    const next = () => tokens[i++];
    const expect = (t: string) => { if (next() !== t) throw new Error(`expected ${t} in ${expression}`); };
    const field = (name: string): string => {
        switch (name) {
            case "http.host": return req.host;
            case "http.request.uri.path": return req.path;
            case "http.request.uri.path.extension": {
                const last = req.path.split("/").pop() ?? "";
                return last.includes(".") ? last.split(".").pop()!.toLowerCase() : "";
            }
            default: throw new Error(`unknown field ${name}`);
        }
    };
    const str = () => JSON.parse(next()) as string;
    const primary = (): boolean => {
        const t = next();
        if (t === "(") { const v = or(); expect(")"); return v; }
        if (t === "starts_with" || t === "ends_with") {
            expect("("); const f = field(next()); expect(","); const s = str(); expect(")");
            return t === "starts_with" ? f.startsWith(s) : f.endsWith(s);
        }
        const f = field(t);
        expect("in"); expect("{");
        const values: string[] = [];
        while (tokens[i] !== "}") values.push(str());
        expect("}");
        return values.includes(f);
    };
    const unary = (): boolean => (tokens[i] === "not" ? (next(), !unary()) : primary());
    const and = (): boolean => { let v = unary(); while (tokens[i] === "and") { next(); const r = unary(); v = v && r; } return v; };
    const or = (): boolean => { let v = and(); while (tokens[i] === "or") { next(); const r = and(); v = v || r; } return v; };
    const v = or();
    if (i !== tokens.length) throw new Error(`trailing tokens in ${expression}`);
    return v;
}

/** What the zone's cache rules decide: the last matching rule wins; undefined if none matches. */
function decide(ruleset: Recorded, req: Req): { cache?: boolean; rule?: string } {
    let out: { cache?: boolean; rule?: string } = {};
    for (const r of ruleset.inputs.rules) {
        if (evaluate(r.expression, req)) out = { cache: r.actionParameters.cache, rule: r.ref };
    }
    return out;
}

describe("Cloudflare edge", () => {
    it("every zone: SSL strict, HTTPS always, TLS 1.2 at least", async () => {
        const { resources, stack } = await runShared("typical", () => config());
        const zones = stack.zones.map((z) => z.name).sort();
        assert.deepEqual(zones, ["agency.example", "emberandoak.example", "slicebasil.example"]);
        const settings = ofType(resources, T.zoneSetting);
        const zoneIds = await Promise.all(stack.zones.map((z) => valueOf(z.id)));
        for (const zoneId of zoneIds) {
            const mine = new Map(settings.filter((s) => s.inputs.zoneId === zoneId).map((s) => [s.inputs.settingId, s.inputs.value]));
            assert.equal(mine.get("ssl"), "strict", `zone ${zoneId} is strict`);
            assert.equal(mine.get("always_use_https"), "on");
            assert.equal(mine.get("min_tls_version"), "1.2");
        }
    });

    it("each zone has an Origin CA certificate for its hostnames, and the nodes get it with the key", async () => {
        const { resources, stack } = await runShared("typical", () => config());
        const certs = ofType(resources, T.originCert);
        const hostSets = certs.map((c) => [...c.inputs.hostnames].sort().join(" ")).sort();
        assert.deepEqual(hostSets, [
            "consult.agency.example haul.agency.example",
            "emberandoak.example www.emberandoak.example",
            "slicebasil.example",
        ]);
        for (const c of certs) assert.equal(c.inputs.requestType, "origin-ecc");
        const files = await valueOf(stack.outputs.nodeFiles);
        assert.equal(files["/etc/consult/tls/origin.key"].content, FAKE_KEY_PEM);
        assert.equal(files["/etc/consult/tls/origin.key"].mode, "0600");
        for (const zone of ["agency.example", "emberandoak.example", "slicebasil.example"]) {
            assert.match(files[`/etc/consult/tls/${zone}.pem`].content, /BEGIN CERTIFICATE/);
        }
        assert.equal(files["/etc/consult/sites.tsv"].content.split("\n").filter((l) => l && !l.startsWith("#")).join("\n"), [
            "admin\tagency.example\tconsult.agency.example",
            "coffee-shop\temberandoak.example\temberandoak.example www.emberandoak.example",
            "pizzeria\tslicebasil.example\tslicebasil.example",
            "junk-hauler\tagency.example\thaul.agency.example",
        ].join("\n"));
    });

    it("cache rules cache the static sites but never /api/*, /twilio/*, /webhooks/* or the dashboard", async () => {
        const { resources, stack } = await runShared("typical", () => config());
        const rulesets = ofType(resources, T.ruleset);
        assert.equal(rulesets.length, 3, "one cache ruleset per zone");
        const byZone = new Map<string, Recorded>();
        for (const z of stack.zones) {
            const id = await valueOf(z.id);
            const rs = rulesets.find((r) => r.inputs.zoneId === id)!;
            assert.equal(rs.inputs.kind, "zone");
            assert.equal(rs.inputs.phase, "http_request_cache_settings");
            for (const r of rs.inputs.rules) assert.equal(r.action, "set_cache_settings");
            byZone.set(z.name, rs);
        }
        const zoneOf = (host: string) => byZone.get(host.endsWith("agency.example") ? "agency.example"
            : host.endsWith("emberandoak.example") ? "emberandoak.example" : "slicebasil.example")!;
        const cached = (host: string, path: string) => decide(zoneOf(host), { host, path }).cache === true;
        const bypassed = (host: string, path: string) => decide(zoneOf(host), { host, path }).cache === false;

        for (const [host, path] of [
            ["emberandoak.example", "/css/site.css"],
            ["www.emberandoak.example", "/img/logo.png"],
            ["emberandoak.example", "/fonts/body.woff2"],
            ["slicebasil.example", "/js/menu.js"],
            ["haul.agency.example", "/logo.svg"],
            ["emberandoak.example", "/"],
            ["emberandoak.example", "/about.html"],
            ["slicebasil.example", "/_consult/menu-live.js"],
        ]) assert.ok(cached(host, path), `${host}${path} is cached`);

        for (const host of ["emberandoak.example", "slicebasil.example", "haul.agency.example"]) {
            for (const path of [
                "/api/intake", "/api/menu", "/api/menu/availability", "/api/intake.js", "/api",
                "/twilio/sms", "/twilio/voice/recording", "/twilio/status.css",
                "/webhooks/pos", "/webhooks/stripe", "/webhooks/", "/consult/health", "/menu",
            ]) assert.ok(bypassed(host, path), `${host}${path} is never cached`);
        }
        for (const path of ["/", "/login", "/assets/app.css", "/assets/vendor/htmx.min.js", "/inbox", "/api/x.png"]) {
            assert.ok(bypassed("consult.agency.example", path), `dashboard ${path} is never cached`);
        }
    });

    it("the dashboard host is in no caching rule's host list", async () => {
        const { resources } = await runShared("typical", () => config());
        for (const rs of ofType(resources, T.ruleset)) {
            for (const r of rs.inputs.rules.filter((x: any) => x.actionParameters.cache === true)) {
                const hosts = /http\.host in \{([^}]*)\}/.exec(r.expression)![1];
                assert.ok(!hosts.includes("consult.agency.example"), `${r.ref} never names the dashboard as cacheable`);
            }
            assert.equal(rs.inputs.rules.at(-1).actionParameters.cache, false, "the bypass rule is last, so it wins");
        }
    });

    it("pages are cached only as the origin allows (pages with a form send no-store); assets for an hour", async () => {
        const { resources } = await runShared("typical", () => config());
        const rules = ofType(resources, T.ruleset)[0].inputs.rules;
        const pages = rules.find((r: any) => r.ref === "consult_static_pages");
        const assets = rules.find((r: any) => r.ref === "consult_static_assets");
        assert.deepEqual(pages.actionParameters.edgeTtl, { mode: "respect_origin" });
        assert.deepEqual(assets.actionParameters.edgeTtl, { mode: "override_origin", default: 3600 });
    });
});
