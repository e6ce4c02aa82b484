// One agency's whole stack, from its checked config: private network,
// firewalls, app nodes, database (or a managed one), Cloudflare DNS, TLS and
// cache rules, and the node configuration deploy.sh sends.

import * as pulumi from "@pulumi/pulumi";
import { ConsultConfig } from "./config";
import { DB_PRIVATE_IP, createNetwork } from "./network";
import { createFirewalls } from "./firewall";
import { appNodesOutput, createAppNodes, createSshKeys } from "./servers";
import { createDatabase } from "./database";
import { createDnsRecords, resolveZones } from "./dns";
import { certificatePems, createEdge } from "./edge";
import { nodeFiles } from "./bundle";

export function buildStack(cfg: ConsultConfig) {
    const net = createNetwork(cfg);
    const firewalls = createFirewalls(cfg, { database: !cfg.databaseUrl });
    const sshKeys = createSshKeys(cfg);
    const nodes = createAppNodes(cfg, net, firewalls.app, sshKeys);
    const database = createDatabase(cfg, net, firewalls.db, sshKeys);
    const zones = resolveZones(cfg);
    const dns = createDnsRecords(zones, nodes);
    const edge = createEdge(cfg, zones);
    const files = nodeFiles(cfg, {
        conninfo: database.conninfo,
        formSecret: cfg.formSecret,
        siteSecrets: cfg.siteSecrets,
        originKeyPem: edge.originKey.privateKeyPem,
        certificates: certificatePems(edge),
    });

    const outputs = {
        appNodes: appNodesOutput(nodes),
        database: database.server
            ? pulumi.all([database.server.name, database.server.ipv4Address]).apply(([name, ipv4]) =>
                ({ managed: false, name, ipv4, privateIp: DB_PRIVATE_IP }))
            : pulumi.output({ managed: true }),
        dashboardUrl: `https://${cfg.dashboard.domain}/`,
        sites: [cfg.dashboard, ...cfg.clients].map((s) => ({ slug: s.slug, url: `https://${s.domain}/` })),
        release: cfg.release ?? null,
        /** Secret: the consult role's password on our database server, for deploy.sh. */
        dbPassword: cfg.databaseUrl ? pulumi.output(null) : pulumi.secret(cfg.dbPassword!),
        nodeFiles: files,
    };
    return { net, firewalls, sshKeys, nodes, database, zones, dns, edge, files, outputs };
}
