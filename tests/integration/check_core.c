/* mod_consult_core over HTTP: health endpoint and serving the sites. */
#include "integ.h"
#include "db/cs_db.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static it_resp_t *get(const char *host, const char *path)
{
    it_req_t req = { 0 };
    req.host = host;
    req.path = path;
    return it_http(&req);
}

START_TEST(test_health_reports_database_round_trip_and_pool)
{
    it_resp_t *r = get("coffee-shop.localhost", "/consult/health");

    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(apr_table_get(r->headers, "Content-Type"),
                     "application/json; charset=utf-8");
    ck_assert_msg(strstr(r->body, "\"status\":\"ok\"") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"rtt_ms\":") != NULL, "%s", r->body);
    /* conf/httpd.conf sets ConsultPoolMax 16 and ConsultPoolMin 1. */
    ck_assert_msg(strstr(r->body, "\"max\":16") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"min\":1") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_health_answers_on_a_vhost_without_client)
{
    it_resp_t *r = get("noclient.localhost", "/consult/health");
    ck_assert_int_eq(r->status, 200);
    r = get("localhost", "/consult/health");
    ck_assert_int_eq(r->status, 200);
}
END_TEST

START_TEST(test_health_refuses_post)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    req.host = "localhost";
    req.path = "/consult/health";
    req.method = "POST";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 405);
    ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "GET, HEAD");
}
END_TEST

START_TEST(test_coffee_shop_site_is_served_with_its_form)
{
    it_resp_t *r = get("coffee-shop.localhost", "/");

    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "action=\"/api/intake\"") != NULL, "no intake form");
    ck_assert_msg(strstr(r->body, "name=\"message\"") != NULL, "no message field");
    ck_assert_int_eq(get("coffee-shop.localhost", "/thanks.html")->status, 200);
    r = get("coffee-shop.localhost", "/no-such-page");
    ck_assert_int_eq(r->status, 404);
    ck_assert_msg(strstr(r->body, "<html") != NULL, "404 page is not the site's");
}
END_TEST

START_TEST(test_unknown_host_gets_the_default_page)
{
    it_resp_t *r = get("nobody.localhost", "/");
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "coffee-shop.localhost") != NULL, "%s", r->body);
    ck_assert_int_eq(get("nobody.localhost", "/api/intake")->status, 404);
}
END_TEST

/* The hot statements are planned once per connection and run by name;
 * a pooler that discards them (DISCARD ALL, as pgbouncer does between
 * clients) costs a second prepare, not a failed post; a name some other
 * SQL holds is taken back; with preparation off nothing is prepared. */
static const cs_db_stmt_t twice_stmt = { "it_twice", "SELECT $1::int * 2", 1 };

static const char *twice(PGconn *conn, const char *n, const char **perr)
{
    const char *params[1] = { n };
    PGresult *res = cs_db_exec_stmt(conn, it_pool, perr, PGRES_TUPLES_OK, &twice_stmt, params);
    const char *out = res ? apr_pstrdup(it_pool, PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return out;
}

static long prepared_here(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'it_twice'");
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Connections skip libpq's Kerberos probe unless the conninfo asks for
 * it: the default is gssencmode=disable, and a conninfo that requires GSS
 * encryption gets it (here, no Kerberos: a clear refusal). */
START_TEST(test_connections_default_to_no_gss_and_the_conninfo_wins)
{
    cs_db_params_t params;
    const char *err = NULL, *mode = NULL;
    PQconninfoOption *opts, *o;
    PGconn *conn;

    cs_db_params_defaults(&params);
    params.conninfo = getenv("CS_TEST_DATABASE");
    conn = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn != NULL, "%s", err);
    opts = PQconninfo(conn);
    for (o = opts; o && o->keyword; o++) {
        if (!strcmp(o->keyword, "gssencmode")) {
            mode = o->val ? apr_pstrdup(it_pool, o->val) : "";
        }
    }
    PQconninfoFree(opts);
    PQfinish(conn);
    ck_assert_str_eq(mode, "disable");

    params.conninfo = apr_pstrcat(it_pool, getenv("CS_TEST_DATABASE"),
                                  " gssencmode=require", NULL);
    ck_assert_ptr_null(cs_db_connect(&params, &err, it_pool));
    ck_assert_msg(strstr(err, "GSS") != NULL, "%s", err);
}
END_TEST

/* A clean-up ROLLBACK or COMMIT that passes no error pointer (checkout
 * does) on a connection the server ended fails quietly, without taking
 * the Apache child down with it. */
START_TEST(test_a_command_on_a_lost_connection_fails_without_an_error_pointer)
{
    cs_db_params_t params;
    const char *err = NULL;
    PGconn *conn, *admin;
    PGresult *res;
    char pid[16];

    cs_db_params_defaults(&params);
    params.conninfo = getenv("CS_TEST_DATABASE");
    conn = cs_db_connect(&params, &err, it_pool);
    admin = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn && admin, "%s", err);
    ck_assert_int_eq(cs_db_command(conn, it_pool, NULL, "BEGIN"), APR_SUCCESS);
    apr_snprintf(pid, sizeof(pid), "%d", PQbackendPID(conn));
    res = cs_db_exec(admin, it_pool, &err, PGRES_TUPLES_OK, "SELECT pg_terminate_backend($1::int, 5000)",
                     1, (const char *const[]){ pid });
    ck_assert_msg(res != NULL, "%s", err);
    PQclear(res);
    PQfinish(admin);
    ck_assert_int_ne(cs_db_command(conn, it_pool, NULL, "COMMIT"), APR_SUCCESS);
    ck_assert_int_ne(cs_db_command(conn, it_pool, NULL, "ROLLBACK"), APR_SUCCESS);
    err = NULL;
    ck_assert_int_ne(cs_db_command(conn, it_pool, &err, "ROLLBACK"), APR_SUCCESS);
    ck_assert_msg(err && *err, "no reason given with a pointer for it");
    PQfinish(conn);
}
END_TEST

