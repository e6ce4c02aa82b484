import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DB_PASSWORD, T, cloudConfig, config, ofType, run, runShared, valueOf } from "./harness";
import { DB_PRIVATE_IP } from "../src/network";

describe("database", () => {
    it("its own server: a delete-protected volume, attached, Hetzner backups on, nightly dumps", async () => {
        const { stack, resources } = await run(config({ dbVolumeSize: 40 }));
        const [volume] = ofType(resources, T.volume);
        assert.ok(volume, "the volume exists");
        assert.equal(volume.inputs.size, 40);
        assert.equal(volume.inputs.format, "ext4");
        assert.equal(volume.inputs.deleteProtection, true);
        const db = ofType(resources, T.server).find((s) => s.inputs.labels.role === "db")!;
        assert.equal(db.inputs.backups, true, "Hetzner backups are on");
        assert.equal(db.inputs.deleteProtection, true);
        assert.equal(db.inputs.networks[0].ip, DB_PRIVATE_IP);
        const [attach] = ofType(resources, T.attachment);
        assert.equal(attach.inputs.volumeId, Number(volume.id));
        assert.equal(attach.inputs.serverId, Number(db.id));
        const doc = cloudConfig(db.inputs.userData);
        assert.deepEqual(doc.runcmd, [["/usr/local/sbin/consult-db-setup", volume.id, "10.42.1.0/24"]]);
        const paths = doc.write_files.map((f: any) => f.path);
        assert.ok(paths.includes("/etc/systemd/system/consult-db-backup.timer"));
        assert.ok(paths.includes("/usr/local/sbin/consult-db-backup"));
        assert.ok(!db.inputs.userData.includes(DB_PASSWORD));

        const files = await valueOf(stack.outputs.nodeFiles);
        const env = files["/etc/consult/consult.env"];
        assert.equal(env.mode, "0600");
        assert.match(env.content, new RegExp(`^CONSULT_DATABASE="host=${DB_PRIVATE_IP.replace(/\./g, "\\.")} port=5432 dbname=consult user=consult password=${DB_PASSWORD} sslmode=require connect_timeout=3"$`, "m"));
        assert.equal(await valueOf(stack.outputs.dbPassword as pulumi.Output<string>), DB_PASSWORD);
    });

    it("a managed connection string: no database server, no volume, the string on the nodes", async () => {
        const url = "postgresql://consult:s3cret@pg.managed.example:5432/consult?sslmode=verify-full";
        const { stack, resources } = await run(config({ dbPassword: undefined, databaseUrl: pulumi.secret(url) }));
        assert.equal(ofType(resources, T.volume).length, 0);
        assert.equal(ofType(resources, T.attachment).length, 0);
        assert.equal(ofType(resources, T.server).filter((s) => s.inputs.labels.role === "db").length, 0);
        assert.equal(ofType(resources, T.firewall).filter((f) => f.inputs.labels.role === "db").length, 0);
        const files = await valueOf(stack.outputs.nodeFiles);
        assert.match(files["/etc/consult/consult.env"].content, new RegExp(`^CONSULT_DATABASE="${url.replace(/[?.]/g, "\\$&")}"$`, "m"));
        assert.deepEqual(await valueOf(stack.outputs.database), { managed: true });
    });

    it("secrets are secret outputs", async () => {
        const { stack } = await runShared("typical", () => config());
        assert.equal(await pulumi.isSecret(stack.outputs.nodeFiles), true);
        assert.equal(await pulumi.isSecret(stack.outputs.dbPassword), true);
    });
});
