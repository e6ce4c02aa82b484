#include "db/cs_migrate.h"
#include "base/cs_crypto.h"
#include "base/cs_file.h"
#include "db/cs_db.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works; it only has to be the same for every runner. */
#define CS_MIGRATE_LOCK_KEY "7242019"

/* ---- file names ---------------------------------------------------------- */

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

int cs_function_file_name(const char *filename, const char **pname,
                          apr_pool_t *p)
{
    const char *s = filename, *name, *ext;
    long order = 0;

    if (apr_isdigit(*s)) {
        while (apr_isdigit(*s)) {
            order = order * 10 + (*s++ - '0');
            if (order > 999999) {
                return -1;
            }
        }
        if (*s++ != '_') {
            return -1;
        }
    }
    name = s;
    ext = strrchr(s, '.');
    if (!ext || ext == s || strcmp(ext, ".sql")) {
        return -1;
    }
    /* An SQL identifier as PostgreSQL folds it: no digit first. */
    if (!apr_islower(*s) && *s != '_') {
        return -1;
    }
    for (; s < ext; s++) {
        if (!apr_islower(*s) && !apr_isdigit(*s) && *s != '_') {
            return -1;
        }
    }
    if (pname) {
        *pname = apr_pstrmemdup(p, name, (apr_size_t)(ext - name));
    }
    return (int)order;
}

/* ---- reading SQL as PostgreSQL does ---------------------------------------
 * Only far enough to find CREATE statements: words, and everything that
 * may hide one (comments, strings, quoted names, dollar-quoted bodies). */

typedef struct {
    const char *s;
    apr_size_t len, pos;
    int line;
} scan_t;

enum { TOK_END = -1, TOK_OTHER = 0, TOK_WORD = 1 };

static int word_start(unsigned char c)
{
    return apr_isalpha(c) || c == '_' || c >= 0x80;
}

static int word_char(unsigned char c)
{
    return apr_isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void advance(scan_t *sc, apr_size_t n)
{
    for (; n && sc->pos < sc->len; n--) {
        if (sc->s[sc->pos++] == '\n') {
            sc->line++;
        }
    }
}

/* From the opening quote to past the closing one ('' or "" inside is the
 * quote itself; with @p backslash, \x escapes x). */
static void skip_quoted(scan_t *sc, char q, int backslash)
{
    advance(sc, 1);
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (backslash && c == '\\') {
            advance(sc, 2);
        }
        else if (c == q) {
            advance(sc, 1);
            if (sc->pos < sc->len && sc->s[sc->pos] == q) {
                advance(sc, 1);
                continue;
            }
            return;
        }
        else {
            advance(sc, 1);
        }
    }
}

/* At a '$': a dollar quote ($$ or $tag$) is skipped whole and 1 returned;
 * anything else ($1) is 0. */
static int skip_dollar(scan_t *sc)
{
    apr_size_t j = sc->pos + 1, taglen, k;

    if (j < sc->len && word_start((unsigned char)sc->s[j])) {
        while (j < sc->len && word_char((unsigned char)sc->s[j]) && sc->s[j] != '$') {
            j++;
        }
    }
    if (j >= sc->len || sc->s[j] != '$') {
        return 0;
    }
    taglen = j + 1 - sc->pos;
    for (k = j + 1; k + taglen <= sc->len; k++) {
        if (sc->s[k] == '$' && !memcmp(sc->s + k, sc->s + sc->pos, taglen)) {
            advance(sc, k + taglen - sc->pos);
            return 1;
        }
    }
    advance(sc, sc->len - sc->pos);   /* unterminated: the rest is its body */
    return 1;
}

