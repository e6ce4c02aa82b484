// The stack's configuration: what one agency sets with `pulumi config set`
// (Pulumi.<stack>.yaml; config.example.yaml lists every key), read once,
// checked, and handed to the rest of the program as one typed value.
//
// Every check fails with a message naming the key and saying what it
// expects, before any resource is declared: a stack with a wrong value
// never half-applies.

import * as pulumi from "@pulumi/pulumi";

/** One client site: its vhost file in the release and the names it answers. */
export interface ClientSite {
    /** The client's slug: conf/sites/<slug>.conf in the release, ConsultClient <slug>. */
    slug: string;
    /** The hostname the site is served on (apex or a subdomain). */
    domain: string;
    /** More hostnames for the same site (www.…), same Cloudflare zone. */
    aliases: string[];
    /** The Cloudflare zone holding the names (defaults to the domain itself). */
    zone: string;
    /** The zone's id, when known; otherwise it is looked up by name. */
    zoneId?: string;
}

export interface ReleaseSource {
    /** An https URL of a release tarball (source or built). */
    url: string;
    /** Its SHA-256, checked on the node before anything is unpacked. */
    sha256: string;
}

export interface ConsultConfig {
    /** Prefix of every Hetzner resource name (unique per Hetzner project). */
    prefix: string;
    appNodes: number;
    /** Node indexes (0-based) kept out of DNS: scale-out, replacement, drain. */
    drainNodes: number[];
    serverType: string;
    location: string;
    networkZone: string;
    image: string;
    /** CIDRs allowed to SSH in; bare addresses become /32 or /128. */
    adminIps: string[];
    sshPublicKeys: string[];
    /** The staff dashboard: conf/sites/<slug>.conf (admin) on its own hostname. */
    dashboard: ClientSite;
    clients: ClientSite[];
    /** A managed Postgres connection string; when set no database server is made. */
    databaseUrl?: pulumi.Output<string>;
    /** Password of the consult role on the database server (without databaseUrl). */
    dbPassword?: pulumi.Output<string>;
    dbServerType: string;
    dbVolumeSize: number;
    /** ConsultSecret: one key on every node, or a form token from one fails on another. */
    formSecret: pulumi.Output<string>;
    /** Extra environment for `env:NAME` directives (provider keys), as secrets. */
    siteSecrets: pulumi.Output<Record<string, string>>;
    /** What a new node builds and runs at first boot; deploy.sh rolls the rest. */
    release?: ReleaseSource;
}

/** The values as they come out of Pulumi config, before any check. */
export interface RawConfig {
    prefix?: unknown;
    appNodes?: unknown;
    drainNodes?: unknown;
    serverType?: unknown;
    location?: unknown;
    image?: unknown;
    adminIps?: unknown;
    sshPublicKeys?: unknown;
    dashboard?: unknown;
    clients?: unknown;
    databaseUrl?: pulumi.Output<string>;
    dbPassword?: pulumi.Output<string>;
    dbServerType?: unknown;
    dbVolumeSize?: unknown;
    formSecret?: pulumi.Output<string>;
    siteSecrets?: pulumi.Output<Record<string, string>>;
    release?: unknown;
}

/** Hetzner locations and the network zone their private networks live in. */
const NETWORK_ZONES: Record<string, string> = {
    fsn1: "eu-central",
    nbg1: "eu-central",
    hel1: "eu-central",
    ash: "us-east",
    hil: "us-west",
    sin: "ap-southeast",
};

/** A spread placement group holds at most this many servers. */
export const MAX_APP_NODES = 10;

export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

function fail(key: string, message: string): never {
    throw new ConfigError(`consult:${key}: ${message}`);
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function str(key: string, v: unknown, fallback?: string): string {
    if (v === undefined || v === null || v === "") {
        if (fallback !== undefined) return fallback;
        fail(key, "is required");
    }
    if (typeof v !== "string") fail(key, `expected a string, got ${JSON.stringify(v)}`);
    return v;
}

function int(key: string, v: unknown, fallback: number, min: number, max: number): number {
    if (v === undefined || v === null || v === "") return fallback;
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        fail(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return n;
}

function list(key: string, v: unknown): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) fail(key, `expected a list, got ${JSON.stringify(v)}`);
    return v;
}

