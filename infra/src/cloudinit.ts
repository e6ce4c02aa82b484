// Cloud-init user data. It carries no secret: Hetzner keeps user data
// readable through its API and the server's metadata service, so the
// database password, the form-token key, the TLS key and the provider keys
// reach a node only over SSH, from deploy.sh (bundle.ts builds them).
//
// An app node's first boot: Debian packages (dist/packages.txt less the
// test tools), the node scripts and the consult systemd unit, Debian's own
// apache2 service off (Consult runs Apache under its own unit and config),
// and, when consult:release is set, the release fetched, checked and built
// (consult-release --stage). deploy.sh then sends the configuration and
// switches the node to it. The servers ignore later changes to user data
// (servers.ts), so a change here or to consult:release shapes new nodes
// only and never replaces a running one.
//
// The text is "#cloud-config" and then JSON, which is YAML too: no YAML
// library, and the tests read it back with JSON.parse.

import { ConsultConfig, ReleaseSource } from "./config";
import { infraFile } from "./files";
import { appNodePackages } from "./packages";
import { SUBNET_RANGE } from "./network";

/** Hetzner refuses user data over 32 KiB. */
export const USER_DATA_LIMIT = 32 * 1024;

interface WriteFile {
    path: string;
    permissions: string;
    owner?: string;
    content: string;
}

function script(name: string, dest = `/usr/local/sbin/${name}`): WriteFile {
    return { path: dest, permissions: "0755", owner: "root:root", content: infraFile(`node/${name}`) };
}

function unit(name: string, dest: string): WriteFile {
    return { path: dest, permissions: "0644", owner: "root:root", content: infraFile(`node/${name}`) };
}

/** Where a release sits and what Apache reads: the same for every node. */
export const PATHS_ENV = [
    "# Written by cloud-init (infra/src/cloudinit.ts); read by the consult unit and scripts.",
    "CONSULT_ROOT=/opt/consult/current",
    "CONSULT_HTDOCS=/opt/consult/current/htdocs",
    "CONSULT_BUILD=/opt/consult/current/build/release",
    "CONSULT_VAR=/var/lib/consult",
    "CONSULT_HTTPD_MODULES=/usr/lib/apache2/modules",
    // The release's own Listen and catch-all vhost stay on loopback
    // (consult-render adds :80 and :443 for the sites).
    "CONSULT_LISTEN=127.0.0.1:8081",
    "CONSULT_PORT=443",
    "CONSULT_USER=www-data",
    "CONSULT_GROUP=www-data",
    "CONSULT_JOB_POLL=1s",
    "CONSULT_JOB_LEASE=5m",
    "CONSULT_JOB_BACKOFF=5s",
    "CONSULT_INTAKE_IP_LIMIT=20",
    "",
].join("\n");

function render(doc: object): string {
    const text = `#cloud-config\n${JSON.stringify(doc, null, 1)}\n`;
    const size = Buffer.byteLength(text);
    if (size > USER_DATA_LIMIT) {
        throw new Error(`cloud-init user data is ${size} bytes, over Hetzner's ${USER_DATA_LIMIT}`);
    }
    return text;
}

export function appUserData(cfg: Pick<ConsultConfig, "release">, packages = appNodePackages()): string {
    const runcmd: string[][] = [
        ["systemctl", "disable", "--now", "apache2"],
        ["install", "-d", "-m", "0755", "/opt/consult/releases", "/var/lib/consult", "/var/lib/consult/empty", "/var/cache/consult"],
        ["systemctl", "daemon-reload"],
    ];
    if (cfg.release) runcmd.push(stage(cfg.release));
    return render({
        package_update: true,
        package_upgrade: true,
        packages,
        write_files: [
            script("consult-release"),
            script("consult-render"),
            script("consult-apply-bundle"),
            script("consult-admin", "/usr/local/bin/consult-admin"),
            unit("consult.service", "/etc/systemd/system/consult.service"),
            unit("consult.logrotate", "/etc/logrotate.d/consult"),
            { path: "/etc/consult/paths.env", permissions: "0644", owner: "root:root", content: PATHS_ENV },
        ],
        runcmd,
    });
}

function stage(r: ReleaseSource): string[] {
    return ["/usr/local/sbin/consult-release", "--stage", r.url, r.sha256];
}

export function dbUserData(volumeId: string): string {
    if (!/^\d+$/.test(volumeId)) throw new Error(`unexpected Hetzner volume id ${JSON.stringify(volumeId)}`);
    return render({
        package_update: true,
        package_upgrade: true,
        packages: ["ca-certificates", "unattended-upgrades"],
        write_files: [
            script("consult-db-setup"),
            script("consult-db-role"),
            script("consult-db-backup"),
            unit("consult-db-backup.service", "/etc/systemd/system/consult-db-backup.service"),
            unit("consult-db-backup.timer", "/etc/systemd/system/consult-db-backup.timer"),
        ],
        runcmd: [["/usr/local/sbin/consult-db-setup", volumeId, SUBNET_RANGE]],
    });
}
