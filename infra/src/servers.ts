// The app nodes: appNodes identical Debian servers, spread over different
// physical hosts (a spread placement group), each on the private network
// at a fixed address, behind the app firewall, reachable as root with the
// admins' SSH keys. They hold no state (sessions, queue and data are in
// Postgres), so any one can be replaced or drained.

import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import { ConsultConfig } from "./config";
import { appUserData } from "./cloudinit";
import { PrivateNetwork, appPrivateIp } from "./network";

export interface AppNode {
    index: number;
    server: hcloud.Server;
    privateIp: string;
    /** False for a node listed in drainNodes: no DNS record points at it. */
    inRotation: boolean;
}

export function createSshKeys(cfg: ConsultConfig): hcloud.SshKey[] {
    return cfg.sshPublicKeys.map((publicKey, i) =>
        new hcloud.SshKey(`${cfg.prefix}-admin-key-${i}`, {
            name: `${cfg.prefix}-admin-${i}`,
            publicKey,
            labels: { app: "consult" },
        }));
}

export function createAppNodes(
    cfg: ConsultConfig,
    net: PrivateNetwork,
    firewall: hcloud.Firewall,
    sshKeys: hcloud.SshKey[],
): AppNode[] {
    const placement = new hcloud.PlacementGroup(`${cfg.prefix}-app-spread`, {
        name: `${cfg.prefix}-app`,
        type: "spread",
        labels: { app: "consult", role: "app" },
    });
    const userData = appUserData(cfg);
    const nodes: AppNode[] = [];
    for (let index = 0; index < cfg.appNodes; index++) {
        const privateIp = appPrivateIp(index);
        const server = new hcloud.Server(`${cfg.prefix}-app-${index}`, {
            name: `${cfg.prefix}-app-${index}`,
            serverType: cfg.serverType,
            image: cfg.image,
            location: cfg.location,
            placementGroupId: placement.id.apply(Number),
            sshKeys: sshKeys.map((k) => k.id),
            firewallIds: [firewall.id.apply(Number)],
            publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
            networks: [{ networkId: net.network.id.apply(Number), ip: privateIp, aliasIps: [] }],
            userData,
            labels: { app: "consult", role: "app", node: String(index) },
        }, {
            // Attaching to the network needs the subnet to exist first.
            dependsOn: [net.subnet],
            // A new release, package list or image shapes new nodes only:
            // running ones are switched by deploy.sh, never replaced.
            ignoreChanges: ["userData", "image", "sshKeys"],
        });
        nodes.push({ index, server, privateIp, inRotation: !cfg.drainNodes.includes(index) });
    }
    return nodes;
}

/** What `pulumi stack output appNodes` shows and deploy.sh reads. */
export function appNodesOutput(nodes: AppNode[]): pulumi.Output<object[]> {
    return pulumi.all(nodes.map((n) =>
        pulumi.all([n.server.name, n.server.ipv4Address, n.server.ipv6Address]).apply(([name, ipv4, ipv6]) => ({
            index: n.index, name, ipv4, ipv6, privateIp: n.privateIp, inRotation: n.inRotation,
        }))));
}
