import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { T, config, ofType, run, runShared, valueOf } from "./harness";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, CLOUDFLARE_RANGES } from "../src/cloudflare-ips";
import { normalizeCidr } from "../src/config";
import { infraRoot } from "../src/files";

const ADMIN = ["198.51.100.7/32", "2001:db8:42::/48"];

describe("firewalls", () => {
    it("app nodes: 80 and 443 from Cloudflare's ranges only, 22 from the admin IPs only, nothing else", async () => {
        const { resources } = await runShared("typical", () => config());
        const app = ofType(resources, T.firewall).find((f) => f.inputs.labels.role === "app")!;
        const rules = app.inputs.rules as any[];
        assert.equal(rules.length, 3);
        for (const r of rules) {
            assert.equal(r.direction, "in");
            assert.equal(r.protocol, "tcp");
            assert.equal(r.destinationIps, undefined);
        }
        const byPort = new Map(rules.map((r) => [r.port, r.sourceIps]));
        assert.deepEqual([...byPort.keys()].sort(), ["22", "443", "80"]);
        assert.deepEqual(byPort.get("80"), [...CLOUDFLARE_RANGES]);
        assert.deepEqual(byPort.get("443"), [...CLOUDFLARE_RANGES]);
        assert.deepEqual(byPort.get("22"), ADMIN);
        for (const src of [...byPort.get("80"), ...byPort.get("443"), ...byPort.get("22")]) {
            assert.ok(!/\/0$/.test(src), `${src} is not the whole internet`);
        }
    });

    it("database server: 22 from the admin IPs, nothing else", async () => {
        const { resources } = await runShared("typical", () => config());
        const db = ofType(resources, T.firewall).find((f) => f.inputs.labels.role === "db")!;
        assert.deepEqual(db.inputs.rules.map((r: any) => [r.direction, r.protocol, r.port, r.sourceIps]),
            [["in", "tcp", "22", ADMIN]]);
        const server = ofType(resources, T.server).find((s) => s.inputs.labels.role === "db")!;
        assert.deepEqual(server.inputs.firewallIds, [Number(db.id)]);
    });

    it("the Cloudflare list is well formed and the same as conf/remoteip-cloudflare.conf.example", () => {
        for (const r of CLOUDFLARE_IPV4) assert.match(r, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
        for (const r of CLOUDFLARE_IPV6) assert.match(r, /^[0-9a-f:]+\/\d+$/);
        for (const r of CLOUDFLARE_RANGES) assert.equal(normalizeCidr(r), r);
        assert.equal(new Set(CLOUDFLARE_RANGES).size, CLOUDFLARE_RANGES.length);
        const conf = fs.readFileSync(path.join(infraRoot(), "..", "conf/remoteip-cloudflare.conf.example"), "utf8");
        const inConf = [...conf.matchAll(/^RemoteIPTrustedProxy\s+(\S+)/gm)].map((m) => m[1]);
        assert.deepEqual([...inConf].sort(), [...CLOUDFLARE_RANGES].sort());
    });

    it("the nodes' mod_remoteip believes CF-Connecting-IP from exactly those ranges", async () => {
        const { stack } = await runShared("typical", () => config());
        const files = await valueOf(stack.outputs.nodeFiles);
        const prelude = files["/etc/consult/apache/prelude.conf"].content;
        assert.match(prelude, /^RemoteIPHeader CF-Connecting-IP$/m);
        const trusted = [...prelude.matchAll(/^RemoteIPTrustedProxy (\S+)$/gm)].map((m) => m[1]);
        assert.deepEqual(trusted, [...CLOUDFLARE_RANGES]);
    });
});
