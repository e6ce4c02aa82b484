// deploy.sh against stand-ins for pulumi, ssh and scp (scripts on PATH that
// record what they were asked): the order of the rolling deploy, what each
// node is sent, and the stop at the first node that fails.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { infraRoot } from "../src/files";

const deploy = path.join(infraRoot(), "deploy.sh");

interface Call { tool: string; args: string[]; stdin: string }

const OUTPUTS = {
    appNodes: [
        { index: 0, name: "consult-app-0", ipv4: "192.0.2.10", ipv6: "2001:db8::10", privateIp: "10.42.1.10", inRotation: true },
        { index: 1, name: "consult-app-1", ipv4: "192.0.2.11", ipv6: "2001:db8::11", privateIp: "10.42.1.11", inRotation: true },
        { index: 2, name: "consult-app-2", ipv4: "192.0.2.12", ipv6: "2001:db8::12", privateIp: "10.42.1.12", inRotation: false },
    ],
    database: { managed: false, name: "consult-db", ipv4: "192.0.2.5", privateIp: "10.42.1.5" },
    dbPassword: "db-pass-0123456789abcdef",
    nodeFiles: { "/etc/consult/consult.env": { mode: "0600", content: 'CONSULT_DATABASE="x"\n' } },
};

// Records each call as one JSON line; fails `consult-release` on $FAIL_HOST.
const STANDIN = `#!/usr/bin/env python3
import json, os, sys
tool = os.path.basename(sys.argv[0])
stdin = "" if sys.stdin.isatty() else sys.stdin.read()
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps({"tool": tool, "args": sys.argv[1:], "stdin": stdin}) + "\\n")
if tool == "pulumi":
    sys.stdout.write(open(os.environ["OUTPUTS"]).read())
elif tool == "ssh":
    host, command = next(a for a in sys.argv[1:] if a.startswith("root@")), " ".join(sys.argv[1:])
    if " test -d " in " " + command + " ":
        sys.exit(1)  # no node has the release yet
    if "consult-release" in command and host == "root@" + os.environ.get("FAIL_HOST", "-"):
        sys.exit(3)
`;

const made: string[] = [];

function setup(outputs: object = OUTPUTS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consult-deploy-"));
    made.push(dir);
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of ["pulumi", "ssh", "scp"]) fs.writeFileSync(path.join(bin, tool), STANDIN, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
    const tarball = path.join(dir, "consult-1.4.0.tar.gz");
    fs.writeFileSync(tarball, "not really a tarball");
    return { dir, bin, tarball };
}

function runDeploy(env: ReturnType<typeof setup>, args: string[], extra: Record<string, string> = {}) {
    const calls = path.join(env.dir, "calls.jsonl");
    const r = spawnSync("bash", [deploy, ...args], {
        env: { ...process.env, PATH: `${env.bin}:${process.env.PATH}`, CALLS: calls, OUTPUTS: path.join(env.dir, "outputs.json"), ...extra },
        encoding: "utf8",
    });
    const list: Call[] = fs.existsSync(calls)
        ? fs.readFileSync(calls, "utf8").trim().split("\n").map((l) => JSON.parse(l))
        : [];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: list };
}

/** "host: remote command" for each ssh call, in order. */
function sshSteps(calls: Call[]): string[] {
    return calls.filter((c) => c.tool === "ssh").map((c) => {
        const at = c.args.findIndex((a) => a.startsWith("root@"));
        return `${c.args[at].slice(5)}: ${c.args.slice(at + 1).join(" ")}`;
    });
}

describe("deploy.sh", () => {
    after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

    it("rolls a local tarball onto every node in turn: configuration, upload, switch", () => {
        const env = setup();
        const r = runDeploy(env, [env.tarball]);
        assert.equal(r.status, 0, r.stderr);
        const sha = spawnSync("sha256sum", [env.tarball], { encoding: "utf8" }).stdout.split(" ")[0];
        const steps = sshSteps(r.calls);
        const expected = ["192.0.2.5: cloud-init status --wait >/dev/null 2>&1 || true", "192.0.2.5: /usr/local/sbin/consult-db-role"];
        for (const ip of ["192.0.2.10", "192.0.2.11", "192.0.2.12"]) {
            expected.push(
                `${ip}: cloud-init status --wait >/dev/null 2>&1 || true`,
                `${ip}: /usr/local/sbin/consult-apply-bundle`,
                `${ip}: test -d /opt/consult/releases/${sha.slice(0, 12)}`,
                `${ip}: /usr/local/sbin/consult-release /var/cache/consult/incoming-${sha}.tar.gz ${sha}`,
            );
        }
        assert.deepEqual(steps, expected);
        const bundles = r.calls.filter((c) => c.tool === "ssh" && c.args.includes("/usr/local/sbin/consult-apply-bundle"));
        for (const b of bundles) assert.deepEqual(JSON.parse(b.stdin), OUTPUTS.nodeFiles);
        const role = r.calls.find((c) => c.args.includes("/usr/local/sbin/consult-db-role"))!;
        assert.equal(role.stdin, OUTPUTS.dbPassword, "the password goes over stdin, not in arguments");
        assert.equal(r.calls.filter((c) => c.tool === "scp").length, 3);
        assert.match(r.stdout, /release [0-9a-f]{12} live on 3 node\(s\)/);
        assert.ok(!r.stdout.includes(OUTPUTS.dbPassword) && !r.stderr.includes(OUTPUTS.dbPassword), "no secret printed");
    });

    it("stops at the first node that fails; later nodes are left untouched", () => {
        const env = setup();
        const r = runDeploy(env, [env.tarball], { FAIL_HOST: "192.0.2.11" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /node 1: the release did not go live \(it rolled back\); nodes after it are untouched/);
        assert.ok(!sshSteps(r.calls).some((s) => s.startsWith("192.0.2.12")), "node 2 was not touched");
    });

    it("a URL release is fetched by the nodes themselves, quoted for the remote shell", () => {
        const env = setup({ ...OUTPUTS, database: { managed: true }, dbPassword: null });
        const url = "https://releases.agency.example/consult.tar.gz?token=a&b=c";
        const sha = "c".repeat(64);
        const r = runDeploy(env, ["--node", "1", url, sha]);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(sshSteps(r.calls), [
            "192.0.2.11: cloud-init status --wait >/dev/null 2>&1 || true",
            "192.0.2.11: /usr/local/sbin/consult-apply-bundle",
            `192.0.2.11: /usr/local/sbin/consult-release https://releases.agency.example/consult.tar.gz\\?token=a\\&b=c ${sha}`,
        ]);
        assert.equal(r.calls.filter((c) => c.tool === "scp").length, 0);
        assert.match(r.stdout, /pulumi config set --path release\.url/);
    });

    it("refuses a URL without its SHA-256 and a tarball whose SHA-256 differs", () => {
        const env = setup();
        let r = runDeploy(env, ["https://releases.agency.example/consult.tar.gz"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /an https SOURCE needs its SHA-256/);
        r = runDeploy(env, [env.tarball, "d".repeat(64)]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /has SHA-256 [0-9a-f]{64}, not d{64}/);
        assert.equal(r.calls.length, 0, "nothing was asked of pulumi or the nodes");
    });
});
