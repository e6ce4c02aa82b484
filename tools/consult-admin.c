/*
 * consult-admin: the operator's command line.
 *
 *   consult-admin migrate  DIR         apply pending migrations in DIR, then
 *                                      the changed function files of DIR/functions
 *   consult-admin seed     FILE        run an idempotent SQL seed file
 *   consult-admin client-add SLUG NAME create (or rename) a client
 *   consult-admin client-list          list clients
 *
 * The database comes from --db CONNINFO or CONSULT_DATABASE.
 */
#include "db/cs_db.h"
#include "db/cs_migrate.h"
#include "base/cs_conf.h"
#include "auth/cs_auth.h"
#include "text/cs_text.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"
#include "http/cs_http.h"
#include "providers/pos/cs_pos_mock.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void progress(void *baton, const char *line)
{
    (void)baton;
    printf("  %s\n", line);
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: consult-admin [--db CONNINFO] COMMAND ...\n"
            "  migrate DIR           apply pending migrations (NNN_name.sql), then\n"
            "                        the changed files of DIR/functions\n"
            "  seed FILE             run an SQL seed file in one transaction\n"
            "  client-add SLUG NAME  create a client, or rename it\n"
            "  client-list           list clients\n"
            "  correct MESSAGE_ID INTENT [URGENCY]  store a staff correction of a label\n"
            "  user-add EMAIL NAME PASSWORD [--admin]  create a staff user (or reset)\n"
            "  member-add EMAIL CLIENT_SLUG owner|staff  give a user access to a client\n"
            "  corrections-export FILE  write corrections as training JSON lines\n"
            "  pos-86 SLUG ITEM [--undo] [--no-webhook] [--state FILE] [--secret S] [--url URL]\n"
            "                        mark ITEM sold out (--undo: back) at the mock POS and\n"
            "                        send its signed webhook (needs no database)\n"
            "The database defaults to $CONSULT_DATABASE.\n");
    return 2;
}

static int cmd_migrate(PGconn *conn, apr_pool_t *p, const char *dir)
{
    cs_migrate_plan_t plan;
    cs_migrate_result_t res;
    const char *err = NULL;
    int nmig, nfun;

    /* Every file is read and checked before anything is applied. */
    if (cs_migrate_load(&plan, p, dir, &err) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s\n", err);
        return 1;
    }
    nmig = plan.migrations->nelts;
    nfun = plan.functions ? plan.functions->nelts : 0;
    printf("migrations: %d in %s\n", nmig, dir);
    if (plan.functions) {
        printf("functions: %d in %s\n", nfun, plan.functions_dir);
    }
    else {
        printf("functions: none (no %s)\n", plan.functions_dir);
    }
    if (cs_migrate_apply(conn, p, &plan, &res, &err, progress, NULL) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: migration stopped: %s\n", err);
        return 1;
    }
    printf("migrations: %d applied, %d already up to date\n", res.migrations_applied,
           nmig - res.migrations_applied);
    if (plan.functions) {
        printf("functions: %d applied%s, %d unchanged\n", res.functions_applied,
               res.functions_all ? " (every file: a migration ran)" : "",
               nfun - res.functions_applied);
    }
    return 0;
}

static int cmd_seed(PGconn *conn, apr_pool_t *p, const char *file)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *sql;
    PGresult *res;
    char *txn;

    if (apr_file_open(&f, file, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: cannot read %s\n", file);
        return 1;
    }
    n = (apr_size_t)fi.size;
    sql = apr_palloc(p, n + 1);
    if (n && apr_file_read_full(f, sql, n, &n) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: cannot read %s\n", file);
        return 1;
    }
    sql[n] = '\0';
    apr_file_close(f);
    /* The seed is our own file, run with the simple protocol as one
     * transaction so a failing seed changes nothing. */
    txn = apr_pstrcat(p, "BEGIN;\n", sql, "\n;COMMIT;", NULL);
    res = PQexec(conn, txn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "consult-admin: seed %s failed: %s", file,
                PQresultErrorMessage(res));
        PQclear(res);
        return 1;
    }
    PQclear(res);
    printf("seeded %s\n", file);
    return 0;
}