static int next_token(scan_t *sc, const char **pw, apr_size_t *pwlen, int *pline)
{
    for (;;) {
        unsigned char c, d;

        while (sc->pos < sc->len && apr_isspace(sc->s[sc->pos])) {
            advance(sc, 1);
        }
        if (sc->pos >= sc->len) {
            return TOK_END;
        }
        c = (unsigned char)sc->s[sc->pos];
        d = sc->pos + 1 < sc->len ? (unsigned char)sc->s[sc->pos + 1] : 0;
        if (c == '-' && d == '-') {
            while (sc->pos < sc->len && sc->s[sc->pos] != '\n') {
                advance(sc, 1);
            }
            continue;
        }
        if (c == '/' && d == '*') {
            int depth = 0;
            /* PostgreSQL's block comments nest. */
            while (sc->pos < sc->len) {
                if (sc->s[sc->pos] == '/' && sc->pos + 1 < sc->len
                    && sc->s[sc->pos + 1] == '*') {
                    depth++;
                    advance(sc, 2);
                }
                else if (sc->s[sc->pos] == '*' && sc->pos + 1 < sc->len
                         && sc->s[sc->pos + 1] == '/') {
                    advance(sc, 2);
                    if (--depth == 0) {
                        break;
                    }
                }
                else {
                    advance(sc, 1);
                }
            }
            continue;
        }
        *pline = sc->line;
        if (c == '\'' || c == '"') {
            skip_quoted(sc, (char)c, 0);
            return TOK_OTHER;
        }
        if (c == '$') {
            if (!skip_dollar(sc)) {
                advance(sc, 1);
            }
            return TOK_OTHER;
        }
        if (word_start(c)) {
            apr_size_t start = sc->pos;
            while (sc->pos < sc->len && word_char((unsigned char)sc->s[sc->pos])) {
                sc->pos++;
            }
            if (sc->pos - start == 1 && (c == 'e' || c == 'E')
                && sc->pos < sc->len && sc->s[sc->pos] == '\'') {
                skip_quoted(sc, '\'', 1);   /* E'...' takes backslash escapes */
                return TOK_OTHER;
            }
            *pw = sc->s + start;
            *pwlen = sc->pos - start;
            return TOK_WORD;
        }
        if (apr_isdigit(c)) {
            while (sc->pos < sc->len && (apr_isalnum(sc->s[sc->pos])
                                         || sc->s[sc->pos] == '.'
                                         || sc->s[sc->pos] == '_')) {
                sc->pos++;
            }
            return TOK_OTHER;
        }
        advance(sc, 1);
        return TOK_OTHER;
    }
}

static int is_word(const char *w, apr_size_t n, const char *kw)
{
    return strlen(kw) == n && !strncasecmp(w, kw, n);
}

int cs_sql_next_definition(const char *sql, apr_size_t len, apr_size_t *ppos,
                           int *pline, cs_sql_definition_t *pdef)
{
    static const char *const kinds[] = { "FUNCTION", "PROCEDURE", "VIEW", "TRIGGER" };
    static const char *const modifiers[] = { "TEMP", "TEMPORARY", "RECURSIVE", "CONSTRAINT" };
    scan_t sc;
    const char *w = NULL;
    apr_size_t n = 0;
    int line = 0, t;

    sc.s = sql;
    sc.len = len;
    sc.pos = *ppos < len ? *ppos : len;
    sc.line = *pline;
    while ((t = next_token(&sc, &w, &n, &line)) != TOK_END) {
        scan_t after;
        int create_line = line, or_replace = 0, i, m;

        if (t != TOK_WORD || !is_word(w, n, "create")) {
            continue;
        }
        after = sc;
        t = next_token(&sc, &w, &n, &line);
        if (t == TOK_WORD && is_word(w, n, "or")) {
            t = next_token(&sc, &w, &n, &line);
            if (t != TOK_WORD || !is_word(w, n, "replace")) {
                sc = after;
                continue;
            }
            or_replace = 1;
            t = next_token(&sc, &w, &n, &line);
        }
        for (m = 0; t == TOK_WORD && m < 3; m++) {
            for (i = 0; i < 4 && !is_word(w, n, modifiers[i]); i++)
                ;
            if (i == 4) {
                break;
            }
            t = next_token(&sc, &w, &n, &line);
        }
        for (i = 0; t == TOK_WORD && i < 4 && !is_word(w, n, kinds[i]); i++)
            ;
        if (t != TOK_WORD || i == 4) {
            sc = after;
            continue;
        }
        pdef->kind = kinds[i];
        pdef->or_replace = or_replace;
        pdef->line = create_line;
        pdef->name = NULL;
        pdef->name_len = 0;
        /* The name: [schema.]name, unquoted. */
        after = sc;
        if (next_token(&sc, &w, &n, &line) == TOK_WORD) {
            scan_t dot = sc;
            const char *w2;
            apr_size_t n2;
            pdef->name = w;
            pdef->name_len = n;
            if (next_token(&sc, &w2, &n2, &line) == TOK_OTHER
                && sc.pos == dot.pos + 1 && sql[dot.pos] == '.'
                && next_token(&sc, &w2, &n2, &line) == TOK_WORD) {
                pdef->name = w2;
                pdef->name_len = n2;
            }
        }
        sc = after;
        *ppos = sc.pos;
        *pline = sc.line;
        return 1;
    }
    *ppos = len;
    *pline = sc.line;
    return 0;
}

