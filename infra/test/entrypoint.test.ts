// index.ts as `pulumi up` runs it: the stack's config read through
// pulumi.Config, every resource declared, the outputs deploy.sh reads.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ADMIN_KEY, T, ofType, recorded, valueOf } from "./harness";

describe("index.ts", () => {
    after(() => pulumi.runtime.setAllConfig({}));

    it("runs from the stack config and exports appNodes, database, nodeFiles, dbPassword", async () => {
        const values: Record<string, unknown> = {
            appNodes: 3,
            drainNodes: [2],
            adminIps: ["203.0.113.9"],
            sshPublicKeys: [ADMIN_KEY],
            dashboard: { domain: "consult.agency.example", zone: "agency.example" },
            clients: [{ slug: "coffee-shop", domain: "emberandoak.example", aliases: ["www.emberandoak.example"] }],
            formSecret: "form-secret-0123456789abcdef",
            dbPassword: "db-pass-0123456789abcdef",
            siteSecrets: { TWILIO_TOKEN_COFFEE: "tw-token" },
        };
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(values)) all[`consult:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        pulumi.runtime.setAllConfig(all, ["consult:formSecret", "consult:dbPassword", "consult:siteSecrets"]);
        recorded.length = 0;
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const program = require("../index");
        const nodes = await valueOf(program.appNodes as pulumi.Output<any[]>);
        assert.deepEqual(nodes.map((n) => [n.name, n.privateIp, n.inRotation]), [
            ["consult-app-0", "10.42.1.10", true],
            ["consult-app-1", "10.42.1.11", true],
            ["consult-app-2", "10.42.1.12", false],
        ]);
        const files = await valueOf(program.nodeFiles as pulumi.Output<Record<string, { content: string }>>);
        assert.match(files["/etc/consult/consult.env"].content, /^TWILIO_TOKEN_COFFEE="tw-token"$/m);
        assert.equal(await pulumi.isSecret(program.nodeFiles), true);
        assert.equal(await valueOf(program.dbPassword), "db-pass-0123456789abcdef");
        assert.equal((await valueOf(program.database as pulumi.Output<any>)).privateIp, "10.42.1.5");
        assert.equal(program.dashboardUrl, "https://consult.agency.example/");
        assert.equal(ofType(recorded, T.server).length, 4, "three app nodes and the database server");
    });
});
