/**
 * @file cs_migrate.h
 * @brief The schema runner. Numbered SQL migrations (NNN_name.sql) are
 * applied once each, in order, each in its own transaction, recorded with a
 * SHA-256 checksum in schema_migrations; a recorded file whose contents
 * changed stops the run. Then the function files of functions/ next to them
 * (one per SQL function, trigger function or view: the live definition) are
 * applied again whenever their checksum differs from the one recorded in
 * schema_functions. See sql/README.md for the rules.
 */
#ifndef CS_MIGRATE_H
#define CS_MIGRATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libpq-fe.h>

/** Migrations up to this version predate functions/ and may define
 * functions, views and triggers; from the next one on, they may not. */
#define CS_MIGRATION_LAST_WITH_FUNCTIONS 5

/** The folder of function files, inside the migrations folder. */
#define CS_FUNCTIONS_SUBDIR "functions"

typedef struct {
    int version;
    const char *name;      /**< file name, e.g. 001_init.sql */
    const char *path;
    const char *sql;
    const char *checksum;  /**< sha256, lowercase hex */
} cs_migration_t;

/** One file of functions/: [NN_]name.sql, the live definition of name. */
typedef struct {
    int order;             /**< the numeric prefix; 0 without one */
    const char *name;      /**< what it defines, e.g. consult_find_contact */
    const char *file;      /**< file name, e.g. 20_consult_intake_file.sql */
    const char *path;
    const char *sql;
    const char *checksum;  /**< sha256, lowercase hex */
} cs_function_file_t;

/** What cs_migrate_load found: the migrations and the function files. */
typedef struct {
    const char *dir;
    apr_array_header_t *migrations;  /**< cs_migration_t, by version */
    const char *functions_dir;       /**< dir/functions */
    apr_array_header_t *functions;   /**< cs_function_file_t; NULL: no such folder */
} cs_migrate_plan_t;

/** What cs_migrate_apply did (also when it stopped half way). */
typedef struct {
    int migrations_applied;
    int functions_applied;
    int functions_all;       /**< every function file was due: a migration ran */
    int functions_forgotten; /**< records dropped because their file is gone */
} cs_migrate_result_t;

/** A CREATE statement found by cs_sql_next_definition. */
typedef struct {
    const char *kind;      /**< "FUNCTION", "PROCEDURE", "VIEW" or "TRIGGER" */
    int or_replace;
    int line;              /**< 1-based line of its CREATE */
    const char *name;      /**< the object's name (unqualified), not NUL-terminated */
    apr_size_t name_len;   /**< 0 when no plain identifier follows */
} cs_sql_definition_t;

/** Progress lines ("applying 002_x.sql ...", "applied 002_x.sql (12 ms)"). */
typedef void cs_migrate_progress_fn(void *baton, const char *line);

/**
 * Parse a migration file name: digits, '_', a name of [a-z0-9_-], ".sql".
 * @return the version (>= 1), or -1 when the name does not qualify.
 */
int cs_migration_version(const char *filename);

/**
 * Parse a function file name: an optional order prefix (digits, '_'), then
 * the object's name ([a-z_][a-z0-9_]*), then ".sql". Sets *pname (in @p p)
 * to the object's name.
 * @return the order (0 without a prefix), or -1 when the name does not
 * qualify.
 */
int cs_function_file_name(const char *filename, const char **pname,
                          apr_pool_t *p);

/**
 * Find the next CREATE [OR REPLACE] FUNCTION, PROCEDURE, VIEW or TRIGGER
 * (also TEMP/RECURSIVE views, CONSTRAINT triggers) of @p sql at or after
 * *ppos, as PostgreSQL would read it: comments, string literals, quoted
 * identifiers and dollar-quoted bodies are skipped. *ppos and *pline (the
 * line of *ppos, 1 at the start) move past it.
 * @return 1 with *pdef filled, or 0 when there is none (*ppos == len).
 */
int cs_sql_next_definition(const char *sql, apr_size_t len, apr_size_t *ppos,
                           int *pline, cs_sql_definition_t *pdef);

/**
 * The rule for numbered migrations: from version
 * CS_MIGRATION_LAST_WITH_FUNCTIONS + 1 on, a migration may not define a
 * function, procedure, view or trigger (they live in functions/).
 * @return NULL when @p m may run, else why not (in @p p).
 */
const char *cs_migration_refusal(apr_pool_t *p, const cs_migration_t *m);

/**
 * The rule for function files: each defines the function or view it is
 * named after (overloads allowed) and no other, always with CREATE OR
 * REPLACE, since it runs again whenever it changes. Triggers (on its
 * function) may be created too.
 * @return NULL when @p f may run, else why not (in @p p).
 */
const char *cs_function_file_refusal(apr_pool_t *p, const cs_function_file_t *f);

/**
 * Read every migration in @p dir, sorted by version. Two files with one
 * version, a file that cannot be read, or a migration refused by
 * cs_migration_refusal is an error in *perr.
 */
apr_status_t cs_migrations_load(apr_array_header_t **pout, apr_pool_t *p,
                                const char *dir, const char **perr);

/**
 * Read every function file (*.sql) in @p dir, sorted by order, then name.
 * A *.sql file that is not named [NN_]name.sql, two files for one name, a
 * file that cannot be read or one refused by cs_function_file_refusal is
 * an error in *perr. A missing folder is APR_ENOENT (with *perr set).
 */
apr_status_t cs_functions_load(apr_array_header_t **pout, apr_pool_t *p,
                               const char *dir, const char **perr);

/**
 * Apply pending migrations. Holds an advisory lock so concurrent runners
 * take turns. Sets *papplied to the number applied.
 */
apr_status_t cs_migrations_apply(PGconn *conn, apr_pool_t *p,
                                 const apr_array_header_t *migrations,
                                 int *papplied, const char **perr,
                                 cs_migrate_progress_fn *progress, void *baton);

/**
 * Apply the function files whose checksum differs from the one recorded in
 * schema_functions (every one when @p all), each in its own transaction, in
 * order; the first that fails stops the run, naming it. Records of files
 * that are gone are dropped (*pforgotten, may be NULL). Same advisory lock
 * as migrations. Sets *papplied to the number applied.
 */
apr_status_t cs_functions_apply(PGconn *conn, apr_pool_t *p,
                                const apr_array_header_t *functions, int all,
                                int *papplied, int *pforgotten, const char **perr,
                                cs_migrate_progress_fn *progress, void *baton);

/**
 * Read and check everything a run needs before anything is applied: the
 * migrations of @p dir and the function files of @p dir/functions (a
 * missing functions folder leaves plan->functions NULL).
 */
apr_status_t cs_migrate_load(cs_migrate_plan_t *plan, apr_pool_t *p,
                             const char *dir, const char **perr);

/**
 * The whole run, under one advisory lock: pending migrations, then the
 * function files that changed. After a run that applied a migration every
 * function file is applied again (a migration may have dropped what one
 * defines, e.g. a trigger with its table). *pres tells what was done, also
 * when the run stops.
 */
apr_status_t cs_migrate_apply(PGconn *conn, apr_pool_t *p,
                              const cs_migrate_plan_t *plan,
                              cs_migrate_result_t *pres, const char **perr,
                              cs_migrate_progress_fn *progress, void *baton);

#endif