/* ---- the rules ----------------------------------------------------------- */

static const char *statement(apr_pool_t *p, const cs_sql_definition_t *d)
{
    return apr_pstrcat(p, "CREATE ", d->or_replace ? "OR REPLACE " : "", d->kind, NULL);
}

const char *cs_migration_refusal(apr_pool_t *p, const cs_migration_t *m)
{
    cs_sql_definition_t d;
    apr_size_t pos = 0;
    int line = 1;

    if (m->version <= CS_MIGRATION_LAST_WITH_FUNCTIONS) {
        return NULL;    /* written before sql/functions/ existed */
    }
    if (!cs_sql_next_definition(m->sql, strlen(m->sql), &pos, &line, &d)) {
        return NULL;
    }
    return apr_psprintf(p, "%s line %d: %s in a migration: from %03d on, functions,"
                        " views and triggers live in sql/functions/, one file each,"
                        " applied again whenever it changes (see sql/README.md)",
                        m->name, d.line, statement(p, &d),
                        CS_MIGRATION_LAST_WITH_FUNCTIONS + 1);
}

const char *cs_function_file_refusal(apr_pool_t *p, const cs_function_file_t *f)
{
    cs_sql_definition_t d;
    apr_size_t pos = 0, len = strlen(f->sql);
    int line = 1, found = 0;

    while (cs_sql_next_definition(f->sql, len, &pos, &line, &d)) {
        if (!strcmp(d.kind, "TRIGGER")) {
            continue;   /* its trigger, made idempotent by DROP TRIGGER IF EXISTS */
        }
        if (!d.name_len || !is_word(d.name, d.name_len, f->name)) {
            return apr_psprintf(p, "%s line %d: %s %.*s: a function file defines only"
                                " what it is named after (%s); give %.*s its own file",
                                f->file, d.line, statement(p, &d), (int)d.name_len,
                                d.name ? d.name : "", f->name, (int)d.name_len,
                                d.name ? d.name : "");
        }
        if (!d.or_replace) {
            return apr_psprintf(p, "%s line %d: %s %s: a function file runs again"
                                " whenever it changes, so it says CREATE OR REPLACE %s",
                                f->file, d.line, statement(p, &d), f->name, d.kind);
        }
        found = 1;
    }
    if (!found) {
        return apr_psprintf(p, "%s defines no function or view %s (CREATE OR REPLACE"
                            " FUNCTION %s ...)", f->file, f->name, f->name);
    }
    return NULL;
}

/* ---- loading folders ----------------------------------------------------- */

/* dir/name, without a doubled slash when dir ends in one ("sql/"). */
static const char *join(apr_pool_t *p, const char *dir, const char *name)
{
    apr_size_t n = strlen(dir);
    return apr_pstrcat(p, dir, n && dir[n - 1] == '/' ? "" : "/", name, NULL);
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
        m->path = join(p, dir, fi.name);
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
    for (i = 0; i < list->nelts; i++) {
        const char *why = cs_migration_refusal(p, &APR_ARRAY_IDX(list, i, cs_migration_t));
        if (why) {
            *perr = why;
            return APR_EINVAL;
        }
    }
    *pout = list;
    return APR_SUCCESS;
}

