/* cs_migrate: migration and function file names, SHA-256 checksums,
 * loading a folder of NNN_name.sql files and one of function files, finding
 * CREATE FUNCTION/VIEW/TRIGGER in SQL, and the rules built on it (no
 * function in a migration from 006 on; a function file defines its own
 * function with CREATE OR REPLACE). The real sql/ folder is checked too.
 * (Applying needs a database and is covered by the integration tests.) */
#include "unit.h"
#include "db/cs_migrate.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* ---- fixture: a pool and an empty temporary folder ----------------------- */

static void migrate_setup(void)
{
    unit_tmpdir_setup("cs_migrate_unit");
}

static void migrate_teardown(void)
{
    unit_tmpdir_teardown();
}


static const cs_migration_t *mig_at(const apr_array_header_t *list, int i)
{
    ck_assert_int_lt(i, list->nelts);
    return &APR_ARRAY_IDX(list, i, cs_migration_t);
}

static apr_array_header_t *load_ok(void)
{
    apr_array_header_t *list = NULL;
    const char *err = NULL;
    apr_status_t rv = cs_migrations_load(&list, unit_pool, unit_tmpdir, &err);

    ck_assert_msg(rv == APR_SUCCESS, "load failed: %s", err ? err : "(no message)");
    ck_assert_ptr_nonnull(list);
    return list;
}

/* ---- file names ---------------------------------------------------------- */

START_TEST(test_version_of_well_formed_names)
{
    ck_assert_int_eq(cs_migration_version("001_init.sql"), 1);
    ck_assert_int_eq(cs_migration_version("002_add-index.sql"), 2);
    ck_assert_int_eq(cs_migration_version("42_x.sql"), 42);
    ck_assert_int_eq(cs_migration_version("1_a.sql"), 1);
    ck_assert_int_eq(cs_migration_version("0010_clients_v2.sql"), 10);
    ck_assert_int_eq(cs_migration_version("003_a_b-c_9.sql"), 3);
}
END_TEST

START_TEST(test_version_up_to_999999_accepted_1000000_rejected)
{
    ck_assert_int_eq(cs_migration_version("999999_last.sql"), 999999);
    ck_assert_int_eq(cs_migration_version("1000000_x.sql"), -1);
    ck_assert_int_eq(cs_migration_version("99999999999999999999_x.sql"), -1);
}
END_TEST

