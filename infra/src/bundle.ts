// The node configuration: the files every app node holds besides the
// release, the same on each. They carry the secrets (database connection,
// form-token key, the Origin CA private key, provider keys), so they never go
// into user data: the stack exports them as one secret output, `nodeFiles`,
// and deploy.sh pipes it over SSH into consult-apply-bundle on each node.
//
//   /etc/consult/consult.env           CONSULT_DATABASE and siteSecrets (0600)
//   /var/lib/consult/secret            ConsultSecret's key (0600; httpd.conf reads file:${CONSULT_VAR}/secret)
//   /etc/consult/tls/origin.key        the Origin CA certificates' key (0600)
//   /etc/consult/tls/<zone>.pem        one Cloudflare Origin CA certificate per zone
//   /etc/consult/sites.tsv             slug, zone, hostnames: what consult-render serves
//   /etc/consult/apache/prelude.conf   mod_ssl, :80/:443, mod_remoteip with Cloudflare's ranges

import * as pulumi from "@pulumi/pulumi";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ips";
import { ClientSite, ConsultConfig } from "./config";

export interface NodeFile {
    mode: string;
    content: string;
}
export type NodeFiles = Record<string, NodeFile>;

/** Characters an env-file value may not hold: systemd and bash must read it alike. */
const UNSAFE_ENV = /["\\$`\n\r]/;

function envLine(name: string, value: string, what: string): string {
    if (UNSAFE_ENV.test(value)) {
        throw new Error(`${what} holds a quote, backslash, dollar, backtick or newline, which the node's ` +
            `environment file cannot carry; for a connection string use the URI form with %-escapes ` +
            `(postgresql://user:p%40ss@host/db)`);
    }
    return `${name}="${value}"`;
}

/** The sites in the order consult-render writes them: the dashboard first. */
export function allSites(cfg: Pick<ConsultConfig, "dashboard" | "clients">): ClientSite[] {
    return [cfg.dashboard, ...cfg.clients];
}

export function hostnames(s: ClientSite): string[] {
    return [s.domain, ...s.aliases];
}

export function sitesTsv(cfg: Pick<ConsultConfig, "dashboard" | "clients">): string {
    const lines = allSites(cfg).map((s) => `${s.slug}\t${s.zone}\t${hostnames(s).join(" ")}`);
    return ["# slug\tCloudflare zone\thostnames (the first is the ServerName)", ...lines, ""].join("\n");
}

export function preludeConf(): string {
    return [
        "# Written by the infra program (infra/src/bundle.ts); consult-render includes it",
        "# in place of the release's `Include conf/sites/*.conf`.",
        "<IfModule !ssl_module>",
        "    LoadModule ssl_module ${CONSULT_HTTPD_MODULES}/mod_ssl.so",
        "</IfModule>",
        "<IfModule !remoteip_module>",
        "    LoadModule remoteip_module ${CONSULT_HTTPD_MODULES}/mod_remoteip.so",
        "</IfModule>",
        "",
        "# The sites, behind Cloudflare: 443 with the zone's Origin CA certificate",
        "# (Cloudflare's SSL mode is strict), 80 only to redirect.",
        "Listen 80",
        "Listen 443",
        "SSLProtocol -all +TLSv1.2 +TLSv1.3",
        "SSLSessionCache \"shmcb:${CONSULT_VAR}/run/ssl_scache(512000)\"",
        "SSLSessionCacheTimeout 300",
        "",
        "# The visitor's address for every per-IP limit: Cloudflare puts it alone in",
        "# CF-Connecting-IP, believed only on connections from its ranges (the same",
        "# list as the firewall, infra/src/cloudflare-ips.ts).",
        "RemoteIPHeader CF-Connecting-IP",
        ...CLOUDFLARE_IPV4.map((r) => `RemoteIPTrustedProxy ${r}`),
        ...CLOUDFLARE_IPV6.map((r) => `RemoteIPTrustedProxy ${r}`),
        "",
    ].join("\n");
}

/** The self-hosted database's connection string (private network, TLS). */
export function selfHostedConninfo(host: string, password: string): string {
    if (!/^[A-Za-z0-9._~+\/=-]{16,}$/.test(password)) {
        throw new Error("consult:dbPassword: expected 16 or more letters, digits or ._~+/=- " +
            "(pulumi config set --secret dbPassword \"$(openssl rand -hex 24)\")");
    }
    return `host=${host} port=5432 dbname=consult user=consult password=${password} sslmode=require connect_timeout=3`;
}

export interface BundleInputs {
    conninfo: pulumi.Input<string>;
    formSecret: pulumi.Input<string>;
    siteSecrets: pulumi.Input<Record<string, string>>;
    originKeyPem: pulumi.Input<string>;
    /** zone name → its Origin CA certificate (PEM) */
    certificates: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export function nodeFiles(cfg: Pick<ConsultConfig, "dashboard" | "clients">, inputs: BundleInputs): pulumi.Output<NodeFiles> {
    const files = pulumi
        .all([inputs.conninfo, inputs.formSecret, inputs.siteSecrets, inputs.originKeyPem, pulumi.output(inputs.certificates)])
        .apply(([conninfo, formSecret, siteSecrets, key, certs]) => {
            if (Buffer.byteLength(formSecret) < 16) {
                throw new Error("consult:formSecret: expected at least 16 bytes (openssl rand -hex 32)");
            }
            if (/[\r\n]/.test(formSecret)) throw new Error("consult:formSecret: must be one line");
            const env = ["# Written by deploy.sh from the stack's nodeFiles output. Secrets: root only."];
            env.push(envLine("CONSULT_DATABASE", conninfo, "consult:databaseUrl"));
            for (const [name, value] of Object.entries(siteSecrets ?? {}).sort()) {
                if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || name.startsWith("CONSULT_")) {
                    throw new Error(`consult:siteSecrets: ${name} is not a usable name ` +
                        "(upper case, digits and _, not starting with CONSULT_)");
                }
                if (typeof value !== "string") throw new Error(`consult:siteSecrets.${name}: expected a string`);
                env.push(envLine(name, value, `consult:siteSecrets.${name}`));
            }
            const out: NodeFiles = {
                "/etc/consult/consult.env": { mode: "0600", content: env.join("\n") + "\n" },
                "/var/lib/consult/secret": { mode: "0600", content: formSecret },
                "/etc/consult/tls/origin.key": { mode: "0600", content: key },
                "/etc/consult/sites.tsv": { mode: "0644", content: sitesTsv(cfg) },
                "/etc/consult/apache/prelude.conf": { mode: "0644", content: preludeConf() },
            };
            for (const zone of Object.keys(certs).sort()) {
                out[`/etc/consult/tls/${zone}.pem`] = { mode: "0644", content: certs[zone] as string };
            }
            return out;
        });
    return pulumi.secret(files);
}