static int cmd_client_add(PGconn *conn, apr_pool_t *p, const char *slug,
                          const char *name)
{
    const char *params[2] = { slug, name };
    const char *err = NULL;
    PGresult *res;

    if (!cs_slug_is_valid(slug)) {
        fprintf(stderr, "consult-admin: '%s' is not a valid slug "
                "(1-63 of a-z, 0-9 and '-')\n", slug);
        return 1;
    }
    if (!*name) {
        fprintf(stderr, "consult-admin: the client name must not be empty\n");
        return 1;
    }
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "INSERT INTO clients (slug, name) VALUES ($1, $2)"
                     " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name"
                     " RETURNING id", 2, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    printf("client %s (%s) has id %s\n", slug, name, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int cmd_client_list(PGconn *conn, apr_pool_t *p)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                               "SELECT id, slug, name FROM clients ORDER BY slug",
                               0, NULL);
    int i;

    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    for (i = 0; i < PQntuples(res); i++) {
        printf("%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2));
    }
    PQclear(res);
    return 0;
}

static int cmd_correct(PGconn *conn, apr_pool_t *p, const char *msg,
                       const char *intent, const char *urgency)
{
    const char *params[4] = { msg, intent, urgency, "consult-admin" };
    const char *err = NULL;
    PGresult *res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                               "SELECT consult_correct_classification("
                               " (SELECT client_id FROM messages WHERE id = $1::bigint),"
                               " $1::bigint, $2, $3, $4)", 4, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    printf("correction %s stored for message %s\n", PQgetvalue(res, 0, 0), msg);
    PQclear(res);
    return 0;
}

/* Corrections as examples for tools/classifier-train; the build reads
 * common/classify/corrections*.jsonl. */
static int cmd_export(PGconn *conn, apr_pool_t *p, const char *file)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
        "SELECT json_build_object('text', c.text, 'intent', c.new_intent,"
        "  'urgency', coalesce(c.new_urgency, 'normal'), 'channel', m.channel)::text"
        " FROM classification_corrections c JOIN messages m ON m.id = c.message_id"
        " ORDER BY c.id", 0, NULL);
    FILE *f;
    int i;

    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    if (!(f = fopen(file, "w"))) {
        fprintf(stderr, "consult-admin: cannot write %s\n", file);
        PQclear(res);
        return 1;
    }
    for (i = 0; i < PQntuples(res); i++) {
        fprintf(f, "%s\n", PQgetvalue(res, i, 0));
    }
    fclose(f);
    printf("%d corrections written to %s\n", PQntuples(res), file);
    PQclear(res);
    return 0;
}