static int by_order_then_name(const void *a, const void *b)
{
    const cs_function_file_t *x = a, *y = b;
    if (x->order != y->order) {
        return (x->order > y->order) - (x->order < y->order);
    }
    return strcmp(x->name, y->name);
}

apr_status_t cs_functions_load(apr_array_header_t **pout, apr_pool_t *p,
                               const char *dir, const char **perr)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *list = apr_array_make(p, 16, sizeof(cs_function_file_t));
    apr_hash_t *seen = apr_hash_make(p);
    apr_status_t rv;
    int i;

    *pout = NULL;
    if ((rv = apr_dir_open(&d, dir, p)) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot open functions folder %s", dir);
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        cs_function_file_t *f;
        const char *name, *other, *ext;
        char *buf;
        apr_size_t n;
        int order;

        ext = strrchr(fi.name, '.');
        if ((fi.filetype != APR_REG && fi.filetype != APR_LNK) || fi.name[0] == '.'
            || !ext || strcmp(ext, ".sql")) {
            continue;   /* notes, editor files, folders */
        }
        /* A .sql file here is meant to run: a name we would skip is a
         * definition silently not applied, so it is an error. */
        if ((order = cs_function_file_name(fi.name, &name, p)) < 0) {
            apr_dir_close(d);
            *perr = apr_psprintf(p, "%s: a function file is named [NN_]name.sql,"
                                 " name being the function or view it defines"
                                 " ([a-z_][a-z0-9_]*)", join(p, dir, fi.name));
            return APR_EINVAL;
        }
        if ((other = apr_hash_get(seen, name, APR_HASH_KEY_STRING))) {
            *perr = apr_psprintf(p, "%s and %s both define %s", other,
                                 apr_pstrdup(p, fi.name), name);
            apr_dir_close(d);
            return APR_EINVAL;
        }
        f = apr_array_push(list);
        f->order = order;
        f->name = name;
        f->file = apr_pstrdup(p, fi.name);
        f->path = join(p, dir, fi.name);
        apr_hash_set(seen, f->name, APR_HASH_KEY_STRING, f->file);
        if ((rv = cs_file_read(&buf, &n, p, f->path, 0)) != APR_SUCCESS) {
            apr_dir_close(d);
            *perr = apr_psprintf(p, "cannot read %s", f->path);
            return rv;
        }
        f->sql = buf;
        f->checksum = cs_sha256_hex(p, buf, n);
    }
    apr_dir_close(d);
    qsort(list->elts, list->nelts, sizeof(cs_function_file_t), by_order_then_name);
    for (i = 0; i < list->nelts; i++) {
        const char *why = cs_function_file_refusal(
            p, &APR_ARRAY_IDX(list, i, cs_function_file_t));
        if (why) {
            *perr = why;
            return APR_EINVAL;
        }
    }
    *pout = list;
    return APR_SUCCESS;
}

apr_status_t cs_migrate_load(cs_migrate_plan_t *plan, apr_pool_t *p,
                             const char *dir, const char **perr)
{
    apr_finfo_t fi;
    apr_status_t rv;

    memset(plan, 0, sizeof(*plan));
    plan->dir = dir;
    plan->functions_dir = join(p, dir, CS_FUNCTIONS_SUBDIR);
    if ((rv = cs_migrations_load(&plan->migrations, p, dir, perr)) != APR_SUCCESS) {
        return rv;
    }
    /* A folder of migrations alone (no functions/) is fine. */
    if (apr_stat(&fi, plan->functions_dir, APR_FINFO_TYPE, p) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    return cs_functions_load(&plan->functions, p, plan->functions_dir, perr);
}

/* ---- applying ------------------------------------------------------------ */

static void say(cs_migrate_progress_fn *progress, void *baton, const char *line)
{
    if (progress) {
        progress(baton, line);
    }
}

/* Two runners (two deploys, make run twice) take turns. */
static apr_status_t lock(PGconn *conn, apr_pool_t *p, const char **perr)
{
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                               "SELECT pg_advisory_lock(" CS_MIGRATE_LOCK_KEY ")", 0, NULL);
    if (!res) {
        return APR_EGENERAL;
    }
    PQclear(res);
    return APR_SUCCESS;
}

