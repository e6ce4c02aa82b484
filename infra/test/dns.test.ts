import { strict as assert } from "assert";
import { T, calls, config, ofType, run, runShared } from "./harness";

const HOSTS = ["consult.agency.example", "emberandoak.example", "www.emberandoak.example", "slicebasil.example", "haul.agency.example"];

describe("DNS", () => {
    it("every client domain (and alias, and the dashboard) gets proxied A and AAAA records, one per node", async () => {
        const { resources } = await run(config({ appNodes: 2 }));
        const servers = ofType(resources, T.server).filter((s) => s.inputs.labels.role === "app");
        const records = ofType(resources, T.dns);
        assert.equal(records.length, HOSTS.length * 2 * 2);
        for (const r of records) {
            assert.equal(r.inputs.proxied, true, `${r.name} is proxied`);
            assert.equal(r.inputs.ttl, 1);
        }
        for (const host of HOSTS) {
            const mine = records.filter((r) => r.inputs.name === host);
            assert.deepEqual(mine.filter((r) => r.inputs.type === "A").map((r) => r.inputs.content).sort(),
                servers.map((s) => s.state.ipv4Address).sort(), `${host} A records point at the nodes`);
            assert.deepEqual(mine.filter((r) => r.inputs.type === "AAAA").map((r) => r.inputs.content).sort(),
                servers.map((s) => s.state.ipv6Address).sort(), `${host} AAAA records point at the nodes`);
        }
    });

    it("records go into each name's own zone, each zone looked up once by name", async () => {
        const { resources } = await run(config());
        const lookups = calls.filter((c) => c.token === "cloudflare:index/getZone:getZone").map((c) => c.inputs.filter.name);
        assert.deepEqual(lookups.sort(), ["agency.example", "emberandoak.example", "slicebasil.example"]);
        const zoneOf = (host: string) => ofType(resources, T.dns).find((r) => r.inputs.name === host)!.inputs.zoneId;
        assert.equal(zoneOf("consult.agency.example"), zoneOf("haul.agency.example"));
        assert.equal(zoneOf("emberandoak.example"), zoneOf("www.emberandoak.example"));
        assert.notEqual(zoneOf("emberandoak.example"), zoneOf("slicebasil.example"));
    });

    it("a zone id in the config is used as is, with no lookup", async () => {
        const zoneId = "0123456789abcdef0123456789abcdef";
        const { resources } = await run(config({ clients: [{ slug: "pizzeria", domain: "slicebasil.example", zoneId }] }));
        assert.ok(!calls.some((c) => c.inputs?.filter?.name === "slicebasil.example"));
        assert.ok(ofType(resources, T.dns).filter((r) => r.inputs.name === "slicebasil.example").every((r) => r.inputs.zoneId === zoneId));
    });

    it("a drained node gets no record, the others keep theirs", async () => {
        const { stack, resources } = await run(config({ appNodes: 3, drainNodes: [1] }));
        const drained = await new Promise<string>((resolve) => stack.nodes[1].server.ipv4Address.apply(resolve));
        const records = ofType(resources, T.dns);
        assert.equal(records.length, HOSTS.length * 2 * 2);
        assert.ok(!records.some((r) => r.inputs.content === drained));
    });
});
