/* The migration runner (consult-admin migrate) against a fresh database. */
#include "integ.h"

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
    suite_add_tcase(s, tc);
    return s;
}
