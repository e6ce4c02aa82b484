/* Commands of consult-admin that live in their own file. */
#ifndef CONSULT_ADMIN_H
#define CONSULT_ADMIN_H

#include <apr_pools.h>
#include <libpq-fe.h>

/* site-new SLUG --name NAME --vertical VERTICAL [--owner EMAIL] [--force]
 * [--root DIR] (tools/site-new.c); argv[0] is SLUG. */
int cmd_site_new(PGconn *conn, apr_pool_t *p, int argc, const char *const *argv);

#endif