static void unlock(PGconn *conn)
{
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" CS_MIGRATE_LOCK_KEY ")"));
}

/* One file in its own transaction, recorded by @p record ($1.. @p params)
 * in the same one. */
static apr_status_t apply_file(PGconn *conn, apr_pool_t *p, const char *label,
                               const char *sql, const char *record, int nparams,
                               const char *const *params, const char **perr,
                               cs_migrate_progress_fn *progress, void *baton)
{
    apr_time_t t0 = apr_time_now();
    PGresult *res;

    say(progress, baton, apr_psprintf(p, "applying %s ...", label));
    if (cs_db_command(conn, p, perr, "BEGIN") != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* The file is our own multi-statement SQL, so the simple query protocol
     * is used; it carries no user input. */
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK
        && PQresultStatus(res) != PGRES_TUPLES_OK) {
        *perr = apr_psprintf(p, "%s failed: %s", label, PQresultErrorMessage(res));
        PQclear(res);
        cs_db_command(conn, p, &(const char *){ NULL }, "ROLLBACK");
        return APR_EGENERAL;
    }
    PQclear(res);
    res = cs_db_exec(conn, p, perr, PGRES_COMMAND_OK, record, nparams, params);
    if (!res) {
        cs_db_command(conn, p, &(const char *){ NULL }, "ROLLBACK");
        return APR_EGENERAL;
    }
    PQclear(res);
    if (cs_db_command(conn, p, perr, "COMMIT") != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    say(progress, baton, apr_psprintf(p, "applied %s (%" APR_INT64_T_FMT " ms)", label,
                                      (apr_int64_t)apr_time_as_msec(apr_time_now() - t0)));
    return APR_SUCCESS;
}

static apr_status_t migrations_locked(PGconn *conn, apr_pool_t *p,
                                      const apr_array_header_t *migrations,
                                      int *papplied, const char **perr,
                                      cs_migrate_progress_fn *progress, void *baton)
{
    int i;

    if (cs_db_command(conn, p, perr,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version integer PRIMARY KEY,"
                      " name text NOT NULL,"
                      " checksum text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())")
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < migrations->nelts; i++) {
        const cs_migration_t *m = &APR_ARRAY_IDX(migrations, i, cs_migration_t);
        const char *params[3];
        PGresult *res;

        params[0] = apr_itoa(p, m->version);
        res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                         "SELECT checksum, name FROM schema_migrations"
                         " WHERE version = $1", 1, params);
        if (!res) {
            return APR_EGENERAL;
        }
        if (PQntuples(res) == 1) {
            const char *recorded = PQgetvalue(res, 0, 0);
            if (strcmp(recorded, m->checksum)) {
                *perr = apr_psprintf(p, "%s changed after it was applied "
                                     "(recorded sha256 %.12s..., file now %.12s...);"
                                     " never edit an applied migration, add a "
                                     "new one", m->name, recorded, m->checksum);
                PQclear(res);
                return APR_EINVAL;
            }
            PQclear(res);
            continue;
        }
        PQclear(res);
        params[1] = m->name;
        params[2] = m->checksum;
        if (apply_file(conn, p, m->name, m->sql,
                       "INSERT INTO schema_migrations (version, name, checksum)"
                       " VALUES ($1, $2, $3)", 3, params, perr, progress, baton)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        ++*papplied;
    }
    return APR_SUCCESS;
}

static apr_status_t functions_locked(PGconn *conn, apr_pool_t *p,
                                     const apr_array_header_t *functions, int all,
                                     int *papplied, int *pforgotten, const char **perr,
                                     cs_migrate_progress_fn *progress, void *baton)
{
    apr_hash_t *recorded = apr_hash_make(p);
    const char *names = "{";
    PGresult *res;
    int i;

    if (cs_db_command(conn, p, perr,
                      "CREATE TABLE IF NOT EXISTS schema_functions ("
                      " name text PRIMARY KEY,"
                      " file text NOT NULL,"
                      " checksum text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())")
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "SELECT name, checksum FROM schema_functions", 0, NULL);
    if (!res) {
        return APR_EGENERAL;
    }
    for (i = 0; i < PQntuples(res); i++) {
        apr_hash_set(recorded, apr_pstrdup(p, PQgetvalue(res, i, 0)), APR_HASH_KEY_STRING,
                     apr_pstrdup(p, PQgetvalue(res, i, 1)));
    }
    PQclear(res);

    for (i = 0; i < functions->nelts; i++) {
        const cs_function_file_t *f = &APR_ARRAY_IDX(functions, i, cs_function_file_t);
        const char *was = apr_hash_get(recorded, f->name, APR_HASH_KEY_STRING);
        const char *params[3];

        names = apr_pstrcat(p, names, i ? "," : "", f->name, NULL);
        if (!all && was && !strcmp(was, f->checksum)) {
            continue;   /* unchanged: the database has this definition */
        }
        params[0] = f->name;
        params[1] = f->file;
        params[2] = f->checksum;
        if (apply_file(conn, p, apr_pstrcat(p, CS_FUNCTIONS_SUBDIR "/", f->file, NULL),
                       f->sql,
                       "INSERT INTO schema_functions (name, file, checksum) VALUES ($1, $2, $3)"
                       " ON CONFLICT (name) DO UPDATE SET file = EXCLUDED.file,"
                       " checksum = EXCLUDED.checksum, applied_at = now()",
                       3, params, perr, progress, baton)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        ++*papplied;
    }

    /* A file that is gone: forget it, so that if it comes back it is applied
     * (its function stays until a migration drops it). Names are
     * [a-z0-9_], safe in an array literal. */
    names = apr_pstrcat(p, names, "}", NULL);
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "DELETE FROM schema_functions WHERE name <> ALL ($1::text[])"
                     " RETURNING name", 1, &names);
    if (!res) {
        return APR_EGENERAL;
    }
    for (i = 0; i < PQntuples(res); i++) {
        say(progress, baton, apr_psprintf(p, "forgot %s: its file is gone (a migration"
                                          " drops the function)", PQgetvalue(res, i, 0)));
    }
    if (pforgotten) {
        *pforgotten = PQntuples(res);
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_migrations_apply(PGconn *conn, apr_pool_t *p,
                                 const apr_array_header_t *migrations,
                                 int *papplied, const char **perr,
                                 cs_migrate_progress_fn *progress, void *baton)
{
    apr_status_t rv;

    *papplied = 0;
    if ((rv = lock(conn, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = migrations_locked(conn, p, migrations, papplied, perr, progress, baton);
    unlock(conn);
    return rv;
}

apr_status_t cs_functions_apply(PGconn *conn, apr_pool_t *p,
                                const apr_array_header_t *functions, int all,
                                int *papplied, int *pforgotten, const char **perr,
                                cs_migrate_progress_fn *progress, void *baton)
{
    apr_status_t rv;

    *papplied = 0;
    if (pforgotten) {
        *pforgotten = 0;
    }
    if ((rv = lock(conn, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = functions_locked(conn, p, functions, all, papplied, pforgotten, perr,
                          progress, baton);
    unlock(conn);
    return rv;
}

apr_status_t cs_migrate_apply(PGconn *conn, apr_pool_t *p,
                              const cs_migrate_plan_t *plan,
                              cs_migrate_result_t *pres, const char **perr,
                              cs_migrate_progress_fn *progress, void *baton)
{
    apr_status_t rv;

    memset(pres, 0, sizeof(*pres));
    if ((rv = lock(conn, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = migrations_locked(conn, p, plan->migrations, &pres->migrations_applied, perr,
                           progress, baton);
    if (rv == APR_SUCCESS && plan->functions) {
        /* A migration may have dropped or changed what a function file
         * made (DROP TABLE ... CASCADE takes its trigger along): after one,
         * every file is applied again. */
        pres->functions_all = pres->migrations_applied > 0;
        rv = functions_locked(conn, p, plan->functions, pres->functions_all,
                              &pres->functions_applied, &pres->functions_forgotten,
                              perr, progress, baton);
    }
    unlock(conn);
    return rv;
}