START_TEST(test_version_zero_is_rejected)
{
    ck_assert_int_eq(cs_migration_version("0_init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("000_init.sql"), -1);
}
END_TEST

START_TEST(test_version_needs_digits_underscore_and_name)
{
    ck_assert_int_eq(cs_migration_version("init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("_init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001-init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_"), -1);
    ck_assert_int_eq(cs_migration_version("001"), -1);
    ck_assert_int_eq(cs_migration_version(""), -1);
}
END_TEST

START_TEST(test_version_needs_lowercase_sql_extension)
{
    ck_assert_int_eq(cs_migration_version("001_init"), -1);
    ck_assert_int_eq(cs_migration_version("001_init.SQL"), -1);
    ck_assert_int_eq(cs_migration_version("001_init.sql.bak"), -1);
    ck_assert_int_eq(cs_migration_version("001_init.sql~"), -1);
    ck_assert_int_eq(cs_migration_version("001_init.txt"), -1);
    ck_assert_int_eq(cs_migration_version("001_init.sqlx"), -1);
}
END_TEST

START_TEST(test_version_rejects_other_characters_in_the_name)
{
    ck_assert_int_eq(cs_migration_version("001_Init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_in it.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_in.it.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_init!.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_caf\xc3\xa9.sql"), -1);
    ck_assert_int_eq(cs_migration_version("001_../x.sql"), -1);
    ck_assert_int_eq(cs_migration_version(" 001_init.sql"), -1);
    ck_assert_int_eq(cs_migration_version("+001_init.sql"), -1);
    ck_assert_int_eq(cs_migration_version(".001_init.sql"), -1);
}
END_TEST

/* ---- checksums ----------------------------------------------------------- */

START_TEST(test_sha256_of_abc_is_the_fips_digest)
{
    ck_assert_str_eq(cs_sha256_hex(unit_pool, "abc", 3), SHA256_ABC);
}
END_TEST

START_TEST(test_sha256_of_empty_input)
{
    ck_assert_str_eq(cs_sha256_hex(unit_pool, "", 0), SHA256_EMPTY);
}
END_TEST

START_TEST(test_sha256_uses_len_not_the_nul)
{
    ck_assert_str_eq(cs_sha256_hex(unit_pool, "abc", 2),
                     "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");
    ck_assert_str_ne(cs_sha256_hex(unit_pool, "ab\0c", 4),
                     cs_sha256_hex(unit_pool, "ab", 2));
}
END_TEST

START_TEST(test_sha256_of_a_million_a)
{
    ck_assert_str_eq(cs_sha256_hex(unit_pool, unit_repeat(unit_pool, "a", 1000000),
                                   1000000),
                     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_sha256_is_64_lowercase_hex)
{
    const char *h = cs_sha256_hex(unit_pool, "\xff\x00\x10", 3);
    ck_assert_uint_eq(strlen(h), 64);
    ck_assert_uint_eq(strspn(h, "0123456789abcdef"), 64);
}
END_TEST

/* ---- loading a folder ---------------------------------------------------- */

START_TEST(test_load_returns_files_sorted_by_version)
{
    apr_array_header_t *list;

    unit_put_file("010_ten.sql", "SELECT 10;\n");
    unit_put_file("002_two.sql", "SELECT 2;\n");
    unit_put_file("1_one.sql", "abc");
    unit_put_file("0003_three.sql", "SELECT 3;\n");
    list = load_ok();
    ck_assert_int_eq(list->nelts, 4);
    ck_assert_int_eq(mig_at(list, 0)->version, 1);
    ck_assert_str_eq(mig_at(list, 0)->name, "1_one.sql");
    ck_assert_int_eq(mig_at(list, 1)->version, 2);
    ck_assert_str_eq(mig_at(list, 1)->name, "002_two.sql");
    ck_assert_int_eq(mig_at(list, 2)->version, 3);
    ck_assert_str_eq(mig_at(list, 2)->name, "0003_three.sql");
    ck_assert_int_eq(mig_at(list, 3)->version, 10);
    ck_assert_str_eq(mig_at(list, 3)->name, "010_ten.sql");
}
END_TEST

START_TEST(test_load_reads_path_sql_and_checksum)
{
    apr_array_header_t *list;
    const cs_migration_t *m;

    unit_put_file("001_init.sql", "abc");
    list = load_ok();
    ck_assert_int_eq(list->nelts, 1);
    m = mig_at(list, 0);
    ck_assert_str_eq(m->path, apr_pstrcat(unit_pool, unit_tmpdir, "/001_init.sql", NULL));
    ck_assert_str_eq(m->sql, "abc");
    ck_assert_str_eq(m->checksum, SHA256_ABC);
}
END_TEST

START_TEST(test_load_keeps_multi_statement_file_verbatim)
{
    const char *sql = "-- two statements\nCREATE TABLE t (id int);\n"
                      "INSERT INTO t VALUES (1);\n";
    apr_array_header_t *list;

    unit_put_file("005_t.sql", sql);
    list = load_ok();
    ck_assert_str_eq(mig_at(list, 0)->sql, sql);
    ck_assert_str_eq(mig_at(list, 0)->checksum,
                     cs_sha256_hex(unit_pool, sql, strlen(sql)));
}
END_TEST

START_TEST(test_load_empty_file_has_empty_sql_and_digest)
{
    apr_array_header_t *list;

    unit_put_file("001_empty.sql", "");
    list = load_ok();
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(mig_at(list, 0)->sql, "");
    ck_assert_str_eq(mig_at(list, 0)->checksum, SHA256_EMPTY);
}
END_TEST

START_TEST(test_load_ignores_files_that_are_not_migrations)
{
    apr_array_header_t *list;

    unit_put_file("README.md", "notes");
    unit_put_file("001_init.sql", "SELECT 1;");
    unit_put_file("001_init.sql.bak", "old");
    unit_put_file("002_Upper.sql", "x");
    unit_put_file("000_zero.sql", "x");
    unit_put_file("seed.sql", "x");
    unit_put_file(".003_hidden.sql", "x");
    unit_put_file("004_next.sql", "SELECT 4;");
    list = load_ok();
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_str_eq(mig_at(list, 0)->name, "001_init.sql");
    ck_assert_str_eq(mig_at(list, 1)->name, "004_next.sql");
}
END_TEST

START_TEST(test_load_ignores_folders_named_like_migrations)
{
    apr_array_header_t *list;

    unit_put_dir("002_folder.sql");
    unit_put_dir("seed");
    unit_put_file("001_init.sql", "SELECT 1;");
    list = load_ok();
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_int_eq(mig_at(list, 0)->version, 1);
}
END_TEST

START_TEST(test_load_of_empty_folder_is_an_empty_list)
{
    ck_assert_int_eq(load_ok()->nelts, 0);
}
END_TEST

START_TEST(test_load_two_files_with_one_version_is_an_error_naming_both)
{
    apr_array_header_t *list = (apr_array_header_t *)(void *)&unit_tmpdir;
    const char *err = NULL;

    unit_put_file("001_init.sql", "SELECT 1;");
    unit_put_file("002_a.sql", "SELECT 2;");
    unit_put_file("02_b.sql", "SELECT 2;");
    unit_put_file("003_c.sql", "SELECT 3;");
    ck_assert_int_eq(cs_migrations_load(&list, unit_pool, unit_tmpdir, &err), APR_EINVAL);
    ck_assert_ptr_null(list);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "002_a.sql") && strstr(err, "02_b.sql")
                  && strstr(err, "have the same version number"), "message: %s", err);
}
END_TEST

START_TEST(test_load_missing_folder_is_an_error_naming_it)
{
    apr_array_header_t *list = (apr_array_header_t *)(void *)&unit_tmpdir;
    const char *err = NULL;
    const char *missing = apr_pstrcat(unit_pool, unit_tmpdir, "/nope", NULL);

    ck_assert_int_ne(cs_migrations_load(&list, unit_pool, missing, &err), APR_SUCCESS);
    ck_assert_ptr_null(list);
    ck_assert_str_eq(err, apr_pstrcat(unit_pool, "cannot open migrations folder ",
                                      missing, NULL));
}
END_TEST

/* ---- function file names ------------------------------------------------ */

static int fname(const char *file, const char **pname)
{
    *pname = NULL;
    return cs_function_file_name(file, pname, unit_pool);
}

START_TEST(test_function_file_name_without_prefix_is_order_zero)
{
    const char *name;

    ck_assert_int_eq(fname("consult_find_contact.sql", &name), 0);
    ck_assert_str_eq(name, "consult_find_contact");
    ck_assert_int_eq(fname("x.sql", &name), 0);
    ck_assert_str_eq(name, "x");
    ck_assert_int_eq(fname("_private_v2.sql", &name), 0);
    ck_assert_str_eq(name, "_private_v2");
}
END_TEST

START_TEST(test_function_file_name_prefix_is_the_order)
{
    const char *name;

    ck_assert_int_eq(fname("10_consult_intake_submit.sql", &name), 10);
    ck_assert_str_eq(name, "consult_intake_submit");
    ck_assert_int_eq(fname("010_x.sql", &name), 10);
    ck_assert_str_eq(name, "x");
    ck_assert_int_eq(fname("0_x.sql", &name), 0);
    ck_assert_int_eq(fname("999999_x.sql", &name), 999999);
    ck_assert_int_eq(fname("1000000_x.sql", &name), -1);
    ck_assert_int_eq(cs_function_file_name("20_y.sql", NULL, unit_pool), 20);
}
END_TEST

START_TEST(test_function_file_name_must_be_an_identifier_and_sql)
{
    const char *name;

    ck_assert_int_eq(fname("Consult_x.sql", &name), -1);
    ck_assert_ptr_null(name);
    ck_assert_int_eq(fname("consult-x.sql", &name), -1);
    ck_assert_int_eq(fname("consult x.sql", &name), -1);
    ck_assert_int_eq(fname("consult.x.sql", &name), -1);
    ck_assert_int_eq(fname("10_.sql", &name), -1);
    ck_assert_int_eq(fname("10_2x.sql", &name), -1);
    ck_assert_int_eq(fname("10x.sql", &name), -1);
    ck_assert_int_eq(fname("10.sql", &name), -1);
    ck_assert_int_eq(fname(".sql", &name), -1);
    ck_assert_int_eq(fname(".x.sql", &name), -1);
    ck_assert_int_eq(fname("x.SQL", &name), -1);
    ck_assert_int_eq(fname("x.sql~", &name), -1);
    ck_assert_int_eq(fname("x.sql.bak", &name), -1);
    ck_assert_int_eq(fname("x", &name), -1);
    ck_assert_int_eq(fname("", &name), -1);
    ck_assert_int_eq(fname("caf\xc3\xa9.sql", &name), -1);
    ck_assert_int_eq(fname("../x.sql", &name), -1);
}
END_TEST

/* ---- finding definitions in SQL ------------------------------------------ */

/* Every definition of @p sql as "LINE:CREATE [OR REPLACE ]KIND name;". */
static const char *defs(const char *sql)
{
    cs_sql_definition_t d;
    apr_size_t pos = 0, len = strlen(sql), last = 0;
    const char *out = "";
    int line = 1;

    while (cs_sql_next_definition(sql, len, &pos, &line, &d)) {
        ck_assert_uint_gt(pos, last);
        ck_assert_uint_le(pos, len);
        last = pos;
        out = apr_psprintf(unit_pool, "%s%d:CREATE %s%s %.*s;", out, d.line,
                           d.or_replace ? "OR REPLACE " : "", d.kind,
                           (int)d.name_len, d.name ? d.name : "");
    }
    ck_assert_uint_eq(pos, len);
    return out;
}

START_TEST(test_definitions_found_with_line_kind_and_name)
{
    ck_assert_str_eq(defs("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
                          "CREATE TABLE t (id int);\n"
                          "create or replace view v AS SELECT 1;\n"
                          "CREATE TRIGGER t_x AFTER INSERT ON t\n"
                          "    FOR EACH ROW EXECUTE FUNCTION f();\n"
                          "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ $$;\n"),
                     "1:CREATE FUNCTION f;3:CREATE OR REPLACE VIEW v;"
                     "4:CREATE TRIGGER t_x;6:CREATE OR REPLACE PROCEDURE p;");
}
END_TEST

START_TEST(test_definitions_across_lines_and_cases_and_schemas)
{
    ck_assert_str_eq(defs("\n\n  Create\n  Or\n  Replace\n  Function public.consult_x(a int)"),
                     "3:CREATE OR REPLACE FUNCTION consult_x;");
    ck_assert_str_eq(defs("CREATE OR REPLACE TEMP VIEW a AS SELECT 1;"
                          "CREATE TEMPORARY RECURSIVE VIEW b (n) AS SELECT 1;"
                          "CREATE RECURSIVE VIEW c (n) AS SELECT 1;"
                          "CREATE CONSTRAINT TRIGGER d AFTER INSERT ON t"
                          " FOR EACH ROW EXECUTE FUNCTION f();"
                          "CREATE OR REPLACE TRIGGER e AFTER INSERT ON t"
                          " FOR EACH ROW EXECUTE FUNCTION f();"),
                     "1:CREATE OR REPLACE VIEW a;1:CREATE VIEW b;1:CREATE VIEW c;"
                     "1:CREATE TRIGGER d;1:CREATE OR REPLACE TRIGGER e;");
    /* No name after it: found, nameless. */
    ck_assert_str_eq(defs("CREATE FUNCTION \"Quoted\"()"), "1:CREATE FUNCTION ;");
    ck_assert_str_eq(defs("CREATE VIEW"), "1:CREATE VIEW ;");
}
END_TEST

START_TEST(test_definitions_other_creates_are_not_definitions)
{
    ck_assert_str_eq(defs("CREATE TABLE function (id int);\n"
                          "CREATE INDEX view_idx ON t (id);\n"
                          "CREATE MATERIALIZED VIEW mv AS SELECT 1;\n"
                          "CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION f();\n"
                          "CREATE OR REPLACE RULE r AS ON INSERT TO t DO NOTHING;\n"
                          "CREATE OR FUNCTION x();\n"
                          "ALTER FUNCTION f() SET search_path = public;\n"
                          "DROP FUNCTION IF EXISTS f(int);\n"
                          "DROP VIEW v; DROP TRIGGER IF EXISTS t_x ON t;\n"
                          "COMMENT ON FUNCTION f() IS 'CREATE FUNCTION';\n"
                          "SELECT create_function, createfunction FROM t;\n"
                          "CREATE; FUNCTION f();\n"
                          "CREATE TYPE view AS (function int);\n"),
                     "");
}
END_TEST

START_TEST(test_definitions_in_comments_strings_and_bodies_are_skipped)
{
    ck_assert_str_eq(defs("-- CREATE FUNCTION in_a_line_comment()\n"
                          "/* CREATE FUNCTION in_a_block /* nested */ CREATE VIEW still */\n"
                          "SELECT 'CREATE FUNCTION in_a_string', 'it''s CREATE VIEW v';\n"
                          "SELECT E'\\' CREATE FUNCTION escaped', e'\\\\';\n"
                          "SELECT \"CREATE FUNCTION quoted\" FROM t;\n"
                          "DO $$ BEGIN EXECUTE 'x'; END $$; -- CREATE VIEW\n"
                          "DO $$ CREATE FUNCTION in_a_body() $$;\n"
                          "DO $body$ $$ CREATE FUNCTION inner() $$ $body$;\n"
                          "PREPARE q AS SELECT $1; SELECT a$b$c FROM t;\n"
                          "CREATE VIEW after_all_that AS SELECT 1;\n"),
                     "10:CREATE VIEW after_all_that;");
    /* A function's body is skipped; its trigger after it is found. */
    ck_assert_str_eq(defs("CREATE OR REPLACE FUNCTION g() RETURNS trigger AS $fn$\n"
                          "BEGIN\n  -- no CREATE TRIGGER here\n  RETURN NEW;\nEND\n$fn$;\n"
                          "DROP TRIGGER IF EXISTS g_t ON t;\n"
                          "CREATE TRIGGER g_t AFTER INSERT ON t FOR EACH ROW"
                          " EXECUTE FUNCTION g();\n"),
                     "1:CREATE OR REPLACE FUNCTION g;8:CREATE TRIGGER g_t;");
}
END_TEST

START_TEST(test_definitions_unterminated_text_ends_the_scan)
{
    ck_assert_str_eq(defs("SELECT 'open CREATE FUNCTION f()"), "");
    ck_assert_str_eq(defs("/* open /* CREATE FUNCTION f() */"), "");
    ck_assert_str_eq(defs("DO $x$ CREATE FUNCTION f() $x"), "");
    ck_assert_str_eq(defs("SELECT E'\\"), "");
    ck_assert_str_eq(defs("SELECT \"x"), "");
    ck_assert_str_eq(defs("CREATE OR"), "");
    ck_assert_str_eq(defs("CREATE OR REPLACE"), "");
    ck_assert_str_eq(defs("CREATE"), "");
    ck_assert_str_eq(defs(""), "");
    ck_assert_str_eq(defs("$"), "");
    ck_assert_str_eq(defs("-"), "");
}
END_TEST

START_TEST(test_definitions_respect_the_length)
{
    const char *sql = "CREATE VIEW a AS SELECT 1; CREATE VIEW b AS SELECT 2;";
    cs_sql_definition_t d;
    apr_size_t pos = 0;
    int line = 1;

    /* Only the first 26 bytes are SQL here. */
    ck_assert_int_eq(cs_sql_next_definition(sql, 26, &pos, &line, &d), 1);
    ck_assert_str_eq(d.kind, "VIEW");
    ck_assert_int_eq(cs_sql_next_definition(sql, 26, &pos, &line, &d), 0);
    ck_assert_uint_eq(pos, 26);
    /* The name is cut at the length too. */
    pos = 0;
    ck_assert_int_eq(cs_sql_next_definition(sql, 13, &pos, &line, &d), 1);
    ck_assert_uint_eq(d.name_len, 1);
}
END_TEST

/* ---- the rule for migrations --------------------------------------------- */

static cs_migration_t mig(int version, const char *name, const char *sql)
{
    cs_migration_t m;
    m.version = version;
    m.name = name;
    m.path = name;
    m.sql = sql;
    m.checksum = "";
    return m;
}

START_TEST(test_migrations_up_to_005_may_define_functions)
{
    cs_migration_t m = mig(5, "005_x.sql", "CREATE FUNCTION f() RETURNS int"
                           " LANGUAGE sql AS 'SELECT 1';\nCREATE VIEW v AS SELECT 1;");
    ck_assert_int_eq(CS_MIGRATION_LAST_WITH_FUNCTIONS, 5);
    ck_assert_ptr_null(cs_migration_refusal(unit_pool, &m));
    m = mig(1, "001_x.sql", m.sql);
    ck_assert_ptr_null(cs_migration_refusal(unit_pool, &m));
}
END_TEST

START_TEST(test_migrations_from_006_may_not_define_functions)
{
    static const char *const bad[] = {
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        "CREATE OR REPLACE VIEW v AS SELECT 1;",
        "CREATE VIEW v AS SELECT 1;",
        "CREATE PROCEDURE p() LANGUAGE sql AS $$ $$;",
        "CREATE TRIGGER t_x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();",
    };
    static const char *const stmt[] = {
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", "CREATE OR REPLACE VIEW",
        "CREATE VIEW", "CREATE PROCEDURE", "CREATE TRIGGER",
    };
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        const char *sql = apr_pstrcat(unit_pool, "ALTER TABLE t ADD COLUMN c int;\n", bad[i], NULL);
        cs_migration_t m = mig(6, "006_next.sql", sql);
        const char *why = cs_migration_refusal(unit_pool, &m);
        ck_assert_msg(why != NULL, "%s was let through", bad[i]);
        ck_assert_msg(strstr(why, "006_next.sql line 2: ") == why
                      && strstr(why, apr_pstrcat(unit_pool, ": ", stmt[i], " in a migration", NULL))
                      && strstr(why, "functions, views and triggers live in sql/functions/"),
                      "message: %s", why);
        m = mig(123, "123_later.sql", sql);
        ck_assert_ptr_nonnull(cs_migration_refusal(unit_pool, &m));
    }
}
END_TEST

START_TEST(test_migrations_from_006_may_drop_alter_and_mention_functions)
{
    cs_migration_t m = mig(6, "006_ok.sql",
                           "-- consult_x moves to sql/functions/ (CREATE OR REPLACE FUNCTION)\n"
                           "DROP FUNCTION IF EXISTS consult_x(bigint);\n"
                           "DROP TRIGGER IF EXISTS t_x ON t;\n"
                           "ALTER TABLE t ADD COLUMN c int;\n"
                           "COMMENT ON TABLE t IS 'see CREATE VIEW v';\n"
                           "DO $$ BEGIN PERFORM 1; END $$;\n"
                           "CREATE MATERIALIZED VIEW mv AS SELECT 1;\n");
    ck_assert_ptr_null(cs_migration_refusal(unit_pool, &m));
}
END_TEST

START_TEST(test_load_refuses_a_migration_006_with_a_function)
{
    apr_array_header_t *list = (apr_array_header_t *)(void *)&unit_tmpdir;
    const char *err = NULL;

    unit_put_file("005_old.sql", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n");
    unit_put_file("006_new.sql", "-- a helper\n\nCREATE OR REPLACE FUNCTION g() RETURNS int"
                  " LANGUAGE sql AS 'SELECT 2';\n");
    ck_assert_int_eq(cs_migrations_load(&list, unit_pool, unit_tmpdir, &err), APR_EINVAL);
    ck_assert_ptr_null(list);
    ck_assert_msg(err && strstr(err, "006_new.sql line 3: CREATE OR REPLACE FUNCTION in a migration")
                  && strstr(err, "sql/functions/"), "message: %s", err);
}
END_TEST

/* ---- the rule for function files ----------------------------------------- */

static const char *ffile_refusal(const char *file, const char *sql)
{
    cs_function_file_t f;

    f.order = cs_function_file_name(file, &f.name, unit_pool);
    ck_assert_int_ge(f.order, 0);
    f.file = file;
    f.path = file;
    f.sql = sql;
    f.checksum = "";
    return cs_function_file_refusal(unit_pool, &f);
}

START_TEST(test_function_file_defines_its_function_or_view_with_or_replace)
{
    ck_assert_ptr_null(ffile_refusal("f.sql", "-- f\nCREATE OR REPLACE FUNCTION f() RETURNS int"
                                     " LANGUAGE sql AS 'SELECT 1';\n"));
    ck_assert_ptr_null(ffile_refusal("10_f.sql", "CREATE OR REPLACE FUNCTION public.F(a int)"
                                     " RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
                                     "CREATE OR REPLACE FUNCTION f(a text) RETURNS int"
                                     " LANGUAGE sql AS 'SELECT 2';\n"));
    ck_assert_ptr_null(ffile_refusal("v.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n"));
    ck_assert_ptr_null(ffile_refusal("p.sql", "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql"
                                     " AS $$ $$;\n"));
    /* A trigger function and its trigger, made idempotent. */
    ck_assert_ptr_null(ffile_refusal("g.sql", "CREATE OR REPLACE FUNCTION g() RETURNS trigger"
                                     " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
                                     "DROP TRIGGER IF EXISTS t_g ON t;\n"
                                     "CREATE TRIGGER t_g AFTER INSERT ON t FOR EACH ROW"
                                     " EXECUTE FUNCTION g();\n"));
}
END_TEST

START_TEST(test_function_file_without_or_replace_is_refused)
{
    const char *why = ffile_refusal("f.sql", "\nCREATE FUNCTION f() RETURNS int"
                                    " LANGUAGE sql AS 'SELECT 1';\n");
    ck_assert_msg(why && strstr(why, "f.sql line 2: CREATE FUNCTION f:")
                  && strstr(why, "CREATE OR REPLACE FUNCTION"), "message: %s", why);
    why = ffile_refusal("v.sql", "CREATE VIEW v AS SELECT 1;\n");
    ck_assert_msg(why && strstr(why, "CREATE OR REPLACE VIEW"), "message: %s", why);
}
END_TEST

START_TEST(test_function_file_defining_another_function_is_refused)
{
    const char *why = ffile_refusal("10_f.sql", "CREATE OR REPLACE FUNCTION f() RETURNS int"
                                    " LANGUAGE sql AS 'SELECT 1';\n"
                                    "CREATE OR REPLACE FUNCTION g() RETURNS int"
                                    " LANGUAGE sql AS 'SELECT 2';\n");
    ck_assert_msg(why && strstr(why, "10_f.sql line 2: CREATE OR REPLACE FUNCTION g:")
                  && strstr(why, "give g its own file"), "message: %s", why);
    why = ffile_refusal("f.sql", "CREATE OR REPLACE VIEW f_view AS SELECT 1;\n");
    ck_assert_msg(why && strstr(why, "f_view"), "message: %s", why);
}
END_TEST

START_TEST(test_function_file_defining_nothing_is_refused)
{
    const char *why = ffile_refusal("f.sql", "-- CREATE OR REPLACE FUNCTION f()\nSELECT 1;\n");
    ck_assert_msg(why && strstr(why, "f.sql defines no function or view f"), "message: %s", why);
    ck_assert_ptr_nonnull(ffile_refusal("f.sql", ""));
}
END_TEST

/* ---- loading a folder of function files ---------------------------------- */

static const cs_function_file_t *fn_at(const apr_array_header_t *list, int i)
{
    ck_assert_int_lt(i, list->nelts);
    return &APR_ARRAY_IDX(list, i, cs_function_file_t);
}

static const char *fn_def(const char *name)
{
    return apr_psprintf(unit_pool, "CREATE OR REPLACE FUNCTION %s() RETURNS int"
                        " LANGUAGE sql AS 'SELECT 1';\n", name);
}

static apr_array_header_t *fn_load_ok(void)
{
    apr_array_header_t *list = NULL;
    const char *err = NULL;
    apr_status_t rv = cs_functions_load(&list, unit_pool, unit_tmpdir, &err);

    ck_assert_msg(rv == APR_SUCCESS, "load failed: %s", err ? err : "(no message)");
    ck_assert_ptr_nonnull(list);
    return list;
}

static const char *fn_load_error(void)
{
    apr_array_header_t *list = (apr_array_header_t *)(void *)&unit_tmpdir;
    const char *err = NULL;

    ck_assert_int_ne(cs_functions_load(&list, unit_pool, unit_tmpdir, &err), APR_SUCCESS);
    ck_assert_ptr_null(list);
    ck_assert_ptr_nonnull(err);
    return err;
}

START_TEST(test_functions_load_orders_by_prefix_then_name)
{
    apr_array_header_t *list;
    const char *order = "";
    int i;

    unit_put_file("b.sql", fn_def("b"));
    unit_put_file("10_c.sql", fn_def("c"));
    unit_put_file("a.sql", fn_def("a"));
    unit_put_file("5_e.sql", fn_def("e"));
    unit_put_file("10_a2.sql", fn_def("a2"));
    unit_put_file("0_d.sql", fn_def("d"));
    unit_put_file("9_z.sql", fn_def("z"));
    list = fn_load_ok();
    for (i = 0; i < list->nelts; i++) {
        order = apr_pstrcat(unit_pool, order, i ? "," : "", fn_at(list, i)->file, NULL);
    }
    /* No prefix is 0; 9 before 10 (numbers, not text). */
    ck_assert_str_eq(order, "a.sql,b.sql,0_d.sql,5_e.sql,9_z.sql,10_a2.sql,10_c.sql");
    ck_assert_int_eq(fn_at(list, 5)->order, 10);
    ck_assert_str_eq(fn_at(list, 5)->name, "a2");
}
END_TEST

START_TEST(test_functions_load_reads_path_sql_and_checksum)
{
    const char *sql = fn_def("consult_x");
    const cs_function_file_t *f;
    apr_array_header_t *list;

    unit_put_file("20_consult_x.sql", sql);
    list = fn_load_ok();
    ck_assert_int_eq(list->nelts, 1);
    f = fn_at(list, 0);
    ck_assert_int_eq(f->order, 20);
    ck_assert_str_eq(f->name, "consult_x");
    ck_assert_str_eq(f->file, "20_consult_x.sql");
    ck_assert_str_eq(f->path, apr_pstrcat(unit_pool, unit_tmpdir, "/20_consult_x.sql", NULL));
    ck_assert_str_eq(f->sql, sql);
    ck_assert_str_eq(f->checksum, cs_sha256_hex(unit_pool, sql, strlen(sql)));
}
END_TEST

START_TEST(test_functions_load_ignores_notes_hidden_and_folders)
{
    apr_array_header_t *list;

    unit_put_file("README.md", "notes");
    unit_put_file("f.sql~", "editor backup");
    unit_put_file("f.sql.orig", "merge leftover");
    unit_put_file(".f.sql.swp", "x");
    unit_put_file(".hidden.sql", "x");
    unit_put_dir("old.sql");
    unit_put_file("f.sql", fn_def("f"));
    list = fn_load_ok();
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(fn_at(list, 0)->file, "f.sql");
}
END_TEST

START_TEST(test_functions_load_of_empty_folder_is_an_empty_list)
{
    ck_assert_int_eq(fn_load_ok()->nelts, 0);
}
END_TEST

START_TEST(test_functions_load_a_misnamed_sql_file_is_an_error_naming_it)
{
    const char *err;

    unit_put_file("f.sql", fn_def("f"));
    unit_put_file("Consult-X.sql", fn_def("x"));
    err = fn_load_error();
    ck_assert_msg(strstr(err, "/Consult-X.sql: a function file is named [NN_]name.sql"),
                  "message: %s", err);
}
END_TEST

START_TEST(test_functions_load_two_files_for_one_name_is_an_error_naming_both)
{
    const char *err;

    unit_put_file("consult_x.sql", fn_def("consult_x"));
    unit_put_file("10_consult_x.sql", fn_def("consult_x"));
    err = fn_load_error();
    ck_assert_msg(strstr(err, "consult_x.sql and ") && strstr(err, "10_consult_x.sql")
                  && strstr(err, "both define consult_x"), "message: %s", err);
}
END_TEST

START_TEST(test_functions_load_a_refused_file_is_an_error_naming_it)
{
    const char *err;

    unit_put_file("a.sql", fn_def("a"));
    unit_put_file("b.sql", "CREATE FUNCTION b() RETURNS int LANGUAGE sql AS 'SELECT 1';\n");
    err = fn_load_error();
    ck_assert_msg(strstr(err, "b.sql line 1: CREATE FUNCTION b:"), "message: %s", err);
}
END_TEST

START_TEST(test_functions_load_missing_folder_is_enoent_naming_it)
{
    apr_array_header_t *list = (apr_array_header_t *)(void *)&unit_tmpdir;
    const char *err = NULL;
    const char *missing = apr_pstrcat(unit_pool, unit_tmpdir, "/functions", NULL);

    ck_assert(APR_STATUS_IS_ENOENT(cs_functions_load(&list, unit_pool, missing, &err)));
    ck_assert_ptr_null(list);
    ck_assert_str_eq(err, apr_pstrcat(unit_pool, "cannot open functions folder ", missing, NULL));
}
END_TEST

/* ---- a run's plan: migrations and functions/ beside them ----------------- */

START_TEST(test_plan_finds_functions_next_to_the_migrations)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;

    unit_put_file("001_init.sql", "CREATE TABLE t (id int);\n");
    unit_put_dir("functions");
    unit_put_file("functions/f.sql", fn_def("f"));
    unit_put_file("functions/10_g.sql", fn_def("g"));
    ck_assert_msg(cs_migrate_load(&plan, unit_pool, unit_tmpdir, &err) == APR_SUCCESS,
                  "%s", err);
    ck_assert_str_eq(plan.dir, unit_tmpdir);
    ck_assert_str_eq(plan.functions_dir, apr_pstrcat(unit_pool, unit_tmpdir, "/functions", NULL));
    ck_assert_int_eq(plan.migrations->nelts, 1);
    ck_assert_ptr_nonnull(plan.functions);
    ck_assert_int_eq(plan.functions->nelts, 2);
    ck_assert_str_eq(fn_at(plan.functions, 1)->file, "10_g.sql");
    /* "sql/" as well as "sql": no doubled slash in what is shown. */
    ck_assert_msg(cs_migrate_load(&plan, unit_pool, apr_pstrcat(unit_pool, unit_tmpdir, "/", NULL),
                                  &err) == APR_SUCCESS, "%s", err);
    ck_assert_str_eq(plan.functions_dir, apr_pstrcat(unit_pool, unit_tmpdir, "/functions", NULL));
    ck_assert_str_eq(fn_at(plan.functions, 0)->path,
                     apr_pstrcat(unit_pool, unit_tmpdir, "/functions/f.sql", NULL));
    ck_assert_str_eq(mig_at(plan.migrations, 0)->path,
                     apr_pstrcat(unit_pool, unit_tmpdir, "/001_init.sql", NULL));
}
END_TEST

START_TEST(test_plan_without_functions_folder_has_no_functions)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;

    unit_put_file("001_init.sql", "CREATE TABLE t (id int);\n");
    ck_assert_int_eq(cs_migrate_load(&plan, unit_pool, unit_tmpdir, &err), APR_SUCCESS);
    ck_assert_int_eq(plan.migrations->nelts, 1);
    ck_assert_ptr_null(plan.functions);
}
END_TEST

START_TEST(test_plan_stops_on_a_bad_function_file)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;

    unit_put_file("001_init.sql", "CREATE TABLE t (id int);\n");
    unit_put_dir("functions");
    unit_put_file("functions/f.sql", "CREATE OR REPLACE FUNCTION g() RETURNS int"
                  " LANGUAGE sql AS 'SELECT 1';\n");
    ck_assert_int_eq(cs_migrate_load(&plan, unit_pool, unit_tmpdir, &err), APR_EINVAL);
    ck_assert_msg(err && strstr(err, "give g its own file"), "message: %s", err);
}
END_TEST

