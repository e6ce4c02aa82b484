/**
 * @file cs_migrate.h
 * @brief Numbered SQL migrations: NNN_name.sql files applied in order, each
 * in its own transaction, recorded with a SHA-256 checksum in
 * schema_migrations. A recorded file whose contents changed stops the run.
 */
#ifndef CS_MIGRATE_H
#define CS_MIGRATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libpq-fe.h>

typedef struct {
    int version;
    const char *name;      /**< file name, e.g. 001_init.sql */
    const char *path;
    const char *sql;
    const char *checksum;  /**< sha256, lowercase hex */
} cs_migration_t;

/** Progress lines ("applying 002_x.sql ... ok (12 ms)"). */
typedef void cs_migrate_progress_fn(void *baton, const char *line);

/**
 * Parse a migration file name: digits, '_', a name of [a-z0-9_-], ".sql".
 * @return the version (>= 1), or -1 when the name does not qualify.
 */
int cs_migration_version(const char *filename);


/**
 * Read every migration in @p dir, sorted by version. Two files with one
 * version, or a file that cannot be read, is an error in *perr.
 */
apr_status_t cs_migrations_load(apr_array_header_t **pout, apr_pool_t *p,
                                const char *dir, const char **perr);

/**
 * Apply pending migrations. Holds an advisory lock so concurrent runners
 * take turns. Sets *papplied to the number applied.
 */
apr_status_t cs_migrations_apply(PGconn *conn, apr_pool_t *p,
                                 const apr_array_header_t *migrations,
                                 int *papplied, const char **perr,
                                 cs_migrate_progress_fn *progress, void *baton);

#endif
