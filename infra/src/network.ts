// The private network: app nodes reach Postgres (and each other) on it, never
// over the public interface. Hetzner's firewalls filter only public traffic,
// so the database port is closed to the internet by not being opened in any
// firewall and by pg_hba admitting only this subnet.

import * as hcloud from "@pulumi/hcloud";
import { ConsultConfig } from "./config";

export const NETWORK_RANGE = "10.42.0.0/16";
export const SUBNET_RANGE = "10.42.1.0/24";
/** The database server's fixed private address. */
export const DB_PRIVATE_IP = "10.42.1.5";

/** App node i's fixed private address: 10.42.1.10, .11, … */
export function appPrivateIp(index: number): string {
    return `10.42.1.${10 + index}`;
}

export interface PrivateNetwork {
    network: hcloud.Network;
    subnet: hcloud.NetworkSubnet;
}

export function createNetwork(cfg: ConsultConfig): PrivateNetwork {
    const network = new hcloud.Network(`${cfg.prefix}-net`, {
        name: `${cfg.prefix}-net`,
        ipRange: NETWORK_RANGE,
        labels: { app: "consult" },
    });
    const subnet = new hcloud.NetworkSubnet(`${cfg.prefix}-subnet`, {
        networkId: network.id.apply(Number),
        type: "cloud",
        networkZone: cfg.networkZone,
        ipRange: SUBNET_RANGE,
    });
    return { network, subnet };
}