/* ---- the real sql/ folder ------------------------------------------------ */

static const char *source_sql(void)
{
    const char *root = getenv("CS_SOURCE_ROOT");
    return apr_pstrcat(unit_pool, root && *root ? root : ".", "/sql", NULL);
}

START_TEST(test_real_sql_folder_loads_under_the_rules)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;

    ck_assert_msg(cs_migrate_load(&plan, unit_pool, source_sql(), &err) == APR_SUCCESS,
                  "%s (run from the source root or set CS_SOURCE_ROOT)", err);
    ck_assert_int_ge(plan.migrations->nelts, 5);
    ck_assert_ptr_nonnull(plan.functions);
    ck_assert_int_gt(plan.functions->nelts, 0);
}
END_TEST

/* Every function, view and trigger the grandfathered migrations define has
 * its live definition in sql/functions/: a function or view in the file
 * named after it (or a function file drops it), a trigger in some file. */
START_TEST(test_real_sql_every_old_definition_has_its_function_file)
{
    cs_migrate_plan_t plan;
    const char *err = NULL;
    apr_hash_t *files = apr_hash_make(unit_pool);
    int i, checked = 0;

    ck_assert_msg(cs_migrate_load(&plan, unit_pool, source_sql(), &err) == APR_SUCCESS,
                  "%s", err);
    for (i = 0; i < plan.functions->nelts; i++) {
        apr_hash_set(files, fn_at(plan.functions, i)->name, APR_HASH_KEY_STRING,
                     fn_at(plan.functions, i));
    }
    for (i = 0; i < plan.migrations->nelts; i++) {
        const cs_migration_t *m = mig_at(plan.migrations, i);
        cs_sql_definition_t d;
        apr_size_t pos = 0;
        int line = 1;

        while (cs_sql_next_definition(m->sql, strlen(m->sql), &pos, &line, &d)) {
            const char *name = apr_pstrmemdup(unit_pool, d.name, d.name_len);
            ck_assert_msg(m->version <= CS_MIGRATION_LAST_WITH_FUNCTIONS,
                          "%s defines %s", m->name, name);
            if (!strcmp(d.kind, "TRIGGER")) {
                /* DROP TRIGGER IF EXISTS name ... CREATE TRIGGER name, in a file */
                apr_hash_index_t *hi;
                int found = 0;
                for (hi = apr_hash_first(unit_pool, files); hi && !found; hi = apr_hash_next(hi)) {
                    const cs_function_file_t *f = apr_hash_this_val(hi);
                    found = strstr(f->sql, apr_pstrcat(unit_pool, "CREATE TRIGGER ", name,
                                                       " ", NULL))
                            && strstr(f->sql, apr_pstrcat(unit_pool, "DROP TRIGGER IF EXISTS ",
                                                          name, " ", NULL));
                }
                ck_assert_msg(found, "trigger %s (%s line %d) is in no file of sql/functions/"
                              " (with DROP TRIGGER IF EXISTS)", name, m->name, d.line);
            }
            else if (!apr_hash_get(files, name, APR_HASH_KEY_STRING)) {
                /* Or a function file drops it (a function that is gone,
                 * with the one that called it). */
                const char *drop = apr_pstrcat(unit_pool, "DROP FUNCTION IF EXISTS ", name, "(",
                                               NULL);
                int j, dropped = 0;
                for (j = 0; j < plan.functions->nelts && !dropped; j++) {
                    dropped = strstr(fn_at(plan.functions, j)->sql, drop) != NULL;
                }
                ck_assert_msg(dropped, "%s %s (%s line %d) has no sql/functions/%s.sql and no"
                              " function file drops it", d.kind, name, m->name, d.line, name);
            }
            checked++;
        }
    }
    /* Newer function files have no old definition; the loop must still
     * have found every old one (14 in 001-005), or it proved nothing. */
    ck_assert_int_ge(checked, 14);
}
END_TEST

