/* The migration runner (consult-admin migrate) against a fresh database:
 * numbered migrations, then the function files of functions/ next to them
 * (applied when changed, each in its own transaction), and the rule that a
 * migration from 006 on defines no function. */
#include "integ.h"
#include "db/cs_migrate.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *db;      /* conninfo of this test's own database */
static const char *dir;     /* this test's migrations folder */

static int admin(const char *args, const char **pout)
{
    const char *cmd = apr_psprintf(it_pool, "%s/consult-admin --db '%s' %s 2>&1",
                                   getenv("CS_TEST_BUILD"), db, args);
    FILE *f = popen(cmd, "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    int st;
    buf[n] = '\0';
    st = pclose(f);
    *pout = apr_pstrdup(it_pool, buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_file(const char *name, const char *sql)
{
    apr_file_t *f;
    ck_assert_int_eq(apr_file_open(&f, apr_pstrcat(it_pool, dir, "/", name, NULL),
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                                   APR_OS_DEFAULT, it_pool), APR_SUCCESS);
    apr_file_puts(sql, f);
    apr_file_close(f);
}

static const char *in_db(const char *sql)
{
    PGconn *conn = PQconnectdb(db);
    PGresult *res = PQexec(conn, sql);
    const char *out = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res)
                      ? apr_pstrdup(it_pool, PQgetvalue(res, 0, 0)) : "";
    PQclear(res);
    PQfinish(conn);
    return out;
}

static const char *in_db_param(const char *sql, const char *p1, const char *p2)
{
    const char *params[2] = { p1, p2 };
    PGconn *conn = PQconnectdb(db);
    PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    const char *out = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res)
                      ? apr_pstrdup(it_pool, PQgetvalue(res, 0, 0)) : "";
    PQclear(res);
    PQfinish(conn);
    return out;
}

static void db_do(const char *sql)
{
    PGconn *conn = PQconnectdb(db);
    PGresult *res = PQexec(conn, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
                  PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
}

static void setup(void)
{
    static int n;
    const char *name;
    it_setup();
    name = apr_psprintf(it_pool, "mig_%d_%d", (int)getpid(), ++n);
    it_sql(apr_psprintf(it_pool, "CREATE DATABASE %s", name), 0, NULL);
    db = apr_psprintf(it_pool, "%s dbname=%s", getenv("CS_TEST_DATABASE"), name);
    dir = apr_psprintf(it_pool, "%s/%s", getenv("CS_TEST_TMP"), name);
    apr_dir_make(dir, APR_OS_DEFAULT, it_pool);
    write_file("001_first.sql", "CREATE TABLE first_t (id int PRIMARY KEY);\n");
    write_file("002_second.sql", "ALTER TABLE first_t ADD COLUMN note text;\n");
    write_file("README.txt", "not a migration");
}

START_TEST(test_applies_in_order_then_is_a_no_op)
{
    const char *out;
    ck_assert_msg(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "2 applied") != NULL, "%s", out);
    ck_assert_str_eq(in_db("SELECT string_agg(version || ':' || name, ',' ORDER BY version)"
                           " FROM schema_migrations"), "1:001_first.sql,2:002_second.sql");
    ck_assert_str_eq(in_db("SELECT count(*) FROM information_schema.columns"
                           " WHERE table_name = 'first_t'"), "2");
    ck_assert_msg(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "0 applied, 2 already up to date") != NULL, "%s", out);
}
END_TEST

START_TEST(test_refuses_to_continue_when_an_applied_file_changed)
{
    const char *out;
    ck_assert_int_eq(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out), 0);
    write_file("001_first.sql", "CREATE TABLE first_t (id bigint PRIMARY KEY);\n");
    write_file("003_third.sql", "CREATE TABLE third_t (id int);\n");
    ck_assert_int_eq(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out), 1);
    ck_assert_msg(strstr(out, "001_first.sql changed after it was applied") != NULL, "%s", out);
    ck_assert_str_eq(in_db("SELECT count(*) FROM schema_migrations"), "2");
    ck_assert_str_eq(in_db("SELECT to_regclass('third_t') IS NULL"), "t");
}
END_TEST

