// Offline test harness: Pulumi's mock monitor stands in for the engine and
// every provider, so the program runs without the pulumi CLI, a cloud
// account or the network. Each resource the program declares is recorded
// with its resolved inputs; the tests assert on those.

import * as pulumi from "@pulumi/pulumi";
import { ConsultConfig, RawConfig, parseConfig } from "../src/config";
import { buildStack } from "../src/stack";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    id: string;
    state: Record<string, any>;
}

export const recorded: Recorded[] = [];
export const calls: { token: string; inputs: any }[] = [];
let serial = 0;

export const FAKE_KEY_PEM = "-----BEGIN PRIVATE KEY-----\nFAKE-ORIGIN-KEY\n-----END PRIVATE KEY-----\n";

pulumi.runtime.setMocks({
    newResource(args: pulumi.runtime.MockResourceArgs) {
        serial += 1;
        // Hetzner ids are numbers; the program converts them with Number().
        const id = String(100000 + serial);
        const state: Record<string, any> = { ...args.inputs };
        switch (args.type) {
            case "hcloud:index/server:Server":
                state.ipv4Address = `203.0.113.${serial % 250}`;
                state.ipv6Address = `2001:db8:${serial.toString(16)}::1`;
                break;
            case "tls:index/privateKey:PrivateKey":
                state.privateKeyPem = FAKE_KEY_PEM;
                break;
            case "tls:index/certRequest:CertRequest":
                state.certRequestPem = "-----BEGIN CERTIFICATE REQUEST-----\nFAKE\n-----END CERTIFICATE REQUEST-----\n";
                break;
            case "cloudflare:index/originCaCertificate:OriginCaCertificate":
                state.certificate = `-----BEGIN CERTIFICATE-----\nFAKE ${args.inputs.hostnames.join(",")}\n-----END CERTIFICATE-----\n`;
                break;
        }
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, id, state });
        return { id, state };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        calls.push({ token: args.token, inputs: args.inputs });
        if (args.token === "cloudflare:index/getZone:getZone") {
            const name = args.inputs.filter.name as string;
            const id = Buffer.from(name).toString("hex").padEnd(32, "0").slice(0, 32);
            return { id, zoneId: id, name };
        }
        return args.inputs;
    },
}, "consult", "test", false);

/** The value of an output, once resolved. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

export const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFake admin@agency";
export const FORM_SECRET = "form-secret-0123456789abcdef0123456789";
export const DB_PASSWORD = "db-pass-0123456789abcdef";

/** A typical agency: the dashboard and three clients, one with an alias. */
export function rawConfig(over: Partial<RawConfig> = {}): RawConfig {
    return {
        appNodes: 2,
        adminIps: ["198.51.100.7", "2001:db8:42::/48"],
        sshPublicKeys: [ADMIN_KEY],
        dashboard: { domain: "consult.agency.example", zone: "agency.example" },
        clients: [
            { slug: "coffee-shop", domain: "emberandoak.example", aliases: ["www.emberandoak.example"] },
            { slug: "pizzeria", domain: "slicebasil.example" },
            { slug: "junk-hauler", domain: "haul.agency.example", zone: "agency.example" },
        ],
        formSecret: pulumi.secret(FORM_SECRET),
        dbPassword: pulumi.secret(DB_PASSWORD),
        ...over,
    };
}

export function config(over: Partial<RawConfig> = {}): ConsultConfig {
    return parseConfig(rawConfig(over));
}

function resourcesIn(value: unknown, out: pulumi.Resource[], seen = new Set<unknown>()): pulumi.Resource[] {
    if (value === null || typeof value !== "object" || seen.has(value)) return out;
    seen.add(value);
    if (pulumi.Resource.isInstance(value)) {
        out.push(value);
        return out;
    }
    if (pulumi.Output.isInstance(value)) return out;
    for (const v of Object.values(value as object)) resourcesIn(v, out, seen);
    return out;
}

export type Stack = ReturnType<typeof buildStack>;

/** Builds the stack from a config and waits until every resource is registered. */
export async function run(cfg: ConsultConfig): Promise<{ stack: Stack; resources: Recorded[] }> {
    recorded.length = 0;
    calls.length = 0;
    const stack = buildStack(cfg);
    await Promise.all(resourcesIn(stack, []).map((r) => valueOf(r.urn)));
    await valueOf(stack.outputs.nodeFiles);
    await valueOf(stack.outputs.appNodes);
    return { stack, resources: [...recorded] };
}

const memo = new Map<string, Promise<{ stack: Stack; resources: Recorded[] }>>();

/**
 * run() once per key for the whole test run: most tests read the same
 * typical stack, and each build costs the mock engine a few hundred ms.
 * Callers must not change what they get.
 */
export function runShared(key: string, cfg: () => ConsultConfig): Promise<{ stack: Stack; resources: Recorded[] }> {
    let p = memo.get(key);
    if (!p) {
        // Builds one at a time: run() resets the shared recorder.
        const before = Promise.all([...memo.values()]).catch(() => undefined);
        p = before.then(() => run(cfg()));
        memo.set(key, p);
    }
    return p;
}

export function ofType(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

export const T = {
    server: "hcloud:index/server:Server",
    network: "hcloud:index/network:Network",
    subnet: "hcloud:index/networkSubnet:NetworkSubnet",
    firewall: "hcloud:index/firewall:Firewall",
    volume: "hcloud:index/volume:Volume",
    attachment: "hcloud:index/volumeAttachment:VolumeAttachment",
    placement: "hcloud:index/placementGroup:PlacementGroup",
    sshKey: "hcloud:index/sshKey:SshKey",
    dns: "cloudflare:index/dnsRecord:DnsRecord",
    zoneSetting: "cloudflare:index/zoneSetting:ZoneSetting",
    ruleset: "cloudflare:index/ruleset:Ruleset",
    originCert: "cloudflare:index/originCaCertificate:OriginCaCertificate",
};

/** The JSON document of a "#cloud-config" user data text. */
export function cloudConfig(userData: string): any {
    const [first, ...rest] = userData.split("\n");
    if (first !== "#cloud-config") throw new Error(`user data starts with ${JSON.stringify(first)}`);
    return JSON.parse(rest.join("\n"));
}
