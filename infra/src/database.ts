// Postgres. Either a managed service (consult:databaseUrl, a secret: then
// nothing is created here) or one database server on the private network:
// its data on a Hetzner volume (formatted ext4, delete-protected, mounted at
// /var/lib/postgresql before PostgreSQL is installed), Hetzner's daily
// server backups on (7 kept), and a nightly pg_dump onto the server's own
// disk, which those backups carry (Hetzner's backups do not include
// volumes). Only SSH is open on its public interface.

import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import { ConsultConfig } from "./config";
import { dbUserData } from "./cloudinit";
import { DB_PRIVATE_IP, PrivateNetwork } from "./network";
import { selfHostedConninfo } from "./bundle";

export interface Database {
    /** The connection string the nodes use (a secret). */
    conninfo: pulumi.Output<string>;
    server?: hcloud.Server;
    volume?: hcloud.Volume;
    attachment?: hcloud.VolumeAttachment;
}

export function createDatabase(
    cfg: ConsultConfig,
    net: PrivateNetwork,
    firewall: hcloud.Firewall | undefined,
    sshKeys: hcloud.SshKey[],
): Database {
    if (cfg.databaseUrl) return { conninfo: pulumi.secret(cfg.databaseUrl) };
    if (!cfg.dbPassword || !firewall) throw new Error("consult:dbPassword is required without databaseUrl");

    const volume = new hcloud.Volume(`${cfg.prefix}-pg-data`, {
        name: `${cfg.prefix}-pg-data`,
        size: cfg.dbVolumeSize,
        location: cfg.location,
        format: "ext4",
        deleteProtection: true,
        labels: { app: "consult", role: "db" },
    });
    const server = new hcloud.Server(`${cfg.prefix}-db`, {
        name: `${cfg.prefix}-db`,
        serverType: cfg.dbServerType,
        image: cfg.image,
        location: cfg.location,
        backups: true,
        deleteProtection: true,
        rebuildProtection: true,
        sshKeys: sshKeys.map((k) => k.id),
        firewallIds: [firewall.id.apply(Number)],
        publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
        networks: [{ networkId: net.network.id.apply(Number), ip: DB_PRIVATE_IP, aliasIps: [] }],
        userData: volume.id.apply(dbUserData),
        labels: { app: "consult", role: "db" },
    }, { dependsOn: [net.subnet], ignoreChanges: ["userData", "image", "sshKeys"] });
    const attachment = new hcloud.VolumeAttachment(`${cfg.prefix}-pg-data-attach`, {
        serverId: server.id.apply(Number),
        volumeId: volume.id.apply(Number),
        // consult-db-setup mounts it where PostgreSQL expects its data.
        automount: false,
    });
    const conninfo = pulumi.secret(cfg.dbPassword.apply((pw) => selfHostedConninfo(DB_PRIVATE_IP, pw)));
    return { conninfo, server, volume, attachment };
}