START_TEST(test_a_failing_migration_leaves_nothing_behind)
{
    const char *out;
    write_file("003_broken.sql", "CREATE TABLE half_t (id int);\nSELEC oops;\n");
    ck_assert_int_eq(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out), 1);
    ck_assert_msg(strstr(out, "003_broken.sql failed") != NULL, "%s", out);
    /* 001 and 002 are committed; 003 is wholly rolled back. */
    ck_assert_str_eq(in_db("SELECT max(version) FROM schema_migrations"), "2");
    ck_assert_str_eq(in_db("SELECT to_regclass('half_t') IS NULL"), "t");
}
END_TEST

START_TEST(test_duplicate_versions_are_refused_before_touching_the_database)
{
    const char *out;
    write_file("002_again.sql", "SELECT 1;\n");
    ck_assert_int_eq(admin(apr_pstrcat(it_pool, "migrate ", dir, NULL), &out), 1);
    ck_assert_msg(strstr(out, "have the same version number") != NULL, "%s", out);
    ck_assert_str_eq(in_db("SELECT to_regclass('first_t') IS NULL"), "t");
}
END_TEST

START_TEST(test_the_real_schema_migrates_and_seeds_twice)
{
    const char *out, *sql = apr_pstrcat(it_pool, getenv("CS_TEST_ROOT"), "/sql", NULL);
    int i;
    for (i = 0; i < 2; i++) {
        ck_assert_msg(admin(apr_pstrcat(it_pool, "migrate ", sql, NULL), &out) == 0, "%s", out);
        ck_assert_msg(admin(apr_pstrcat(it_pool, "seed ", sql, "/seed/demo.sql", NULL), &out) == 0,
                      "%s", out);
    }
    ck_assert_str_eq(in_db("SELECT string_agg(slug, ',') FROM clients"), "coffee-shop");
    /* The schema refuses a submission nobody can answer. */
    ck_assert_str_eq(in_db("SELECT count(*) FROM pg_constraint WHERE conname = 'submissions_reachable'"), "1");
}
END_TEST

/* ---- function files ------------------------------------------------------ */

static const char *migrate(const char *folder, int want_status)
{
    const char *out;
    int st = admin(apr_pstrcat(it_pool, "migrate ", folder, NULL), &out);
    ck_assert_msg(st == want_status, "exit %d, not %d: %s", st, want_status, out);
    return out;
}

static void has(const char *out, const char *what)
{
    ck_assert_msg(strstr(out, what) != NULL, "no \"%s\" in: %s", what, out);
}

/* @p first appears in @p out, and before @p second. */
static void before(const char *out, const char *first, const char *second)
{
    const char *a = strstr(out, first), *b = strstr(out, second);
    ck_assert_msg(a && b && a < b, "\"%s\" is not before \"%s\" in: %s", first, second, out);
}

static void write_function(const char *file, const char *sql)
{
    apr_dir_make(apr_pstrcat(it_pool, dir, "/functions", NULL), APR_OS_DEFAULT, it_pool);
    write_file(apr_pstrcat(it_pool, "functions/", file, NULL), sql);
}

static const char *fn_sql(const char *name, const char *value)
{
    return apr_psprintf(it_pool, "-- %s\nCREATE OR REPLACE FUNCTION %s() RETURNS text"
                        " LANGUAGE sql AS $$ SELECT '%s'::text $$;\n", name, name, value);
}

static const char *applied_at(const char *name)
{
    return in_db(apr_psprintf(it_pool, "SELECT applied_at FROM schema_functions"
                              " WHERE name = '%s'", name));
}

static const char *real_sql(void)
{
    return apr_pstrcat(it_pool, getenv("CS_TEST_ROOT"), "/sql", NULL);
}

/* The body of the first dollar quote ($$ or $tag$) after @p from. */
static const char *dollar_body(const char *from)
{
    const char *a = strchr(from, '$'), *t, *b;
    const char *tag;

    while (a && (t = a + 1 + strspn(a + 1, "abcdefghijklmnopqrstuvwxyz_"), *t != '$')) {
        a = strchr(a + 1, '$');
    }
    ck_assert_msg(a != NULL, "no dollar-quoted body in: %.80s", from);
    tag = apr_pstrmemdup(it_pool, a, (apr_size_t)(t + 1 - a));
    b = strstr(t + 1, tag);
    ck_assert_ptr_nonnull(b);
    return apr_pstrmemdup(it_pool, t + 1, (apr_size_t)(b - t - 1));
}

