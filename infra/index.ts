// Consult for one agency on Hetzner Cloud behind Cloudflare. The program is
// in src/ (one file per concern); README.md says how to run it and deploy.
import { readConfig } from "./src/config";
import { buildStack } from "./src/stack";

const stack = buildStack(readConfig());

export const appNodes = stack.outputs.appNodes;
export const database = stack.outputs.database;
export const dashboardUrl = stack.outputs.dashboardUrl;
export const sites = stack.outputs.sites;
export const release = stack.outputs.release;
/** Secret: what deploy.sh sends each node (`pulumi stack output --show-secrets nodeFiles`). */
export const nodeFiles = stack.outputs.nodeFiles;
/** Secret: the database role's password (null with a managed database). */
export const dbPassword = stack.outputs.dbPassword;
