// Files of the repository the program reads: the node scripts under
// infra/node/ and the Debian package list under dist/. Found from the
// folder holding Pulumi.yaml, so the compiled tests (.build/) and
// `pulumi up` (ts-node, from the sources) read the same files.

import * as fs from "fs";
import * as path from "path";

let root: string | undefined;

/** The infra/ folder: the nearest parent of this file holding Pulumi.yaml. */
export function infraRoot(): string {
    if (root) return root;
    for (let dir = __dirname; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return (root = dir);
        if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${__dirname}`);
    }
}

/** A file under infra/ (e.g. "node/consult-release"), as text. */
export function infraFile(rel: string): string {
    return fs.readFileSync(path.join(infraRoot(), rel), "utf8");
}

/** A file of the repository around infra/ (e.g. "dist/packages.txt"), as text. */
export function repoFile(rel: string): string {
    const file = path.join(infraRoot(), "..", rel);
    if (!fs.existsSync(file)) throw new Error(`${rel} is missing: infra/ must sit in a Consult checkout`);
    return fs.readFileSync(file, "utf8");
}