static int cmd_user_add(PGconn *conn, apr_pool_t *p, const char *email,
                        const char *name, const char *password, int admin)
{
    const char *hash = NULL, *norm = NULL, *err = NULL, *params[4];
    PGresult *res;

    if (cs_email_normalize(p, email, &norm) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: '%s' is not a valid email address\n", email);
        return 1;
    }
    if (strlen(password) < 10) {
        fprintf(stderr, "consult-admin: the password must have at least 10 characters\n");
        return 1;
    }
    if (cs_password_hash(&hash, p, password, NULL) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: cannot hash the password\n");
        return 1;
    }
    params[0] = norm;
    params[1] = name;
    params[2] = hash;
    params[3] = admin ? "true" : "false";
    /* The new password and the end of the old one's sessions, together. */
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "WITH u AS (INSERT INTO staff_users (email, name, password_hash, is_agency_admin)"
                     " VALUES ($1, $2, $3, $4::boolean)"
                     " ON CONFLICT (lower(email)) DO UPDATE SET name = EXCLUDED.name,"
                     "  password_hash = EXCLUDED.password_hash,"
                     "  is_agency_admin = EXCLUDED.is_agency_admin, disabled_at = NULL"
                     " RETURNING id),"
                     " gone AS (DELETE FROM sessions s USING u WHERE s.user_id = u.id RETURNING s.id)"
                     " SELECT u.id, (SELECT count(*) FROM gone) FROM u", 4, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    printf("user %s (%s%s) has id %s\n", norm, name, admin ? ", agency admin" : "",
           PQgetvalue(res, 0, 0));
    if (atoi(PQgetvalue(res, 0, 1)) > 0) {
        printf("signed out %s session(s) that used the old password\n", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return 0;
}

static int cmd_member_add(PGconn *conn, apr_pool_t *p, const char *email,
                          const char *slug, const char *role)
{
    const char *params[3] = { email, slug, role }, *err = NULL;
    PGresult *res;

    if (strcmp(role, "owner") && strcmp(role, "staff")) {
        fprintf(stderr, "consult-admin: role must be owner or staff\n");
        return 1;
    }
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "INSERT INTO memberships (user_id, client_id, role)"
                     " SELECT u.id, c.id, $3 FROM staff_users u, clients c"
                     " WHERE lower(u.email) = lower($1) AND c.slug = $2"
                     " ON CONFLICT (user_id, client_id) DO UPDATE SET role = EXCLUDED.role"
                     " RETURNING user_id", 3, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "consult-admin: no user %s or no client %s\n", email, slug);
        PQclear(res);
        return 1;
    }
    printf("%s is %s of %s\n", email, role, slug);
    PQclear(res);
    return 0;
}

/* pos-86: what a restaurant does at its (mock) POS when an item runs out:
 * the POS's own state changes, then the POS tells us by a signed webhook.
 * With --no-webhook only the state changes, and the poll must find it. */