/** An IPv4 or IPv6 CIDR (a bare address gets its host prefix); null if neither. */
export function normalizeCidr(text: string): string | null {
    const [addr, prefix, ...rest] = text.trim().split("/");
    if (rest.length) return null;
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
    if (v4) {
        if (v4.slice(1).some((o) => Number(o) > 255)) return null;
        if (prefix === undefined) return `${addr}/32`;
        if (!/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return null;
        return `${addr}/${prefix}`;
    }
    if (addr.includes(":") && /^[0-9a-fA-F:.]+$/.test(addr) && (addr.match(/::/g) ?? []).length <= 1) {
        if (prefix === undefined) return `${addr.toLowerCase()}/128`;
        if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > 128) return null;
        return `${addr.toLowerCase()}/${prefix}`;
    }
    return null;
}

function adminIps(v: unknown): string[] {
    const items = list("adminIps", v);
    if (items.length === 0) {
        fail("adminIps", "no admin IPs are set, so nobody could SSH to the servers (deploys run over SSH). " +
            "Set the addresses you deploy from, e.g. " +
            "pulumi config set --path 'adminIps[0]' 203.0.113.7/32");
    }
    return items.map((item, i) => {
        const cidr = typeof item === "string" ? normalizeCidr(item) : null;
        if (cidr === null) fail(`adminIps[${i}]`, `expected an IPv4 or IPv6 address or CIDR, got ${JSON.stringify(item)}`);
        if (/\/0$/.test(cidr)) fail(`adminIps[${i}]`, `${cidr} would open SSH to the whole internet; list the admin addresses`);
        return cidr;
    });
}

function site(key: string, v: unknown, defaultSlug?: string): ClientSite {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        fail(key, `expected an object {slug, domain, aliases?, zone?, zoneId?}, got ${JSON.stringify(v)}`);
    }
    const o = v as Record<string, unknown>;
    const slug = str(`${key}.slug`, o.slug, defaultSlug);
    if (!SLUG.test(slug)) fail(`${key}.slug`, `expected lowercase letters, digits and dashes, got ${JSON.stringify(slug)}`);
    const host = (k: string, h: unknown): string => {
        const s = str(k, h).toLowerCase().replace(/\.$/, "");
        if (!HOSTNAME.test(s)) fail(k, `expected a hostname such as shop.example.com, got ${JSON.stringify(h)}`);
        return s;
    };
    const domain = host(`${key}.domain`, o.domain);
    const aliases = list(`${key}.aliases`, o.aliases).map((a, i) => host(`${key}.aliases[${i}]`, a));
    const zone = o.zone === undefined ? domain : host(`${key}.zone`, o.zone);
    for (const name of [domain, ...aliases]) {
        if (name !== zone && !name.endsWith(`.${zone}`)) {
            fail(key, `${name} is not in the Cloudflare zone ${zone}; set zone (and zoneId) to the zone that holds it`);
        }
    }
    let zoneId: string | undefined;
    if (o.zoneId !== undefined) {
        zoneId = str(`${key}.zoneId`, o.zoneId);
        if (!/^[0-9a-f]{32}$/.test(zoneId)) fail(`${key}.zoneId`, `expected Cloudflare's 32 hex digit zone id, got ${JSON.stringify(zoneId)}`);
    }
    return { slug, domain, aliases, zone, zoneId };
}

function release(v: unknown): ReleaseSource | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) fail("release", `expected {url, sha256}, got ${JSON.stringify(v)}`);
    const o = v as Record<string, unknown>;
    const url = str("release.url", o.url);
    if (!/^https:\/\/[^\s'"\\$`]+$/.test(url)) fail("release.url", `expected an https URL, got ${JSON.stringify(url)}`);
    const sha256 = str("release.sha256", o.sha256).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) fail("release.sha256", "expected the tarball's SHA-256 as 64 hex digits");
    return { url, sha256 };
}