/* The database holds exactly the definitions of sql/functions/: one
 * function per file, its body the file's, and no other function or
 * trigger. */
static void assert_live_definitions_are_the_files(void)
{
    apr_array_header_t *files;
    const char *err = NULL, *names = "";
    int i, triggers = 0;

    ck_assert_msg(cs_functions_load(&files, it_pool,
                                    apr_pstrcat(it_pool, real_sql(), "/functions", NULL),
                                    &err) == APR_SUCCESS, "%s", err);
    ck_assert_int_gt(files->nelts, 0);
    for (i = 0; i < files->nelts; i++) {
        const cs_function_file_t *f = &APR_ARRAY_IDX(files, i, cs_function_file_t);
        cs_sql_definition_t d;
        apr_size_t pos = 0;
        int line = 1, defs = 0;

        names = apr_pstrcat(it_pool, names, i ? "," : "", "'", f->name, "'", NULL);
        while (cs_sql_next_definition(f->sql, strlen(f->sql), &pos, &line, &d)) {
            if (!strcmp(d.kind, "TRIGGER")) {
                triggers++;
            }
            else if (!strcmp(d.kind, "VIEW")) {
                ck_assert_str_eq(in_db(apr_psprintf(it_pool, "SELECT count(*) FROM pg_views"
                                                    " WHERE viewname = '%s'", f->name)), "1");
            }
            else {
                const char *body = dollar_body(f->sql + pos);
                ck_assert_msg(!strcmp(in_db_param("SELECT count(*) FROM pg_proc WHERE proname = $1"
                                                  " AND prosrc = $2", f->name, body), "1"),
                              "%s line %d: the live body is not the file's", f->file, d.line);
                defs++;
            }
        }
        ck_assert_str_eq(in_db(apr_psprintf(it_pool, "SELECT count(*) FROM pg_proc"
                                            " WHERE proname = '%s'", f->name)),
                         apr_itoa(it_pool, defs));
        /* What the runner recorded is this very file. */
        ck_assert_str_eq(in_db(apr_psprintf(it_pool, "SELECT file || ' ' || checksum"
                                            " FROM schema_functions WHERE name = '%s'",
                                            f->name)),
                         apr_pstrcat(it_pool, f->file, " ", f->checksum, NULL));
    }
    ck_assert_str_eq(in_db("SELECT count(*) FROM schema_functions"),
                     apr_itoa(it_pool, files->nelts));
    /* No function without its file. */
    ck_assert_str_eq(in_db(apr_psprintf(it_pool, "SELECT coalesce(string_agg(proname, ','), '')"
                                        " FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
                                        " AND proname NOT IN (%s)", names)), "");
    /* Every trigger is created by the file of its function, and the files
     * create no other. */
    ck_assert_str_eq(in_db("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"),
                     apr_itoa(it_pool, triggers));
    for (i = 0; i < files->nelts; i++) {
        const cs_function_file_t *f = &APR_ARRAY_IDX(files, i, cs_function_file_t);
        cs_sql_definition_t d;
        apr_size_t pos = 0;
        int line = 1;

        while (cs_sql_next_definition(f->sql, strlen(f->sql), &pos, &line, &d)) {
            if (!strcmp(d.kind, "TRIGGER")) {
                ck_assert_str_eq(in_db(apr_psprintf(it_pool, "SELECT p.proname FROM pg_trigger t"
                                                    " JOIN pg_proc p ON p.oid = t.tgfoid"
                                                    " WHERE t.tgname = '%.*s'",
                                                    (int)d.name_len, d.name)), f->name);
            }
        }
    }
}

/* The real folder's migrations and function files, counted. */
static void real_counts(int *pmigrations, int *pfunctions)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;

    ck_assert_msg(cs_migrate_load(&plan, it_pool, real_sql(), &err) == APR_SUCCESS, "%s", err);
    ck_assert_ptr_nonnull(plan.functions);
    *pmigrations = plan.migrations->nelts;
    *pfunctions = plan.functions->nelts;
}

