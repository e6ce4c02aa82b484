#include "db/cs_migrate.h"
#include "base/cs_crypto.h"
#include "base/cs_file.h"
#include "db/cs_db.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works; it only has to be the same for every runner. */
#define CS_MIGRATE_LOCK_KEY "7242019"

int cs_migration_version(const char *filename)
{
    const char *s = filename, *ext;
    long v = 0;

    if (!apr_isdigit(*s)) {
        return -1;
    }
    while (apr_isdigit(*s)) {
        v = v * 10 + (*s++ - '0');
        if (v > 999999) {
            return -1;
        }
    }
    if (*s++ != '_' || v < 1) {
        return -1;
    }
    ext = strrchr(s, '.');
    if (!ext || ext == s || strcmp(ext, ".sql")) {
        return -1;
    }
    for (; s < ext; s++) {
        if (!apr_islower(*s) && !apr_isdigit(*s) && *s != '_' && *s != '-') {
            return -1;
        }
    }
    return (int)v;
}

static int by_version(const void *a, const void *b)
{
    const cs_migration_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

apr_status_t cs_migrations_load(apr_array_header_t **pout, apr_pool_t *p,
                                const char *dir, const char **perr)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *list = apr_array_make(p, 16, sizeof(cs_migration_t));
    apr_status_t rv;
    int i;

    *pout = NULL;
    if ((rv = apr_dir_open(&d, dir, p)) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot open migrations folder %s", dir);
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        cs_migration_t *m;
        char *buf;
        apr_size_t n;
        int v;

        /* Symlinks count too: deployments often link shared files. */
        if ((fi.filetype != APR_REG && fi.filetype != APR_LNK)
            || (v = cs_migration_version(fi.name)) < 0) {
            continue;
        }
        m = apr_array_push(list);
        m->version = v;
        m->name = apr_pstrdup(p, fi.name);
        m->path = apr_pstrcat(p, dir, "/", fi.name, NULL);
        if ((rv = cs_file_read(&buf, &n, p, m->path, 0)) != APR_SUCCESS) {
            apr_dir_close(d);
            *perr = apr_psprintf(p, "cannot read %s", m->path);
            return rv;
        }
        m->sql = buf;
        m->checksum = cs_sha256_hex(p, buf, n);
    }
    apr_dir_close(d);
    qsort(list->elts, list->nelts, sizeof(cs_migration_t), by_version);
    for (i = 1; i < list->nelts; i++) {
        cs_migration_t *a = &APR_ARRAY_IDX(list, i - 1, cs_migration_t);
        cs_migration_t *b = &APR_ARRAY_IDX(list, i, cs_migration_t);
        if (a->version == b->version) {
            *perr = apr_psprintf(p, "%s and %s have the same version number",
                                 a->name, b->name);
            return APR_EINVAL;
        }
    }
    *pout = list;
    return APR_SUCCESS;
}

static void say(cs_migrate_progress_fn *progress, void *baton, const char *line)
{
    if (progress) {
        progress(baton, line);
    }
}

apr_status_t cs_migrations_apply(PGconn *conn, apr_pool_t *p,
                                 const apr_array_header_t *migrations,
                                 int *papplied, const char **perr,
                                 cs_migrate_progress_fn *progress, void *baton)
{
    apr_status_t rv = APR_SUCCESS;
    PGresult *lock;
    int i, applied = 0;

    *papplied = 0;
    /* Two runners (two deploys, make run twice) take turns. */
    lock = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                      "SELECT pg_advisory_lock(" CS_MIGRATE_LOCK_KEY ")", 0, NULL);
    if (!lock) {
        return APR_EGENERAL;
    }
    PQclear(lock);
    if (cs_db_command(conn, p, perr,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version integer PRIMARY KEY,"
                      " name text NOT NULL,"
                      " checksum text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())")
        != APR_SUCCESS) {
        rv = APR_EGENERAL;
        goto leave;
    }

    for (i = 0; i < migrations->nelts; i++) {
        const cs_migration_t *m = &APR_ARRAY_IDX(migrations, i, cs_migration_t);
        const char *params[3];
        PGresult *res;
        apr_time_t t0;

        params[0] = apr_itoa(p, m->version);
        res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                         "SELECT checksum, name FROM schema_migrations"
                         " WHERE version = $1", 1, params);
        if (!res) {
            rv = APR_EGENERAL;
            break;
        }
        if (PQntuples(res) == 1) {
            const char *recorded = PQgetvalue(res, 0, 0);
            if (strcmp(recorded, m->checksum)) {
                *perr = apr_psprintf(p, "%s changed after it was applied "
                                     "(recorded sha256 %.12s..., file now %.12s...);"
                                     " never edit an applied migration, add a "
                                     "new one", m->name, recorded, m->checksum);
                PQclear(res);
                rv = APR_EINVAL;
                break;
            }
            PQclear(res);
            continue;
        }
        PQclear(res);

        t0 = apr_time_now();
        say(progress, baton, apr_psprintf(p, "applying %s ...", m->name));
        if (cs_db_command(conn, p, perr, "BEGIN") != APR_SUCCESS) {
            rv = APR_EGENERAL;
            break;
        }
        /* A migration is our own multi-statement file, so the simple query
         * protocol is used; it carries no user input. */
        res = PQexec(conn, m->sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK
            && PQresultStatus(res) != PGRES_TUPLES_OK) {
            *perr = apr_psprintf(p, "%s failed: %s", m->name,
                                 PQresultErrorMessage(res));
            PQclear(res);
            cs_db_command(conn, p, &(const char *){ NULL }, "ROLLBACK");
            rv = APR_EGENERAL;
            break;
        }
        PQclear(res);
        params[1] = m->name;
        params[2] = m->checksum;
        res = cs_db_exec(conn, p, perr, PGRES_COMMAND_OK,
                         "INSERT INTO schema_migrations (version, name, checksum)"
                         " VALUES ($1, $2, $3)", 3, params);
        if (!res) {
            cs_db_command(conn, p, &(const char *){ NULL }, "ROLLBACK");
            rv = APR_EGENERAL;
            break;
        }
        PQclear(res);
        if (cs_db_command(conn, p, perr, "COMMIT") != APR_SUCCESS) {
            rv = APR_EGENERAL;
            break;
        }
        applied++;
        say(progress, baton, apr_psprintf(p, "applied %s (%" APR_INT64_T_FMT " ms)",
                                          m->name,
                                          (apr_int64_t)apr_time_as_msec(
                                              apr_time_now() - t0)));
    }
leave:
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" CS_MIGRATE_LOCK_KEY ")"));
    *papplied = applied;
    return rv;
}
