// Cloudflare's published edge ranges: the only sources allowed to reach the
// app nodes on 80 and 443 (firewall.ts), and the proxies whose
// CF-Connecting-IP header Apache believes (the nodes' mod_remoteip config,
// bundle.ts).
//
// Where they come from: https://www.cloudflare.com/ips/ (plain lists at
// https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6,
// and the JSON API https://api.cloudflare.com/client/v4/ips).
// Checked: 2026-11 (copied from conf/remoteip-cloudflare.conf.example, not fetched anew)
// A test keeps this list and conf/remoteip-cloudflare.conf.example equal.
//
// They change rarely, but they do change, and a missing range means
// visitors routed through it get errors (the firewall drops Cloudflare's
// connection). To refresh: run tools/refresh-cloudflare-ips.sh (it rewrites
// this file from the two plain lists), update
// conf/remoteip-cloudflare.conf.example to match, run the tests, then
// `pulumi up` (the firewall rules change in place) and deploy.sh (the
// nodes' remoteip list).

export const CLOUDFLARE_IPV4: readonly string[] = [
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
];

export const CLOUDFLARE_IPV6: readonly string[] = [
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
];

export const CLOUDFLARE_RANGES: readonly string[] = [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6];