START_TEST(test_a_fresh_database_ends_with_exactly_the_function_files)
{
    const char *out = migrate(real_sql(), 0);
    int nmig, nfun;

    real_counts(&nmig, &nfun);
    has(out, apr_psprintf(it_pool, "migrations: %d applied", nmig));
    has(out, apr_psprintf(it_pool, "functions: %d applied (every file: a migration ran)", nfun));
    has(out, "applied functions/20_consult_intake_file.sql");
    /* 10_ files come after the ones without a prefix. */
    before(out, "applied functions/consult_sms_opted_out.sql",
           "applied functions/10_consult_inbound_message.sql");
    assert_live_definitions_are_the_files();
    /* The next run changes nothing. */
    out = migrate(real_sql(), 0);
    has(out, apr_psprintf(it_pool, "migrations: 0 applied, %d already up to date", nmig));
    has(out, apr_psprintf(it_pool, "functions: 0 applied, %d unchanged", nfun));
    ck_assert_ptr_null(strstr(out, "applying"));
    /* Every file applies again on top of itself (CREATE OR REPLACE, DROP
     * TRIGGER IF EXISTS): forget them all and run again. */
    db_do("DELETE FROM schema_functions");
    out = migrate(real_sql(), 0);
    has(out, apr_psprintf(it_pool, "functions: %d applied, 0 unchanged", nfun));
    assert_live_definitions_are_the_files();
}
END_TEST

/* A database migrated before sql/functions/ existed (001-005 applied):
 * its migrations are accepted as they are and every function file is
 * applied once. */
START_TEST(test_a_database_from_before_function_files_takes_them_all_once)
{
    apr_array_header_t *old;
    const char *err = NULL, *out;
    int i, nmig, nfun;

    real_counts(&nmig, &nfun);
    ck_assert_int_eq(cs_migrations_load(&old, it_pool, real_sql(), &err), APR_SUCCESS);
    dir = apr_pstrcat(it_pool, dir, "/old", NULL);
    apr_dir_make(dir, APR_OS_DEFAULT, it_pool);
    for (i = 0; i < old->nelts; i++) {
        const cs_migration_t *m = &APR_ARRAY_IDX(old, i, cs_migration_t);
        if (m->version <= CS_MIGRATION_LAST_WITH_FUNCTIONS) {
            write_file(m->name, m->sql);
        }
    }
    out = migrate(dir, 0);
    has(out, "functions: none");
    ck_assert_str_eq(in_db("SELECT to_regclass('schema_functions') IS NULL"), "t");

    /* With 001-005 applied, the real folder's later migrations (if any)
     * run and then every file; without any, every file is new anyway. */
    out = migrate(real_sql(), 0);
    has(out, apr_psprintf(it_pool, "migrations: %d applied, %d already up to date",
                          nmig - CS_MIGRATION_LAST_WITH_FUNCTIONS,
                          CS_MIGRATION_LAST_WITH_FUNCTIONS));
    has(out, apr_psprintf(it_pool, "functions: %d applied", nfun));
    assert_live_definitions_are_the_files();
}
END_TEST

START_TEST(test_a_changed_function_file_is_applied_again_and_only_it)
{
    const char *out, *a_at, *b_at;

    write_function("f_a.sql", fn_sql("f_a", "marker-a1"));
    write_function("f_b.sql", fn_sql("f_b", "marker-b1"));
    write_file("functions/NOTES.md", "not a function file");
    out = migrate(dir, 0);
    has(out, "functions: 2 in ");
    has(out, "functions: 2 applied");
    ck_assert_str_eq(in_db("SELECT f_a() || ' ' || f_b()"), "marker-a1 marker-b1");
    a_at = applied_at("f_a");
    b_at = applied_at("f_b");
    ck_assert_str_ne(a_at, "");

    out = migrate(dir, 0);
    has(out, "functions: 0 applied, 2 unchanged");
    ck_assert_str_eq(applied_at("f_a"), a_at);
    ck_assert_str_eq(applied_at("f_b"), b_at);

    write_function("f_a.sql", fn_sql("f_a", "marker-a2"));
    out = migrate(dir, 0);
    has(out, "applied functions/f_a.sql");
    has(out, "functions: 1 applied, 1 unchanged");
    ck_assert_ptr_null(strstr(out, "f_b.sql"));
    ck_assert_msg(strstr(in_db("SELECT pg_get_functiondef('f_a'::regproc)"), "marker-a2"),
                  "f_a is not the file's");
    ck_assert_str_eq(in_db("SELECT f_a()"), "marker-a2");
    ck_assert_str_ne(applied_at("f_a"), a_at);
    ck_assert_str_eq(applied_at("f_b"), b_at);
    ck_assert_str_eq(in_db("SELECT checksum FROM schema_functions WHERE name = 'f_a'"),
                     cs_sha256_hex(it_pool, fn_sql("f_a", "marker-a2"),
                                   strlen(fn_sql("f_a", "marker-a2"))));
}
END_TEST