Suite *migrate_suite(void)
{
    Suite *s = suite_create("cs_migrate");
    TCase *tc;

    tc = tcase_create("file_names");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_version_of_well_formed_names);
    tcase_add_test(tc, test_version_up_to_999999_accepted_1000000_rejected);
    tcase_add_test(tc, test_version_zero_is_rejected);
    tcase_add_test(tc, test_version_needs_digits_underscore_and_name);
    tcase_add_test(tc, test_version_needs_lowercase_sql_extension);
    tcase_add_test(tc, test_version_rejects_other_characters_in_the_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("checksums");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_sha256_of_abc_is_the_fips_digest);
    tcase_add_test(tc, test_sha256_of_empty_input);
    tcase_add_test(tc, test_sha256_uses_len_not_the_nul);
    tcase_add_test(tc, test_sha256_of_a_million_a);
    tcase_add_test(tc, test_sha256_is_64_lowercase_hex);
    suite_add_tcase(s, tc);

    tc = tcase_create("load_folder");
    tcase_add_checked_fixture(tc, migrate_setup, migrate_teardown);
    tcase_add_test(tc, test_load_returns_files_sorted_by_version);
    tcase_add_test(tc, test_load_reads_path_sql_and_checksum);
    tcase_add_test(tc, test_load_keeps_multi_statement_file_verbatim);
    tcase_add_test(tc, test_load_empty_file_has_empty_sql_and_digest);
    tcase_add_test(tc, test_load_ignores_files_that_are_not_migrations);
    tcase_add_test(tc, test_load_ignores_folders_named_like_migrations);
    tcase_add_test(tc, test_load_of_empty_folder_is_an_empty_list);
    tcase_add_test(tc, test_load_two_files_with_one_version_is_an_error_naming_both);
    tcase_add_test(tc, test_load_missing_folder_is_an_error_naming_it);
    tcase_add_test(tc, test_load_refuses_a_migration_006_with_a_function);
    suite_add_tcase(s, tc);

    tc = tcase_create("function_file_names");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_function_file_name_without_prefix_is_order_zero);
    tcase_add_test(tc, test_function_file_name_prefix_is_the_order);
    tcase_add_test(tc, test_function_file_name_must_be_an_identifier_and_sql);
    suite_add_tcase(s, tc);

    tc = tcase_create("sql_definitions");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_definitions_found_with_line_kind_and_name);
    tcase_add_test(tc, test_definitions_across_lines_and_cases_and_schemas);
    tcase_add_test(tc, test_definitions_other_creates_are_not_definitions);
    tcase_add_test(tc, test_definitions_in_comments_strings_and_bodies_are_skipped);
    tcase_add_test(tc, test_definitions_unterminated_text_ends_the_scan);
    tcase_add_test(tc, test_definitions_respect_the_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_migrations_up_to_005_may_define_functions);
    tcase_add_test(tc, test_migrations_from_006_may_not_define_functions);
    tcase_add_test(tc, test_migrations_from_006_may_drop_alter_and_mention_functions);
    tcase_add_test(tc, test_function_file_defines_its_function_or_view_with_or_replace);
    tcase_add_test(tc, test_function_file_without_or_replace_is_refused);
    tcase_add_test(tc, test_function_file_defining_another_function_is_refused);
    tcase_add_test(tc, test_function_file_defining_nothing_is_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("load_functions");
    tcase_add_checked_fixture(tc, migrate_setup, migrate_teardown);
    tcase_add_test(tc, test_functions_load_orders_by_prefix_then_name);
    tcase_add_test(tc, test_functions_load_reads_path_sql_and_checksum);
    tcase_add_test(tc, test_functions_load_ignores_notes_hidden_and_folders);
    tcase_add_test(tc, test_functions_load_of_empty_folder_is_an_empty_list);
    tcase_add_test(tc, test_functions_load_a_misnamed_sql_file_is_an_error_naming_it);
    tcase_add_test(tc, test_functions_load_two_files_for_one_name_is_an_error_naming_both);
    tcase_add_test(tc, test_functions_load_a_refused_file_is_an_error_naming_it);
    tcase_add_test(tc, test_functions_load_missing_folder_is_enoent_naming_it);
    tcase_add_test(tc, test_plan_finds_functions_next_to_the_migrations);
    tcase_add_test(tc, test_plan_without_functions_folder_has_no_functions);
    tcase_add_test(tc, test_plan_stops_on_a_bad_function_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("real_sql");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_real_sql_folder_loads_under_the_rules);
    tcase_add_test(tc, test_real_sql_every_old_definition_has_its_function_file);
    suite_add_tcase(s, tc);

    return s;
}