/** Checks every value and fills the defaults. Throws ConfigError naming the key. */
export function parseConfig(raw: RawConfig): ConsultConfig {
    const prefix = str("prefix", raw.prefix, "consult");
    if (!SLUG.test(prefix)) fail("prefix", `expected lowercase letters, digits and dashes, got ${JSON.stringify(prefix)}`);

    const appNodes = int("appNodes", raw.appNodes, 2, 1, MAX_APP_NODES);
    const drainNodes = list("drainNodes", raw.drainNodes).map((d, i) => int(`drainNodes[${i}]`, d, -1, 0, appNodes - 1));
    if (drainNodes.length >= appNodes) {
        fail("drainNodes", `drains all ${appNodes} app node(s): the sites would have no origin left in DNS`);
    }

    const location = str("location", raw.location, "fsn1");
    const networkZone = NETWORK_ZONES[location];
    if (!networkZone) fail("location", `expected one of ${Object.keys(NETWORK_ZONES).join(", ")}, got ${JSON.stringify(location)}`);

    const ips = adminIps(raw.adminIps);
    const keys = list("sshPublicKeys", raw.sshPublicKeys).map((k, i) => {
        const s = str(`sshPublicKeys[${i}]`, k).trim();
        if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/.test(s)) {
            fail(`sshPublicKeys[${i}]`, "expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)");
        }
        return s;
    });
    if (keys.length === 0) {
        fail("sshPublicKeys", "no SSH public keys are set; deploys log in as root with one of them " +
            "(pulumi config set --path 'sshPublicKeys[0]' \"$(cat ~/.ssh/id_ed25519.pub)\")");
    }

    if (raw.dashboard === undefined) {
        fail("dashboard", "is required: {domain: \"consult.agency.example\"} (the staff dashboard, conf/sites/admin.conf)");
    }
    const dashboard = site("dashboard", raw.dashboard, "admin");
    const clients = list("clients", raw.clients).map((c, i) => site(`clients[${i}]`, c));

    const seenSlug = new Map<string, string>();
    const seenHost = new Map<string, string>();
    const zoneIds = new Map<string, string>();
    [dashboard, ...clients].forEach((s, i) => {
        const key = i === 0 ? "dashboard" : `clients[${i - 1}]`;
        if (seenSlug.has(s.slug)) fail(key, `slug ${s.slug} is already used by ${seenSlug.get(s.slug)}`);
        seenSlug.set(s.slug, key);
        for (const h of [s.domain, ...s.aliases]) {
            if (seenHost.has(h)) fail(key, `hostname ${h} is already served by ${seenHost.get(h)}`);
            seenHost.set(h, key);
        }
        if (s.zoneId) {
            const before = zoneIds.get(s.zone);
            if (before && before !== s.zoneId) fail(key, `zone ${s.zone} has two different zoneIds`);
            zoneIds.set(s.zone, s.zoneId);
        }
    });
    // A zone id given once holds for every site in that zone.
    for (const s of [dashboard, ...clients]) s.zoneId = s.zoneId ?? zoneIds.get(s.zone);

    if (!raw.formSecret) {
        fail("formSecret", "is required (a secret): pulumi config set --secret formSecret \"$(openssl rand -hex 32)\"");
    }
    if (!raw.databaseUrl && !raw.dbPassword) {
        fail("dbPassword", "is required without databaseUrl (a secret): " +
            "pulumi config set --secret dbPassword \"$(openssl rand -hex 24)\"; " +
            "or set databaseUrl to a managed Postgres connection string");
    }

    return {
        prefix,
        appNodes,
        drainNodes: [...new Set(drainNodes)].sort((a, b) => a - b),
        serverType: str("serverType", raw.serverType, "cx23"),
        location,
        networkZone,
        image: str("image", raw.image, "debian-12"),
        adminIps: ips,
        sshPublicKeys: keys,
        dashboard,
        clients,
        databaseUrl: raw.databaseUrl,
        dbPassword: raw.databaseUrl ? undefined : raw.dbPassword,
        dbServerType: str("dbServerType", raw.dbServerType, str("serverType", raw.serverType, "cx23")),
        dbVolumeSize: int("dbVolumeSize", raw.dbVolumeSize, 20, 10, 10240),
        formSecret: raw.formSecret,
        siteSecrets: raw.siteSecrets ?? pulumi.output<Record<string, string>>({}),
        release: release(raw.release),
    };
}

/** Reads the stack's config (namespace `consult`) and checks it. */
export function readConfig(config = new pulumi.Config("consult")): ConsultConfig {
    return parseConfig({
        prefix: config.get("prefix"),
        appNodes: config.getObject<unknown>("appNodes"),
        drainNodes: config.getObject<unknown>("drainNodes"),
        serverType: config.get("serverType"),
        location: config.get("location"),
        image: config.get("image"),
        adminIps: config.getObject<unknown>("adminIps"),
        sshPublicKeys: config.getObject<unknown>("sshPublicKeys"),
        dashboard: config.getObject<unknown>("dashboard"),
        clients: config.getObject<unknown>("clients"),
        databaseUrl: config.getSecret("databaseUrl"),
        dbPassword: config.getSecret("dbPassword"),
        dbServerType: config.get("dbServerType"),
        dbVolumeSize: config.getObject<unknown>("dbVolumeSize"),
        formSecret: config.getSecret("formSecret"),
        siteSecrets: config.getSecretObject<Record<string, string>>("siteSecrets"),
        release: config.getObject<unknown>("release"),
    });
}
