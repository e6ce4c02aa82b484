// Cloudflare's edge, per zone: TLS, origin certificates, cache rules.
//
// TLS: SSL mode "strict" (Cloudflare connects to the origin over TLS and
// checks its certificate), HTTPS always (http:// is redirected at the edge),
// TLS 1.2 at least. The origin's certificate is a Cloudflare Origin CA
// certificate per zone, for the zone's hostnames, all signed for one key the
// stack keeps as a secret; deploy.sh puts both on the nodes.
//
// Cache rules (the zone's http_request_cache_settings ruleset; for matching
// rules the later one wins, so the bypass rule comes last):
//   1. static assets of the client sites (by extension): cached at the edge
//      for an hour whatever the origin says (assets never carry a token);
//   2. the client sites' pages (/, *.html): eligible for caching, by the
//      origin's headers — pages with a form are sent with
//      Cache-Control: no-store (one cached form token would make every
//      visitor's post a duplicate), so only pages without one are cached;
//   3. never cached: /api/*, /twilio/*, /webhooks/*, /consult/*, /menu (live
//      sold-out marks) and the dashboard host, whatever the path.

import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import * as tls from "@pulumi/tls";
import { ConsultConfig } from "./config";
import { hostnames } from "./bundle";
import { Zone } from "./dns";

/** Paths that are never served from the cache, on any host. */
export const NEVER_CACHED_PREFIXES = ["/api/", "/twilio/", "/webhooks/", "/consult/"];
export const NEVER_CACHED_PATHS = ["/api", "/twilio", "/webhooks", "/menu"];
export const STATIC_EXTENSIONS = [
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico",
    "woff", "woff2", "ttf", "otf", "pdf", "txt", "xml", "webmanifest",
];
/** Edge lifetime of a static asset (seconds). */
export const ASSET_EDGE_TTL = 3600;

function set(values: string[]): string {
    return `{${values.map((v) => JSON.stringify(v)).join(" ")}}`;
}

/** Requests that must reach the origin every time. */
export function neverCachedExpression(dashboardHosts: string[]): string {
    const parts = [
        ...NEVER_CACHED_PREFIXES.map((p) => `starts_with(http.request.uri.path, ${JSON.stringify(p)})`),
        `http.request.uri.path in ${set(NEVER_CACHED_PATHS)}`,
        `http.host in ${set(dashboardHosts)}`,
    ];
    return parts.map((p) => `(${p})`).join(" or ");
}

export function cacheRules(zone: Zone, dashboardHosts: string[]): cloudflare.types.input.RulesetRule[] {
    const siteHosts = zone.sites
        .flatMap(hostnames)
        .filter((h) => !dashboardHosts.includes(h));
    const never = neverCachedExpression(dashboardHosts);
    const rules: cloudflare.types.input.RulesetRule[] = [];
    if (siteHosts.length > 0) {
        const onSites = `(http.host in ${set(siteHosts)}) and not (${never})`;
        rules.push({
            ref: "consult_static_assets",
            description: "Consult: the client sites' static assets, cached at the edge",
            expression: `${onSites} and (http.request.uri.path.extension in ${set(STATIC_EXTENSIONS)})`,
            action: "set_cache_settings",
            actionParameters: {
                cache: true,
                edgeTtl: { mode: "override_origin", default: ASSET_EDGE_TTL },
                browserTtl: { mode: "respect_origin" },
            },
        });
        rules.push({
            ref: "consult_static_pages",
            description: "Consult: the client sites' pages, cached as the origin allows (pages with a form say no-store)",
            expression: `${onSites} and (ends_with(http.request.uri.path, "/") or ends_with(http.request.uri.path, ".html"))`,
            action: "set_cache_settings",
            actionParameters: {
                cache: true,
                edgeTtl: { mode: "respect_origin" },
                browserTtl: { mode: "respect_origin" },
            },
        });
    }
    rules.push({
        ref: "consult_never_cached",
        description: "Consult: APIs, webhooks, live pages and the dashboard always go to the origin",
        expression: never,
        action: "set_cache_settings",
        actionParameters: { cache: false },
    });
    return rules;
}

export interface Edge {
    originKey: tls.PrivateKey;
    /** zone name → Origin CA certificate */
    certificates: Record<string, cloudflare.OriginCaCertificate>;
    settings: cloudflare.ZoneSetting[];
    rulesets: cloudflare.Ruleset[];
}

export function createEdge(cfg: ConsultConfig, zones: Zone[]): Edge {
    const dashboardHosts = hostnames(cfg.dashboard);
    const originKey = new tls.PrivateKey(`${cfg.prefix}-origin-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = new tls.CertRequest(`${cfg.prefix}-origin-csr`, {
        privateKeyPem: originKey.privateKeyPem,
        subject: { commonName: `${cfg.prefix} origin`, organization: "Consult" },
    });
    const certificates: Record<string, cloudflare.OriginCaCertificate> = {};
    const settings: cloudflare.ZoneSetting[] = [];
    const rulesets: cloudflare.Ruleset[] = [];
    for (const zone of zones) {
        const key = zone.name.replace(/\./g, "-");
        certificates[zone.name] = new cloudflare.OriginCaCertificate(`${key}-origin-cert`, {
            csr: csr.certRequestPem,
            hostnames: zone.sites.flatMap(hostnames),
            requestType: "origin-ecc",
            requestedValidity: 5475,
        });
        for (const [settingId, value] of [["ssl", "strict"], ["always_use_https", "on"], ["min_tls_version", "1.2"]]) {
            settings.push(new cloudflare.ZoneSetting(`${key}-${settingId}`, { zoneId: zone.id, settingId, value }));
        }
        rulesets.push(new cloudflare.Ruleset(`${key}-cache-rules`, {
            zoneId: zone.id,
            kind: "zone",
            phase: "http_request_cache_settings",
            name: "Consult cache rules",
            description: "Static sites cached; APIs, webhooks and the dashboard never (infra/src/edge.ts)",
            rules: cacheRules(zone, dashboardHosts),
        }));
    }
    return { originKey, certificates, settings, rulesets };
}

/** zone name → certificate PEM, for the node bundle. */
export function certificatePems(edge: Edge): pulumi.Output<Record<string, string>> {
    const names = Object.keys(edge.certificates);
    return pulumi.all(names.map((n) => edge.certificates[n].certificate)).apply((pems) =>
        Object.fromEntries(names.map((n, i) => [n, pems[i]])));
}