START_TEST(test_hot_statements_are_prepared_once_and_survive_a_discard)
{
    cs_db_params_t params;
    const char *err = NULL;
    PGconn *conn;

    cs_db_params_defaults(&params);
    params.conninfo = getenv("CS_TEST_DATABASE");
    conn = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn != NULL, "%s", err);
    ck_assert_str_eq(twice(conn, "21", &err), "42");
    ck_assert_str_eq(twice(conn, "5", &err), "10");
    ck_assert_int_eq(prepared_here(conn), 1);
    PQclear(PQexec(conn, "DISCARD ALL"));
    ck_assert_int_eq(prepared_here(conn), 0);
    ck_assert_str_eq(twice(conn, "3", &err), "6");
    ck_assert_int_eq(prepared_here(conn), 1);
    /* Inside a transaction a lost statement fails the statement (the
     * transaction is aborted; nothing runs twice), and the next use
     * outside it prepares it again. */
    PQclear(PQexec(conn, "DEALLOCATE ALL"));
    PQclear(PQexec(conn, "BEGIN"));
    ck_assert_ptr_null(twice(conn, "4", &err));
    ck_assert_msg(strstr(err, "26000") != NULL, "%s", err);
    PQclear(PQexec(conn, "ROLLBACK"));
    ck_assert_str_eq(twice(conn, "4", &err), "8");
    PQfinish(conn);

    /* The name already taken on the server by other SQL: replaced, so
     * the answer is this statement's. */
    conn = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn != NULL, "%s", err);
    PQclear(PQexec(conn, "PREPARE it_twice (int) AS SELECT 0"));
    ck_assert_str_eq(twice(conn, "9", &err), "18");
    PQfinish(conn);

    /* off (ConsultDatabasePrepare Off): the same answers, nothing kept */
    cs_db_prepare_set(0);
    conn = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn != NULL, "%s", err);
    ck_assert_str_eq(twice(conn, "7", &err), "14");
    ck_assert_int_eq(prepared_here(conn), 0);
    cs_db_prepare_set(1);
    PQfinish(conn);
}
END_TEST

Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("http");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_health_reports_database_round_trip_and_pool);
    tcase_add_test(tc, test_health_answers_on_a_vhost_without_client);
    tcase_add_test(tc, test_health_refuses_post);
    tcase_add_test(tc, test_coffee_shop_site_is_served_with_its_form);
    tcase_add_test(tc, test_unknown_host_gets_the_default_page);
    tcase_add_test(tc, test_hot_statements_are_prepared_once_and_survive_a_discard);
    tcase_add_test(tc, test_connections_default_to_no_gss_and_the_conninfo_wins);
    tcase_add_test(tc, test_a_command_on_a_lost_connection_fails_without_an_error_pointer);
    suite_add_tcase(s, tc);
    return s;
}
