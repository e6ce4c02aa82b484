// Cloudflare DNS: every hostname of every client site and of the dashboard
// gets one proxied A and one proxied AAAA record per app node in rotation.
// Proxied, visitors only ever see Cloudflare's addresses, and Cloudflare
// spreads requests over the records of a name; a node in drainNodes has
// none, so no new request reaches it (proxied records change at the edge
// within seconds: no TTL to wait out).

import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import { ClientSite, ConsultConfig } from "./config";
import { allSites, hostnames } from "./bundle";
import { AppNode } from "./servers";

export interface Zone {
    name: string;
    id: pulumi.Output<string>;
    sites: ClientSite[];
}

/** The Cloudflare zones the sites live in, each looked up once (or given by id). */
export function resolveZones(cfg: ConsultConfig): Zone[] {
    const zones = new Map<string, Zone>();
    for (const s of allSites(cfg)) {
        let zone = zones.get(s.zone);
        if (!zone) {
            const id = s.zoneId
                ? pulumi.output(s.zoneId)
                : cloudflare.getZoneOutput({ filter: { name: s.zone } }).apply((z) => z.id);
            zone = { name: s.zone, id, sites: [] };
            zones.set(s.zone, zone);
        }
        zone.sites.push(s);
    }
    return [...zones.values()];
}

/** A resource name fragment from a hostname. */
function slugOf(host: string): string {
    return host.replace(/\./g, "-");
}

export function createDnsRecords(zones: Zone[], nodes: AppNode[]): cloudflare.DnsRecord[] {
    const live = nodes.filter((n) => n.inRotation);
    const records: cloudflare.DnsRecord[] = [];
    for (const zone of zones) {
        for (const site of zone.sites) {
            for (const host of hostnames(site)) {
                for (const node of live) {
                    for (const [type, content] of [["A", node.server.ipv4Address], ["AAAA", node.server.ipv6Address]] as const) {
                        records.push(new cloudflare.DnsRecord(`${slugOf(host)}-${type.toLowerCase()}-${node.index}`, {
                            zoneId: zone.id,
                            name: host,
                            type,
                            content,
                            proxied: true,
                            ttl: 1, // automatic: proxied records ignore it
                            comment: `Consult app node ${node.index} (${site.slug})`,
                        }, { deleteBeforeReplace: true }));
                    }
                }
            }
        }
    }
    return records;
}
