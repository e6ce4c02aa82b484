/* cs_migrate: migration file names, SHA-256 checksums and loading a
 * folder of NNN_name.sql files. (cs_migrations_apply needs a database and
 * is covered by the integration tests.) */
#include "unit.h"
#include "db/cs_migrate.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
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
    suite_add_tcase(s, tc);

    return s;
}
