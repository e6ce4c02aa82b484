// The Debian packages the app nodes install: dist/packages.txt (the one list
// of what Consult needs to build and run, which dist/install-deps.sh also
// installs for development and CI) less the tools only the test suites use
// and the database server, which runs on its own machine (or is managed).

import { repoFile } from "./files";

/** In dist/packages.txt for the tests, benchmarks and fuzzers only. */
export const TEST_ONLY = new Set(["check", "wrk", "chromium", "clang", "libclang-rt-14-dev", "llvm", "valgrind"]);
/** Not on an app node: PostgreSQL runs on the database server or is managed. */
export const NOT_ON_APP_NODES = new Set(["postgresql"]);
/** Beyond the list: the release build (its npm step), fetching, TLS roots, security updates. */
export const NODE_EXTRAS = ["nodejs", "npm", "ca-certificates", "curl", "make", "gcc", "python3", "unattended-upgrades"];

/** The names in a packages.txt text: one a line, # comments and blank lines skipped. */
export function parsePackageList(text: string): string[] {
    return text
        .split("\n")
        .map((line) => line.replace(/#.*/, "").trim())
        .filter((line) => line !== "");
}

/** The app nodes' package list, in dist/packages.txt's order, extras last. */
export function appNodePackages(text = repoFile("dist/packages.txt")): string[] {
    const wanted = parsePackageList(text).filter((p) => !TEST_ONLY.has(p) && !NOT_ON_APP_NODES.has(p));
    for (const p of NODE_EXTRAS) if (!wanted.includes(p)) wanted.push(p);
    return wanted;
}
