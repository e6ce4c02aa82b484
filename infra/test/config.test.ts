import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig, readConfig } from "../src/config";
import { ADMIN_KEY, rawConfig } from "./harness";

function throwsConfig(over: Parameters<typeof rawConfig>[0], message: RegExp) {
    assert.throws(() => parseConfig(rawConfig(over)), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `a ConfigError, got ${err}`);
        assert.match((err as Error).message, message);
        return true;
    });
}

/** The stack's config as `pulumi config set` leaves it (values are strings). */
function setStackConfig(values: Record<string, unknown>, secrets: string[]) {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) all[`consult:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    pulumi.runtime.setAllConfig(all, secrets.map((k) => `consult:${k}`));
}

const STACK = {
    sshPublicKeys: [ADMIN_KEY],
    dashboard: { domain: "consult.agency.example", zone: "agency.example" },
    clients: [{ slug: "coffee-shop", domain: "emberandoak.example" }],
    formSecret: "form-secret-0123456789abcdef",
    dbPassword: "db-pass-0123456789abcdef",
};

describe("config", () => {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    it("a stack config without admin IPs fails with a message saying what to set", () => {
        setStackConfig(STACK, ["formSecret", "dbPassword"]);
        assert.throws(() => readConfig(), /consult:adminIps: no admin IPs are set, so nobody could SSH .*pulumi config set --path 'adminIps\[0\]'/);
    });

    it("an empty admin IP list fails the same way", () => {
        throwsConfig({ adminIps: [] }, /^consult:adminIps: no admin IPs are set/);
        throwsConfig({ adminIps: undefined }, /^consult:adminIps: no admin IPs are set/);
    });

    it("a stack config with admin IPs reads, with the defaults filled", () => {
        setStackConfig({ ...STACK, adminIps: ["203.0.113.9"], appNodes: "3" }, ["formSecret", "dbPassword"]);
        const cfg = readConfig();
        assert.deepEqual(cfg.adminIps, ["203.0.113.9/32"]);
        assert.equal(cfg.appNodes, 3);
        assert.equal(cfg.location, "fsn1");
        assert.equal(cfg.networkZone, "eu-central");
        assert.equal(cfg.dashboard.slug, "admin");
        assert.equal(cfg.clients[0].zone, "emberandoak.example");
        assert.equal(cfg.databaseUrl, undefined);
    });

    it("refuses SSH from the whole internet and addresses that are not addresses", () => {
        throwsConfig({ adminIps: ["0.0.0.0/0"] }, /adminIps\[0\]: 0\.0\.0\.0\/0 would open SSH to the whole internet/);
        throwsConfig({ adminIps: ["::/0"] }, /would open SSH to the whole internet/);
        throwsConfig({ adminIps: ["office"] }, /adminIps\[0\]: expected an IPv4 or IPv6 address or CIDR, got "office"/);
        throwsConfig({ adminIps: ["300.1.1.1"] }, /adminIps\[0\]: expected/);
    });

    it("needs SSH keys, a dashboard, the form secret and a database", () => {
        throwsConfig({ sshPublicKeys: [] }, /^consult:sshPublicKeys: no SSH public keys are set/);
        throwsConfig({ sshPublicKeys: ["not a key"] }, /^consult:sshPublicKeys\[0\]: expected an OpenSSH public key line/);
        throwsConfig({ dashboard: undefined }, /^consult:dashboard: is required/);
        throwsConfig({ formSecret: undefined }, /^consult:formSecret: is required \(a secret\)/);
        throwsConfig({ dbPassword: undefined }, /^consult:dbPassword: is required without databaseUrl/);
        const managed = parseConfig(rawConfig({ dbPassword: undefined, databaseUrl: pulumi.secret("postgresql://u:p@db.example/consult") }));
        assert.ok(managed.databaseUrl);
    });

    it("checks node counts, drains, slugs, hostnames and zones", () => {
        throwsConfig({ appNodes: 0 }, /^consult:appNodes: expected an integer from 1 to 10, got 0/);
        throwsConfig({ appNodes: 11 }, /^consult:appNodes: expected an integer from 1 to 10/);
        throwsConfig({ appNodes: 2, drainNodes: [0, 1] }, /^consult:drainNodes: drains all 2 app node\(s\)/);
        throwsConfig({ appNodes: 2, drainNodes: [2] }, /^consult:drainNodes\[0\]: expected an integer from 0 to 1/);
        throwsConfig({ location: "mars1" }, /^consult:location: expected one of fsn1, nbg1, hel1/);
        throwsConfig({ clients: [{ slug: "Coffee Shop", domain: "a.example" }] }, /clients\[0\]\.slug: expected lowercase/);
        throwsConfig({ clients: [{ slug: "a", domain: "not a host" }] }, /clients\[0\]\.domain: expected a hostname/);
        throwsConfig({ clients: [{ slug: "a", domain: "a.example", aliases: ["b.example"] }] },
            /clients\[0\]: b\.example is not in the Cloudflare zone a\.example/);
        throwsConfig({ clients: [{ slug: "admin", domain: "a.example" }] }, /clients\[0\]: slug admin is already used by dashboard/);
        throwsConfig({ clients: [{ slug: "a", domain: "a.example" }, { slug: "b", domain: "a.example" }] },
            /clients\[1\]: hostname a\.example is already served by clients\[0\]/);
        throwsConfig({ clients: [{ slug: "a", domain: "a.example", zoneId: "xyz" }] }, /zoneId: expected Cloudflare's 32 hex digit zone id/);
        throwsConfig({ release: { url: "http://x.example/r.tgz", sha256: "a".repeat(64) } }, /release\.url: expected an https URL/);
        throwsConfig({ release: { url: "https://x.example/r.tgz", sha256: "abc" } }, /release\.sha256: expected the tarball's SHA-256/);
    });
});
