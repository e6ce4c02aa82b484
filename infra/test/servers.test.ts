import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { DB_PASSWORD, FAKE_KEY_PEM, FORM_SECRET, T, cloudConfig, config, ofType, run, runShared } from "./harness";
import { appNodePackages, parsePackageList, TEST_ONLY } from "../src/packages";
import { USER_DATA_LIMIT } from "../src/cloudinit";
import { infraRoot } from "../src/files";

const repo = path.join(infraRoot(), "..");

describe("app nodes", () => {
    for (const count of [1, 2, 5]) {
        it(`appNodes: ${count} makes ${count} servers, each on the private network at its own address`, async () => {
            const { resources } = await run(config({ appNodes: count }));
            const apps = ofType(resources, T.server).filter((s) => s.inputs.labels.role === "app");
            assert.equal(apps.length, count);
            const [network] = ofType(resources, T.network);
            const [subnet] = ofType(resources, T.subnet);
            assert.equal(subnet.inputs.networkId, Number(network.id));
            const ips = apps.map((s) => {
                assert.equal(s.inputs.networks.length, 1, `${s.name} has one private network`);
                const [n] = s.inputs.networks;
                assert.equal(n.networkId, Number(network.id), `${s.name} is on the stack's network`);
                assert.match(n.ip, /^10\.42\.1\.\d+$/, `${s.name}'s address is in ${subnet.inputs.ipRange}`);
                return n.ip;
            });
            assert.equal(new Set(ips).size, count, "every node has its own private address");
        });
    }

    it("spreads the nodes over hosts and puts them behind the app firewall with the admins' keys", async () => {
        const { resources } = await run(config({ appNodes: 3 }));
        const [placement] = ofType(resources, T.placement);
        assert.equal(placement.inputs.type, "spread");
        const appFw = ofType(resources, T.firewall).find((f) => f.inputs.labels.role === "app")!;
        const keys = ofType(resources, T.sshKey).map((k) => k.id);
        for (const s of ofType(resources, T.server).filter((x) => x.inputs.labels.role === "app")) {
            assert.equal(s.inputs.placementGroupId, Number(placement.id));
            assert.deepEqual(s.inputs.firewallIds, [Number(appFw.id)]);
            assert.deepEqual(s.inputs.sshKeys, keys);
            assert.equal(s.inputs.image, "debian-12");
            assert.equal(s.inputs.location, "fsn1");
            assert.deepEqual(s.inputs.publicNets, [{ ipv4Enabled: true, ipv6Enabled: true }]);
        }
    });

    it("user data installs dist/packages.txt less the test tools, and the node scripts", async () => {
        const { resources } = await run(config({
            release: { url: "https://releases.agency.example/consult-1.4.0.tar.gz", sha256: "ab".repeat(32) },
        }));
        const listed = parsePackageList(fs.readFileSync(path.join(repo, "dist/packages.txt"), "utf8"));
        for (const s of ofType(resources, T.server).filter((x) => x.inputs.labels.role === "app")) {
            const doc = cloudConfig(s.inputs.userData);
            assert.ok(Buffer.byteLength(s.inputs.userData) < USER_DATA_LIMIT);
            assert.deepEqual(doc.packages, appNodePackages());
            for (const p of listed) {
                const expected = !TEST_ONLY.has(p) && p !== "postgresql";
                assert.equal(doc.packages.includes(p), expected, `${p} ${expected ? "installed" : "not installed"} on app nodes`);
            }
            for (const p of ["apache2", "libpq-dev", "libjson-c-dev", "libcurl4-openssl-dev", "libssl-dev", "libargon2-dev", "libmagic-dev", "nodejs", "npm"]) {
                assert.ok(doc.packages.includes(p), `${p} on app nodes`);
            }
            const files = new Map<string, any>(doc.write_files.map((f: any) => [f.path, f]));
            for (const [dest, src, mode] of [
                ["/usr/local/sbin/consult-release", "node/consult-release", "0755"],
                ["/usr/local/sbin/consult-render", "node/consult-render", "0755"],
                ["/usr/local/sbin/consult-apply-bundle", "node/consult-apply-bundle", "0755"],
                ["/usr/local/bin/consult-admin", "node/consult-admin", "0755"],
                ["/etc/systemd/system/consult.service", "node/consult.service", "0644"],
            ]) {
                assert.equal(files.get(dest)?.content, fs.readFileSync(path.join(infraRoot(), src), "utf8"), dest);
                assert.equal(files.get(dest)?.permissions, mode);
            }
            assert.match(files.get("/etc/consult/paths.env").content, /^CONSULT_ROOT=\/opt\/consult\/current$/m);
            assert.deepEqual(doc.runcmd[0], ["systemctl", "disable", "--now", "apache2"]);
            assert.deepEqual(doc.runcmd.at(-1), [
                "/usr/local/sbin/consult-release", "--stage",
                "https://releases.agency.example/consult-1.4.0.tar.gz", "ab".repeat(32),
            ]);
        }
    });

    it("user data holds no secret (Hetzner keeps it readable)", async () => {
        const { resources } = await runShared("typical", () => config());
        for (const s of ofType(resources, T.server)) {
            for (const secret of [FORM_SECRET, DB_PASSWORD, FAKE_KEY_PEM.split("\n")[1]]) {
                assert.ok(!s.inputs.userData.includes(secret), `${s.name}'s user data has no secret`);
            }
        }
    });

    it("without consult:release a node only prepares; deploy.sh brings the release", async () => {
        const { resources } = await runShared("typical", () => config());
        const app = ofType(resources, T.server).find((x) => x.inputs.labels.role === "app")!;
        const doc = cloudConfig(app.inputs.userData);
        assert.ok(!JSON.stringify(doc.runcmd).includes("consult-release"));
    });

    it("drained nodes still exist and are reported out of rotation", async () => {
        const { stack, resources } = await run(config({ appNodes: 3, drainNodes: [2] }));
        assert.equal(ofType(resources, T.server).filter((x) => x.inputs.labels.role === "app").length, 3);
        assert.deepEqual(stack.nodes.map((n) => n.inRotation), [true, true, false]);
    });
});