START_TEST(test_files_apply_in_prefix_order)
{
    const char *out;

    /* A view over a function: PostgreSQL needs the function first. */
    write_function("10_v_after.sql", "CREATE OR REPLACE VIEW v_after AS SELECT f_base() AS x;\n");
    write_function("f_base.sql", fn_sql("f_base", "base"));
    out = migrate(dir, 0);
    before(out, "applying functions/f_base.sql", "applying functions/10_v_after.sql");
    ck_assert_str_eq(in_db("SELECT x FROM v_after"), "base");
    ck_assert_str_eq(in_db("SELECT file FROM schema_functions WHERE name = 'v_after'"),
                     "10_v_after.sql");
}
END_TEST

START_TEST(test_a_broken_function_file_stops_the_run_naming_it)
{
    const char *out;

    write_function("a_ok.sql", fn_sql("a_ok", "ok"));
    write_function("b_broken.sql", "CREATE OR REPLACE FUNCTION b_broken() RETURNS int"
                   " LANGUAGE sql AS $$ SELEC 1 $$;\n");
    write_function("c_after.sql", fn_sql("c_after", "after"));
    out = migrate(dir, 1);
    has(out, "migration stopped: functions/b_broken.sql failed: ");
    has(out, "syntax error");
    /* The migrations and the file before it are in; it and the rest not. */
    ck_assert_str_eq(in_db("SELECT count(*) FROM schema_migrations"), "2");
    ck_assert_str_eq(in_db("SELECT string_agg(name, ',') FROM schema_functions"), "a_ok");
    ck_assert_str_eq(in_db("SELECT to_regproc('b_broken') IS NULL AND to_regproc('c_after') IS NULL"),
                     "t");

    write_function("b_broken.sql", "CREATE OR REPLACE FUNCTION b_broken() RETURNS int"
                   " LANGUAGE sql AS $$ SELECT 1 $$;\n");
    out = migrate(dir, 0);
    has(out, "functions: 2 applied, 1 unchanged");
    ck_assert_str_eq(in_db("SELECT b_broken() || c_after()"), "1after");
}
END_TEST

START_TEST(test_a_function_file_that_breaks_the_rules_stops_the_run_before_anything)
{
    const char *out;

    write_function("f_plain.sql", "CREATE FUNCTION f_plain() RETURNS int"
                   " LANGUAGE sql AS $$ SELECT 1 $$;\n");
    out = migrate(dir, 1);
    has(out, "f_plain.sql line 1: CREATE FUNCTION f_plain:");
    has(out, "CREATE OR REPLACE FUNCTION");
    ck_assert_str_eq(in_db("SELECT to_regclass('schema_migrations') IS NULL"), "t");

    write_function("f_plain.sql", fn_sql("f_other", "x"));
    out = migrate(dir, 1);
    has(out, "give f_other its own file");
}
END_TEST

START_TEST(test_a_migration_006_defining_a_function_is_refused)
{
    const char *out;

    /* Grandfathered: 001-005 may. */
    write_file("003_old_style.sql", "CREATE FUNCTION old_style() RETURNS int"
               " LANGUAGE sql AS $$ SELECT 3 $$;\n");
    write_file("006_new_style.sql", "ALTER TABLE first_t ADD COLUMN more text;\n"
               "CREATE FUNCTION new_style() RETURNS int LANGUAGE sql AS $$ SELECT 6 $$;\n");
    out = migrate(dir, 1);
    has(out, "006_new_style.sql line 2: CREATE FUNCTION in a migration");
    has(out, "functions, views and triggers live in sql/functions/");
    /* Refused before anything ran. */
    ck_assert_str_eq(in_db("SELECT to_regclass('first_t') IS NULL"), "t");

    write_file("006_new_style.sql", "CREATE OR REPLACE VIEW new_view AS SELECT 1;\n");
    has(migrate(dir, 1), "006_new_style.sql line 1: CREATE OR REPLACE VIEW in a migration");

    /* Dropping one, or naming one in a comment, is fine. */
    write_file("006_new_style.sql", "-- CREATE FUNCTION lives in sql/functions/ now\n"
               "DROP FUNCTION old_style();\n");
    migrate(dir, 0);
    ck_assert_str_eq(in_db("SELECT max(version) FROM schema_migrations"), "6");
    ck_assert_str_eq(in_db("SELECT to_regproc('old_style') IS NULL"), "t");
}
END_TEST