static int cmd_pos_86(apr_pool_t *p, int argc, const char *const *argv)
{
    const char *slug = argv[0], *item = argv[1], *state = NULL, *secret_spec = NULL;
    const char *url = NULL, *secret = NULL, *err = NULL, *var, *port, *body, *sig;
    int undo = 0, webhook = 1, i;
    apr_size_t slen = 0;
    unsigned char rnd[12];
    char id[25];
    cs_json_t *doc, *arr, *one;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    apr_time_t now = apr_time_now();

    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--undo")) undo = 1;
        else if (!strcmp(argv[i], "--no-webhook")) webhook = 0;
        else if (!strcmp(argv[i], "--state") && i + 1 < argc) state = argv[++i];
        else if (!strcmp(argv[i], "--secret") && i + 1 < argc) secret_spec = argv[++i];
        else if (!strcmp(argv[i], "--url") && i + 1 < argc) url = argv[++i];
        else return usage();
    }
    if (!cs_slug_is_valid(slug) || !*item) {
        return usage();
    }
    /* Defaults: what make run uses (conf/sites/SLUG.conf). */
    var = getenv("CONSULT_VAR") ? getenv("CONSULT_VAR") : "var";
    port = getenv("CONSULT_PORT") ? getenv("CONSULT_PORT") : "8080";
    if (!state) state = apr_psprintf(p, "%s/pos/%s.state.json", var, slug);
    if (!url) url = apr_psprintf(p, "http://%s.localhost:%s/webhooks/pos", slug, port);
    if (!secret_spec) secret_spec = apr_psprintf(p, "demo-%s-mock-pos-secret", slug);
    if ((err = cs_conf_secret(p, secret_spec, &secret, &slen))) {
        fprintf(stderr, "consult-admin: --secret: %s\n", err);
        return 1;
    }
    if (cs_pos_mock_set_state(state, item, !undo, p, &err) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s: %s\n", state, err);
        return 1;
    }
    printf("%s: %s is %s at the POS\n", slug, item, undo ? "back" : "sold out");
    if (!webhook) {
        return 0;
    }
    if (cs_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: no randomness\n");
        return 1;
    }
    cs_hex_encode(id, rnd, sizeof(rnd));
    id[24] = '\0';
    doc = cs_json_object(p);
    arr = cs_json_array(p);
    one = cs_json_object(p);
    cs_json_set_str(doc, "event_id", apr_pstrcat(p, "evt_", id, NULL));
    cs_json_set_str(doc, "type", "stock.updated");
    cs_json_set_str(one, "id", item);
    cs_json_set_bool(one, "sold_out", !undo);
    cs_json_append(arr, one);
    cs_json_set_obj(doc, "sold_out", arr);
    body = cs_json_dump(doc, p);
    sig = cs_pos_mock_sign(p, secret, now, body, strlen(body));
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.body = body;
    req.content_type = "application/json";
    req.headers = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = apr_pstrcat(p, CS_POS_MOCK_SIG_HEADER, ": ", sig, NULL);
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s: %s (the poll will still find the change)\n", url, err);
        return 1;
    }
    printf("webhook %s: %ld %s\n", url, resp->status, resp->body);
    return resp->status / 100 == 2 ? 0 : 1;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    cs_db_params_t params;
    const char *err = NULL, *cmd;
    PGconn *conn;
    int i = 1, rc;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    cs_db_params_defaults(&params);
    params.conninfo = getenv("CONSULT_DATABASE");
    params.application_name = "consult-admin";
    if (argc > 2 && !strcmp(argv[1], "--db")) {
        params.conninfo = argv[2];
        i = 3;
    }
    if (i >= argc) {
        return usage();
    }
    cmd = argv[i++];
    if (!strcmp(cmd, "pos-86")) {
        if (argc - i < 2) return usage();
        rc = cmd_pos_86(p, argc - i, argv + i);
        apr_pool_destroy(p);
        return rc;
    }
    if (!params.conninfo) {
        fprintf(stderr, "consult-admin: no database: pass --db CONNINFO or set "
                "CONSULT_DATABASE\n");
        return 2;
    }
    if (!((!strcmp(cmd, "migrate") && argc - i == 1)
          || (!strcmp(cmd, "seed") && argc - i == 1)
          || (!strcmp(cmd, "client-add") && argc - i == 2)
          || (!strcmp(cmd, "client-list") && argc - i == 0)
          || (!strcmp(cmd, "correct") && (argc - i == 2 || argc - i == 3))
          || (!strcmp(cmd, "corrections-export") && argc - i == 1)
          || (!strcmp(cmd, "user-add") && (argc - i == 3
                                           || (argc - i == 4 && !strcmp(argv[i + 3], "--admin"))))
          || (!strcmp(cmd, "member-add") && argc - i == 3))) {
        return usage();
    }
    conn = cs_db_connect(&params, &err, p);
    if (!conn) {
        fprintf(stderr, "consult-admin: cannot connect: %s", err);
        return 1;
    }
    /* Keep the server's NOTICEs (IF NOT EXISTS ...) out of the output. */
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    if (!strcmp(cmd, "migrate")) rc = cmd_migrate(conn, p, argv[i]);
    else if (!strcmp(cmd, "seed")) rc = cmd_seed(conn, p, argv[i]);
    else if (!strcmp(cmd, "client-add")) rc = cmd_client_add(conn, p, argv[i], argv[i + 1]);
    else if (!strcmp(cmd, "correct"))
        rc = cmd_correct(conn, p, argv[i], argv[i + 1], argc - i == 3 ? argv[i + 2] : NULL);
    else if (!strcmp(cmd, "corrections-export")) rc = cmd_export(conn, p, argv[i]);
    else if (!strcmp(cmd, "user-add"))
        rc = cmd_user_add(conn, p, argv[i], argv[i + 1], argv[i + 2], argc - i == 4);
    else if (!strcmp(cmd, "member-add"))
        rc = cmd_member_add(conn, p, argv[i], argv[i + 1], argv[i + 2]);
    else rc = cmd_client_list(conn, p);
    PQfinish(conn);
    apr_pool_destroy(p);
    return rc;
}
