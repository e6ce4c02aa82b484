// Inbound rules for the servers' public interfaces. A Hetzner firewall
// drops every inbound packet no rule allows (outbound is left open: apt,
// provider APIs, Cloudflare's API are all reached from the nodes).
//
// App nodes: 80 and 443 from Cloudflare's ranges only (nobody reaches an
// origin around the proxy, its WAF and its cache), 22 from the admins.
// Database server: 22 from the admins, nothing else (Postgres is on the
// private network, which these rules do not filter).

import * as hcloud from "@pulumi/hcloud";
import { CLOUDFLARE_RANGES } from "./cloudflare-ips";
import { ConsultConfig } from "./config";

export interface Firewalls {
    app: hcloud.Firewall;
    /** Only with a database server of our own (no consult:databaseUrl). */
    db?: hcloud.Firewall;
}

function ssh(cfg: ConsultConfig): hcloud.types.input.FirewallRule {
    return { direction: "in", protocol: "tcp", port: "22", sourceIps: cfg.adminIps, description: "SSH from the admins" };
}

export function createFirewalls(cfg: ConsultConfig, opts: { database: boolean }): Firewalls {
    const app = new hcloud.Firewall(`${cfg.prefix}-app-fw`, {
        name: `${cfg.prefix}-app`,
        labels: { app: "consult", role: "app" },
        rules: [
            { direction: "in", protocol: "tcp", port: "80", sourceIps: [...CLOUDFLARE_RANGES], description: "HTTP from Cloudflare" },
            { direction: "in", protocol: "tcp", port: "443", sourceIps: [...CLOUDFLARE_RANGES], description: "HTTPS from Cloudflare" },
            ssh(cfg),
        ],
    });
    if (!opts.database) return { app };
    const db = new hcloud.Firewall(`${cfg.prefix}-db-fw`, {
        name: `${cfg.prefix}-db`,
        labels: { app: "consult", role: "db" },
        rules: [ssh(cfg)],
    });
    return { app, db };
}