/* A migration can take a function file's work away (here DROP TABLE ...
 * CASCADE takes the trigger with it): after a run that applies a migration,
 * every function file is applied again. */
START_TEST(test_after_a_migration_every_function_file_is_applied_again)
{
    const char *out, *at;

    write_function("first_touch.sql",
                   "CREATE OR REPLACE FUNCTION first_touch() RETURNS trigger LANGUAGE plpgsql"
                   " AS $$ BEGIN NEW.note := 'touched'; RETURN NEW; END $$;\n"
                   "DROP TRIGGER IF EXISTS first_touch ON first_t;\n"
                   "CREATE TRIGGER first_touch BEFORE INSERT ON first_t\n"
                   "    FOR EACH ROW EXECUTE FUNCTION first_touch();\n");
    migrate(dir, 0);
    at = applied_at("first_touch");
    write_file("003_rebuild.sql", "DROP TABLE first_t CASCADE;\n"
               "CREATE TABLE first_t (id int PRIMARY KEY, note text);\n");
    out = migrate(dir, 0);
    has(out, "migrations: 1 applied");
    has(out, "functions: 1 applied (every file: a migration ran), 0 unchanged");
    ck_assert_str_ne(applied_at("first_touch"), at);
    ck_assert_str_eq(in_db("INSERT INTO first_t (id) VALUES (1) RETURNING note"), "touched");
}
END_TEST

START_TEST(test_a_removed_function_file_is_forgotten_and_comes_back)
{
    const char *out, *path;

    write_function("f_keep.sql", fn_sql("f_keep", "keep"));
    write_function("f_gone.sql", fn_sql("f_gone", "gone"));
    migrate(dir, 0);
    path = apr_pstrcat(it_pool, dir, "/functions/f_gone.sql", NULL);
    ck_assert_int_eq(apr_file_remove(path, it_pool), APR_SUCCESS);
    out = migrate(dir, 0);
    has(out, "forgot f_gone");
    has(out, "functions: 0 applied, 1 unchanged");
    ck_assert_str_eq(in_db("SELECT string_agg(name, ',') FROM schema_functions"), "f_keep");
    /* Its function stays until a migration drops it; the file back (as
     * it was) is applied again. */
    ck_assert_str_eq(in_db("SELECT f_gone()"), "gone");
    db_do("DROP FUNCTION f_gone()");
    write_function("f_gone.sql", fn_sql("f_gone", "gone"));
    out = migrate(dir, 0);
    has(out, "functions: 1 applied, 1 unchanged");
    ck_assert_str_eq(in_db("SELECT f_gone()"), "gone");
}
END_TEST

Suite *suite_migrate(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("runner");

    tcase_add_checked_fixture(tc, setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_applies_in_order_then_is_a_no_op);
    tcase_add_test(tc, test_refuses_to_continue_when_an_applied_file_changed);
    tcase_add_test(tc, test_a_failing_migration_leaves_nothing_behind);
    tcase_add_test(tc, test_duplicate_versions_are_refused_before_touching_the_database);
    tcase_add_test(tc, test_the_real_schema_migrates_and_seeds_twice);
    tcase_add_test(tc, test_a_fresh_database_ends_with_exactly_the_function_files);
    tcase_add_test(tc, test_a_database_from_before_function_files_takes_them_all_once);
    tcase_add_test(tc, test_a_changed_function_file_is_applied_again_and_only_it);
    tcase_add_test(tc, test_files_apply_in_prefix_order);
    tcase_add_test(tc, test_a_broken_function_file_stops_the_run_naming_it);
    tcase_add_test(tc, test_a_function_file_that_breaks_the_rules_stops_the_run_before_anything);
    tcase_add_test(tc, test_a_migration_006_defining_a_function_is_refused);
    tcase_add_test(tc, test_after_a_migration_every_function_file_is_applied_again);
    tcase_add_test(tc, test_a_removed_function_file_is_forgotten_and_comes_back);
    suite_add_tcase(s, tc);
    return s;
}
