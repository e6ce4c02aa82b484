/*
 * consult-admin: the operator's command line.
 *
 *   consult-admin migrate  DIR         apply pending migrations in DIR, then
 *                                      the changed function files of DIR/functions
 *   consult-admin seed     FILE        run an idempotent SQL seed file
 *   consult-admin client-add SLUG NAME create (or rename) a client
 *   consult-admin client-list          list clients
 *   consult-admin site-new SLUG --name NAME --vertical VERTICAL ...
 *                                      a new client site (tools/site-new.c)
 *   consult-admin simulate sms|voicemail CLIENT --from NUMBER ...
 *                                      what Twilio sends for a text or a
 *                                      call, signed, to the client's vhost
 *
 * The database comes from --db CONNINFO or CONSULT_DATABASE.
 */
#include "consult-admin.h"
#include "db/cs_db.h"
#include "db/cs_migrate.h"
#include "base/cs_conf.h"
#include "auth/cs_auth.h"
#include "text/cs_text.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"
#include "http/cs_http.h"
#include "providers/pos/cs_pos_mock.h"
#include "providers/cs_twilio.h"

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void progress(void *baton, const char *line)
{
    (void)baton;
    printf("  %s\n", line);
    fflush(stdout);
}

/* --help prints this on stdout and succeeds; a wrong call prints it on
 * stderr and exits 2. */
static int usage_to(FILE *out, int rc)
{
    fprintf(out,
            "usage: consult-admin [--db CONNINFO] COMMAND ...\n"
            "  migrate DIR           apply pending migrations (NNN_name.sql), then\n"
            "                        the changed files of DIR/functions\n"
            "  seed FILE             run an SQL seed file in one transaction\n"
            "  client-add SLUG NAME  create a client, or rename it\n"
            "  client-list           list clients\n"
            "  site-new SLUG --name NAME --vertical VERTICAL [--owner EMAIL] [--force] [--root DIR]\n"
            "                        a new client site: the client, its owner's account,\n"
            "                        conf/sites/SLUG.conf on the vertical's preset\n"
            "                        (conf/presets) and htdocs/SLUG/ from templates/sites;\n"
            "                        refuses a slug in use unless --force\n"
            "  correct MESSAGE_ID INTENT [URGENCY]  store a staff correction of a label\n"
            "  user-add EMAIL NAME [--password-stdin] [--admin|--no-admin] [--enable]\n"
            "                        create a staff user, or set a new password (asked on\n"
            "                        the terminal, or the first line of stdin); an existing\n"
            "                        user keeps admin unless --no-admin, stays disabled\n"
            "                        unless --enable\n"
            "  member-add EMAIL CLIENT_SLUG owner|staff  give a user access to a client\n"
            "  corrections-export [--force] FILE  write corrections as training JSON lines\n"
            "                        (with client and vertical); refuses a FILE inside a\n"
            "                        git checkout unless --force\n"
            "  pos-86 SLUG ITEM [--undo] [--no-webhook] [--state FILE] [--secret S] [--url URL]\n"
            "                        mark ITEM sold out (--undo: back) at the mock POS and\n"
            "                        send its signed webhook (needs no database)\n"
            "  simulate sms CLIENT --from NUMBER --body TEXT [--url URL]\n"
            "  simulate voicemail CLIENT --from NUMBER [--transcript TEXT] [--url URL]\n"
            "                        post what Twilio sends for a text or a call (the\n"
            "                        webhooks, signed as Twilio signs) to the client's vhost,\n"
            "                        by default at make run (conf/demo/CLIENT.conf has its\n"
            "                        Twilio settings); needs no database\n"
            "The database defaults to $CONSULT_DATABASE. Manual: man consult-admin.\n");
    return rc;
}

static int usage(void)
{
    return usage_to(stderr, 2);
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

/* ---- corrections-export ------------------------------------------------ */

/* The git work tree @p dir is in (the folder holding .git, a directory or a
 * worktree's file), or NULL. */
static const char *checkout_of(apr_pool_t *p, const char *dir)
{
    char *real = realpath(dir, NULL), *at;
    const char *found = NULL;
    struct stat sb;

    if (!real) {
        return NULL;
    }
    for (;;) {
        if (stat(apr_pstrcat(p, real, "/.git", NULL), &sb) == 0) {
            found = apr_pstrdup(p, real);
            break;
        }
        if (!(at = strrchr(real, '/')) || at == real) {
            break;
        }
        *at = '\0';
    }
    free(real);
    return found;
}

/* corrections-export [--force] FILE: staff corrections as training lines
 * for tools/classifier-train, each with the client it came from and that
 * client's vertical when one is known, so the trainer can weigh one
 * client's corrections against everyone's. The lines hold customers'
 * words: there is no default place, the file is readable by its owner
 * only, written whole (a build reading it never sees half), and a path
 * inside a git checkout (where `git add` could take it) is refused unless
 * --force (.gitignore covers common/classify/corrections*.jsonl). */
static int cmd_export(PGconn *conn, apr_pool_t *p, int argc, const char *const *argv)
{
    const char *file = NULL, *err = NULL, *dir, *base, *repo, *tmp;
    int force = 0, fd, i, bad = 0;
    PGresult *res;
    FILE *f;

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (!file && argv[i][0] != '-') file = argv[i];
        else return usage();
    }
    if (!file || !*file) {
        return usage();
    }
    base = strrchr(file, '/');
    dir = base ? (base == file ? "/" : apr_pstrmemdup(p, file, base - file)) : ".";
    base = base ? base + 1 : file;
    if (!*base) {
        fprintf(stderr, "consult-admin: %s names a folder, not a file\n", file);
        return 1;
    }
    if ((repo = checkout_of(p, dir)) && !force) {
        fprintf(stderr, "consult-admin: %s is inside the git checkout %s: corrections hold "
                "customers' words; write them elsewhere (make CORRECTIONS=FILE trains on "
                "them) or pass --force\n", file, repo);
        return 1;
    }
    if (strncmp(base, "corrections", 11)) {
        fprintf(stderr, "consult-admin: note: classifier-train weighs a file as staff "
                "corrections only when its name starts with \"corrections\"\n");
    }
    /* The client's vertical: a clients.vertical column when there is one
     * (to_jsonb reads it without naming it), else the vertical the message
     * was classified for. */
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
        "SELECT c.text, c.new_intent, coalesce(c.new_urgency, 'normal'), m.channel, cl.slug,"
        "       coalesce(to_jsonb(cl) ->> 'vertical', m.classification ->> 'vertical')"
        "  FROM classification_corrections c JOIN messages m ON m.id = c.message_id"
        "  JOIN clients cl ON cl.id = c.client_id ORDER BY c.id", 0, NULL);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    tmp = apr_pstrcat(p, dir, "/.", base, ".XXXXXX", NULL);
    if ((fd = mkstemp((char *)tmp)) < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "consult-admin: cannot write in %s: %s\n", dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        PQclear(res);
        return 1;
    }
    for (i = 0; i < PQntuples(res); i++) {
        cs_json_t *o = cs_json_object(p);
        int k;
        static const char *const keys[] = { "text", "intent", "urgency", "channel", "client",
                                            "vertical" };
        for (k = 0; k < 6; k++) {
            if (!PQgetisnull(res, i, k)) {
                cs_json_set_str(o, keys[k], PQgetvalue(res, i, k));
            }
        }
        bad |= fprintf(f, "%s\n", cs_json_dump(o, p)) < 0;
    }
    bad |= fflush(f) != 0 || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, file) != 0) {
        fprintf(stderr, "consult-admin: cannot write %s: %s\n", file, strerror(errno));
        unlink(tmp);
        PQclear(res);
        return 1;
    }
    printf("%d corrections written to %s\n", PQntuples(res), file);
    PQclear(res);
    return 0;
}

/* ---- user-add ------------------------------------------------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(int sig)
{
    if (tty_changed) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from @p in, without its line end, into @p buf; 0 on none. */
static int read_line(FILE *in, char *buf, size_t size)
{
    size_t n;

    if (!fgets(buf, (int)size, in)) {
        return 0;
    }
    n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n') {
        int c;
        while ((c = fgetc(in)) != EOF && c != '\n') {}
        cs_cleanse(buf, size);
        return -1;      /* longer than any password we take */
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return 1;
}

/* Asked on the terminal without echo, twice. */
static int prompt_password(const char *email, char *buf, size_t size)
{
    char again[1024];
    struct termios quiet;
    int ok, rc = 0, tries;

    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
        return 0;
    }
    quiet = saved_tty;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    signal(SIGINT, restore_tty);
    signal(SIGTERM, restore_tty);
    signal(SIGHUP, restore_tty);
    for (tries = 0; tries < 3 && !rc; tries++) {
        fprintf(stderr, "New password for %s: ", email);
        fflush(stderr);
        tty_changed = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        ok = read_line(stdin, buf, size) > 0;
        if (ok) {
            fprintf(stderr, "Again: ");
            fflush(stderr);
            ok = read_line(stdin, again, sizeof(again)) > 0;
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
        tty_changed = 0;
        if (!ok) {
            break;
        }
        if (strcmp(buf, again)) {
            fprintf(stderr, "consult-admin: the two passwords differ\n");
            cs_cleanse(buf, size);
            continue;
        }
        rc = 1;
    }
    cs_cleanse(again, sizeof(again));
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    return rc;
}

/* user-add EMAIL NAME [--password-stdin] [--admin|--no-admin] [--enable]:
 * creates a staff user, or gives an existing one this name and a new
 * password (their sessions end). The password never comes from the
 * command line, where ps shows it: the first line of stdin with
 * --password-stdin, else asked on the terminal. An existing user keeps
 * their agency admin rights unless --no-admin, and stays disabled unless
 * --enable; what changed is printed. */
static int cmd_user_add(PGconn *conn, apr_pool_t *p, int argc, const char *const *argv)
{
    const char *email = argv[0], *name = argv[1], *hash = NULL, *norm = NULL, *err = NULL;
    const char *params[5];
    int from_stdin = 0, admin = -1, enable = 0, i, got;
    char password[1024];
    PGresult *res;

    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--password-stdin")) from_stdin = 1;
        else if (!strcmp(argv[i], "--admin") && admin != 0) admin = 1;
        else if (!strcmp(argv[i], "--no-admin") && admin != 1) admin = 0;
        else if (!strcmp(argv[i], "--enable")) enable = 1;
        else if (argv[i][0] != '-') {
            fprintf(stderr, "consult-admin: user-add takes no password on the command line "
                    "(ps shows it to everyone): pass --password-stdin and give it on stdin, "
                    "or run it on a terminal to be asked\n");
            return 2;
        }
        else if (!strcmp(argv[i], "--admin") || !strcmp(argv[i], "--no-admin")) {
            fprintf(stderr, "consult-admin: --admin and --no-admin together\n");
            return 2;
        }
        else return usage();
    }
    if (cs_email_normalize(p, email, &norm) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: '%s' is not a valid email address\n", email);
        return 1;
    }
    if (from_stdin) {
        got = read_line(stdin, password, sizeof(password));
    }
    else if (isatty(STDIN_FILENO)) {
        got = prompt_password(norm, password, sizeof(password));
    }
    else {
        fprintf(stderr, "consult-admin: no password: give it on stdin with --password-stdin, "
                "or run on a terminal to be asked\n");
        return 2;
    }
    if (got <= 0 || !*password) {
        fprintf(stderr, "consult-admin: no password read%s\n",
                got < 0 ? " (longer than 1023 bytes)" : "");
        return 1;
    }
    if (strlen(password) < 10) {
        cs_cleanse(password, sizeof(password));
        fprintf(stderr, "consult-admin: the password must have at least 10 characters\n");
        return 1;
    }
    if (cs_password_hash(&hash, p, password, NULL) != APR_SUCCESS) {
        cs_cleanse(password, sizeof(password));
        fprintf(stderr, "consult-admin: cannot hash the password\n");
        return 1;
    }
    cs_cleanse(password, sizeof(password));
    params[0] = norm;
    params[1] = name;
    params[2] = hash;
    params[3] = admin < 0 ? NULL : admin ? "true" : "false";
    params[4] = enable ? "true" : "false";
    /* The new password and the end of the old one's sessions, together;
     * the old row (read in the same snapshot) says what changed. */
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "WITH old AS (SELECT id, name, is_agency_admin, disabled_at IS NOT NULL AS off"
                     "               FROM staff_users WHERE lower(email) = lower($1)),"
                     " u AS (INSERT INTO staff_users (email, name, password_hash, is_agency_admin)"
                     " VALUES ($1, $2, $3, coalesce($4::boolean, false))"
                     " ON CONFLICT (lower(email)) DO UPDATE SET name = EXCLUDED.name,"
                     "  password_hash = EXCLUDED.password_hash,"
                     "  is_agency_admin = coalesce($4::boolean, staff_users.is_agency_admin),"
                     "  disabled_at = CASE WHEN $5::boolean THEN NULL ELSE staff_users.disabled_at END"
                     " RETURNING id, is_agency_admin, disabled_at IS NOT NULL AS off),"
                     " gone AS (DELETE FROM sessions s USING u WHERE s.user_id = u.id RETURNING s.id)"
                     " SELECT u.id, u.is_agency_admin, u.off, old.id IS NOT NULL, old.name,"
                     "        old.is_agency_admin, old.off, (SELECT count(*) FROM gone)"
                     "   FROM u LEFT JOIN old ON true", 5, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    if (PQgetvalue(res, 0, 3)[0] != 't') {
        printf("created user %s (%s), id %s%s\n", norm, name, PQgetvalue(res, 0, 0),
               PQgetvalue(res, 0, 1)[0] == 't' ? ", agency admin" : "");
    }
    else {
        int was_admin = PQgetvalue(res, 0, 5)[0] == 't', is_admin = PQgetvalue(res, 0, 1)[0] == 't';
        int was_off = PQgetvalue(res, 0, 6)[0] == 't', is_off = PQgetvalue(res, 0, 2)[0] == 't';
        printf("updated user %s, id %s:\n  password changed\n", norm, PQgetvalue(res, 0, 0));
        if (strcmp(PQgetvalue(res, 0, 4), name)) {
            printf("  name: %s -> %s\n", PQgetvalue(res, 0, 4), name);
        }
        if (was_admin && is_admin) printf("  still an agency admin (--no-admin to remove)\n");
        else if (is_admin) printf("  now an agency admin\n");
        else if (was_admin) printf("  no longer an agency admin\n");
        if (was_off && is_off) printf("  still disabled (--enable to enable it)\n");
        else if (was_off) printf("  enabled again\n");
    }
    if (atoi(PQgetvalue(res, 0, 7)) > 0) {
        printf("signed out %s session(s) that used the old password\n", PQgetvalue(res, 0, 7));
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

/* ---- simulate: Twilio's side of a text or a call, for a demo ------------ */

/* A client's Twilio settings as its vhost has them. */
typedef struct {
    const char *account, *number, *token_spec, *public_url;
} sim_twilio_t;

/* ${NAME} replaced as Apache does, from the environment; make run's
 * CONSULT_PORT and CONSULT_VAR default to what it uses. */
static const char *sim_subst(apr_pool_t *p, const char *s)
{
    const char *out = "", *at, *end;

    while ((at = strstr(s, "${")) && (end = strchr(at, '}'))) {
        const char *name = apr_pstrmemdup(p, at + 2, end - at - 2), *v = getenv(name);
        if (!v && !strcmp(name, "CONSULT_PORT")) v = "8080";
        if (!v && !strcmp(name, "CONSULT_VAR")) v = "var";
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, at - s),
                          v ? v : apr_pstrmemdup(p, at, end - at + 1), NULL);
        s = end + 1;
    }
    return apr_pstrcat(p, out, s, NULL);
}

/* The Consult Twilio directives of an Apache configuration file (the first
 * of each), filling what @p t does not have yet. */
static int sim_read_conf(apr_pool_t *p, const char *file, sim_twilio_t *t)
{
    static const char *const names[] = { "ConsultTwilioAccountSid", "ConsultTwilioNumber",
                                         "ConsultTwilioAuthToken", "ConsultTwilioPublicURL" };
    const char **slots[] = { &t->account, &t->number, &t->token_spec, &t->public_url };
    char line[4096];
    FILE *f = fopen(file, "r");

    if (!f) return -1;
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *e;
        apr_size_t i, n;
        while (*s == ' ' || *s == '\t') s++;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            n = strlen(names[i]);
            if (strncasecmp(s, names[i], n) || (s[n] != ' ' && s[n] != '\t') || *slots[i]) {
                continue;
            }
            s += n;
            while (*s == ' ' || *s == '\t') s++;
            e = s + strlen(s);
            while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            if (e - s >= 2 && *s == '"' && e[-1] == '"') { s++; e--; }
            *slots[i] = sim_subst(p, apr_pstrmemdup(p, s, e - s));
        }
    }
    fclose(f);
    return 0;
}

static void sim_add(apr_array_header_t *params, const char *key, const char *value)
{
    cs_pair_t *kv = apr_array_push(params);
    kv->key = key;
    kv->value = value;
    kv->value_len = strlen(value);
}

/* A Twilio SID: two letters and 32 hex digits. */
static const char *sim_sid(apr_pool_t *p, const char *prefix)
{
    unsigned char rnd[16];
    char hex[33];
    if (cs_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: no randomness\n");
        exit(1);
    }
    cs_hex_encode(hex, rnd, sizeof(rnd));
    hex[32] = '\0';
    return apr_pstrcat(p, prefix, hex, NULL);
}

/* Form encoding as Twilio sends it: space '+', all but ALPHA DIGIT -._~ %XX. */
static const char *sim_form(apr_pool_t *p, const apr_array_header_t *params)
{
    apr_size_t cap = 1, i;
    char *out, *o;

    for (i = 0; i < (apr_size_t)params->nelts; i++) {
        const cs_pair_t *kv = &APR_ARRAY_IDX(params, i, cs_pair_t);
        cap += 3 * (strlen(kv->key) + kv->value_len) + 2;
    }
    o = out = apr_palloc(p, cap);
    for (i = 0; i < (apr_size_t)params->nelts; i++) {
        const cs_pair_t *kv = &APR_ARRAY_IDX(params, i, cs_pair_t);
        const char *parts[2] = { kv->key, kv->value }, *c;
        int k;
        if (i) *o++ = '&';
        for (k = 0; k < 2; k++) {
            if (k) *o++ = '=';
            for (c = parts[k]; *c; c++) {
                unsigned char ch = (unsigned char)*c;
                if (apr_isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') *o++ = (char)ch;
                else if (ch == ' ') *o++ = '+';
                else o += sprintf(o, "%%%02X", ch);
            }
        }
    }
    *o = '\0';
    return out;
}

/* @p len bytes of XML text with its entities decoded. */
static const char *sim_unxml(apr_pool_t *p, const char *in, apr_size_t len)
{
    static const char *const ent[][2] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
                                          { "&quot;", "\"" }, { "&apos;", "'" }, { "&#39;", "'" } };
    const char *at = in, *end = in + len;
    char *out = apr_palloc(p, len + 1), *o = out;

    while (at < end) {
        apr_size_t k, n = 0;
        for (k = 0; k < sizeof(ent) / sizeof(ent[0]); k++) {
            n = strlen(ent[k][0]);
            if ((apr_size_t)(end - at) >= n && !strncmp(at, ent[k][0], n)) break;
        }
        if (k < sizeof(ent) / sizeof(ent[0])) { *o++ = ent[k][1][0]; at += n; }
        else *o++ = *at++;
    }
    *o = '\0';
    return out;
}

/* The value of attribute @p name of the first <Record> in @p twiml, or NULL. */
static const char *sim_record_attr(apr_pool_t *p, const char *twiml, const char *name)
{
    const char *rec = strstr(twiml, "<Record"), *end, *at, *q;

    if (!rec || !(end = strchr(rec, '>'))) return NULL;
    for (at = rec; (at = strstr(at, name)) && at < end; at++) {
        if (at[-1] == ' ' && !strncmp(at + strlen(name), "=\"", 2)) break;
    }
    if (!at || at >= end) return NULL;
    at += strlen(name) + 2;
    if (!(q = strchr(at, '"'))) return NULL;
    return sim_unxml(p, at, q - at);
}

typedef struct {
    apr_pool_t *pool;
    sim_twilio_t tw;
    const char *token;      /* resolved */
    const char *post_base;  /* where we post: --url, else the public URL */
} sim_t;

/* POST @p params to the webhook Twilio would call at @p signed_url (signed
 * for that URL, as Twilio signs the URL it requests), sent to the same path
 * under --url. Prints what happened; 0 on a 2xx answer. */
static int sim_post(sim_t *s, const char *what, const char *signed_url,
                    const apr_array_header_t *params, cs_http_resp_t **presp)
{
    apr_pool_t *p = s->pool;
    apr_size_t n = strlen(s->tw.public_url);
    const char *url = strncmp(signed_url, s->tw.public_url, n) ? signed_url
                      : apr_pstrcat(p, s->post_base, signed_url + n, NULL);
    const char *err = NULL;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.body = sim_form(p, params);
    req.content_type = "application/x-www-form-urlencoded";
    req.headers = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(req.headers, const char *) = apr_pstrcat(
        p, "X-Twilio-Signature: ", cs_twilio_signature(p, s->token, signed_url, params), NULL);
    APR_ARRAY_PUSH(req.headers, const char *) = "User-Agent: TwilioProxy/1.1";
    printf("  %s: POST %s", what, url);
    if (strcmp(url, signed_url)) printf(" (signed for %s)", signed_url);
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS) {
        printf(": failed\n");
        fprintf(stderr, "consult-admin: %s: %s (is make run going?)\n", url, err);
        return 1;
    }
    printf(": %ld\n", resp->status);
    if (presp) *presp = resp;
    if (resp->status / 100 == 2) return 0;
    fprintf(stderr, "consult-admin: %s answered %ld%s\n", url, resp->status,
            resp->status == 403 ? ": the signature or the account was refused (do the account,"
                                  " auth token and public URL match the vhost's?)"
            : resp->status == 404 ? ": is ConsultTwilio On for this client's vhost?" : "");
    return 1;
}

static int sim_usage(void)
{
    fprintf(stderr,
            "usage: consult-admin simulate sms CLIENT --from NUMBER --body TEXT [options]\n"
            "       consult-admin simulate voicemail CLIENT --from NUMBER [--transcript TEXT |\n"
            "                     --no-transcript] [--seconds N] [options]\n"
            "options: --url URL       where to post (default: the public URL)\n"
            "         --conf FILE     the client's Twilio directives (default conf/demo/CLIENT.conf)\n"
            "         --account AC... --to NUMBER --token env:NAME|file:PATH|value\n"
            "         --public-url URL  instead of the file's\n");
    return 2;
}

static int cmd_simulate(apr_pool_t *p, int argc, const char *const *argv)
{
    const char *kind = argv[0], *slug = argv[1], *from = NULL, *body = NULL, *conf = NULL;
    const char *transcript = "Hi, this is Jordan. I'd like to order two dozen pastries for"
                             " Saturday morning, can you call me back? Thanks!";
    const char *seconds = "14", *err = NULL, *e164 = NULL, *np;
    int sms, i, rc;
    apr_size_t len = 0;
    sim_t s;
    apr_array_header_t *params;

    memset(&s, 0, sizeof(s));
    s.pool = p;
    if (!strcmp(kind, "sms")) sms = 1;
    else if (!strcmp(kind, "voicemail")) sms = 0;
    else return sim_usage();
    for (i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(opt, "--no-transcript") && !sms) { transcript = NULL; continue; }
        if (!val) return sim_usage();
        if (!strcmp(opt, "--from")) from = val;
        else if (!strcmp(opt, "--body") && sms) body = val;
        else if (!strcmp(opt, "--transcript") && !sms) transcript = val;
        else if (!strcmp(opt, "--seconds") && !sms) seconds = val;
        else if (!strcmp(opt, "--url")) s.post_base = val;
        else if (!strcmp(opt, "--conf")) conf = val;
        else if (!strcmp(opt, "--account")) s.tw.account = val;
        else if (!strcmp(opt, "--to")) s.tw.number = val;
        else if (!strcmp(opt, "--token")) s.tw.token_spec = val;
        else if (!strcmp(opt, "--public-url")) s.tw.public_url = val;
        else return sim_usage();
        i++;
    }
    if (!cs_slug_is_valid(slug) || !from || (sms && !body)
        || strspn(seconds, "0123456789") != strlen(seconds) || !*seconds || strlen(seconds) > 5) {
        return sim_usage();
    }
    /* What the vhost was given is what Twilio knows: by default the
     * client's demo file, which make run includes in its vhost. */
    if (!s.tw.account || !s.tw.number || !s.tw.token_spec || !s.tw.public_url) {
        if (!conf) conf = apr_psprintf(p, "conf/demo/%s.conf", slug);
        if (sim_read_conf(p, conf, &s.tw) != 0) {
            fprintf(stderr, "consult-admin: cannot read %s (run from the checkout, or pass --conf"
                    " FILE, or --account, --to, --token and --public-url)\n", conf);
            return 1;
        }
    }
    if (!s.tw.account || !s.tw.number || !s.tw.token_spec || !s.tw.public_url) {
        fprintf(stderr, "consult-admin: %s lacks ConsultTwilioAccountSid, ConsultTwilioNumber,"
                " ConsultTwilioAuthToken or ConsultTwilioPublicURL (or pass --account, --to,"
                " --token, --public-url)\n", conf);
        return 1;
    }
    if ((err = cs_conf_secret(p, s.tw.token_spec, &s.token, &len))) {
        fprintf(stderr, "consult-admin: the auth token: %s\n", err);
        return 1;
    }
    if (!s.post_base) s.post_base = s.tw.public_url;
    len = strlen(s.post_base);
    if (len && s.post_base[len - 1] == '/') s.post_base = apr_pstrmemdup(p, s.post_base, len - 1);
    /* A local vhost is never reached through a proxy from the environment. */
    np = getenv("no_proxy");
    setenv("no_proxy", np && *np ? apr_pstrcat(p, np, ",localhost,127.0.0.1", NULL)
                                 : "localhost,127.0.0.1", 1);
    /* Twilio sends E.164; a caller without caller ID is sent as it is. */
    if (cs_phone_e164(p, from, "US", &e164) == APR_SUCCESS) {
        from = e164;
    }
    else if (sms) {
        fprintf(stderr, "consult-admin: --from: '%s' is not a phone number\n", from);
        return 1;
    }

    params = apr_array_make(p, 16, sizeof(cs_pair_t));
    if (sms) {
        const char *sid = sim_sid(p, "SM");
        sim_add(params, "ToCountry", "US");
        sim_add(params, "SmsMessageSid", sid);
        sim_add(params, "NumMedia", "0");
        sim_add(params, "SmsSid", sid);
        sim_add(params, "SmsStatus", "received");
        sim_add(params, "Body", body);
        sim_add(params, "To", s.tw.number);
        sim_add(params, "NumSegments", apr_itoa(p, cs_sms_segments(body, NULL, NULL)));
        sim_add(params, "MessageSid", sid);
        sim_add(params, "AccountSid", s.tw.account);
        sim_add(params, "From", from);
        sim_add(params, "ApiVersion", "2010-04-01");
        printf("SMS from %s to %s (%s): %s\n", from, slug, s.tw.number, body);
        rc = sim_post(&s, "the SMS webhook", apr_pstrcat(p, s.tw.public_url, "/twilio/sms", NULL),
                      params, NULL);
        if (!rc) printf("MessageSid %s: it shows in %s's inbox within seconds\n", sid, slug);
        return rc;
    }
    {
        const char *call = sim_sid(p, "CA"), *rec = sim_sid(p, "RE"), *tr = sim_sid(p, "TR");
        const char *rec_url = apr_psprintf(p, "https://api.twilio.com/2010-04-01/Accounts/%s"
                                           "/Recordings/%s", s.tw.account, rec);
        const char *action, *rec_cb, *tr_cb, *say_at, *say_end;
        cs_http_resp_t *resp = NULL;
        char date[APR_RFC822_DATE_LEN];

        printf("Call from %s to %s (%s)\n", from, slug, s.tw.number);
        sim_add(params, "AccountSid", s.tw.account);
        sim_add(params, "ApiVersion", "2010-04-01");
        sim_add(params, "CallSid", call);
        sim_add(params, "CallStatus", "ringing");
        sim_add(params, "Called", s.tw.number);
        sim_add(params, "Caller", from);
        sim_add(params, "Direction", "inbound");
        sim_add(params, "From", from);
        sim_add(params, "To", s.tw.number);
        if (sim_post(&s, "the voice webhook", apr_pstrcat(p, s.tw.public_url, "/twilio/voice", NULL),
                     params, &resp)) {
            return 1;
        }
        if ((say_at = strstr(resp->body, "<Say>")) && (say_end = strstr(say_at, "</Say>"))) {
            printf("    the caller hears: %s\n", sim_unxml(p, say_at + 5, say_end - say_at - 5));
        }
        action = sim_record_attr(p, resp->body, "action");
        rec_cb = sim_record_attr(p, resp->body, "recordingStatusCallback");
        tr_cb = sim_record_attr(p, resp->body, "transcribeCallback");
        if (!strstr(resp->body, "<Record")) {
            printf("    the answer records nothing: no voicemail\n");
            return 1;
        }
        printf("    and leaves a %s s message\n", seconds);
        /* After the beep: the <Record> action, then the recording's
         * callback, then the transcription's, as Twilio calls them. */
        apr_array_clear(params);
        sim_add(params, "AccountSid", s.tw.account);
        sim_add(params, "ApiVersion", "2010-04-01");
        sim_add(params, "CallSid", call);
        sim_add(params, "CallStatus", "completed");
        sim_add(params, "Direction", "inbound");
        sim_add(params, "From", from);
        sim_add(params, "To", s.tw.number);
        sim_add(params, "Digits", "hangup");
        sim_add(params, "RecordingSid", rec);
        sim_add(params, "RecordingUrl", rec_url);
        sim_add(params, "RecordingDuration", seconds);
        if (action && sim_post(&s, "the <Record> action", action, params, NULL)) {
            return 1;
        }
        if (!rec_cb) {
            printf("    no recordingStatusCallback in the TwiML: nothing more is sent\n");
            return 0;
        }
        apr_rfc822_date(date, apr_time_now());
        apr_array_clear(params);
        sim_add(params, "AccountSid", s.tw.account);
        sim_add(params, "CallSid", call);
        sim_add(params, "RecordingSid", rec);
        sim_add(params, "RecordingUrl", rec_url);
        sim_add(params, "RecordingStatus", "completed");
        sim_add(params, "RecordingDuration", seconds);
        sim_add(params, "RecordingChannels", "1");
        sim_add(params, "RecordingStartTime", date);
        sim_add(params, "RecordingSource", "RecordVerb");
        sim_add(params, "ErrorCode", "0");
        if (sim_post(&s, apr_psprintf(p, "the recording (%s)", rec), rec_cb, params, NULL)) {
            return 1;
        }
        if (!tr_cb) {
            printf("    no transcription asked for: staff are told to listen to it\n");
        }
        else {
            apr_array_clear(params);
            sim_add(params, "AccountSid", s.tw.account);
            sim_add(params, "ApiVersion", "2010-04-01");
            sim_add(params, "CallSid", call);
            sim_add(params, "CallStatus", "completed");
            sim_add(params, "Direction", "inbound");
            sim_add(params, "From", from);
            sim_add(params, "To", s.tw.number);
            sim_add(params, "RecordingSid", rec);
            sim_add(params, "RecordingUrl", rec_url);
            sim_add(params, "TranscriptionSid", tr);
            sim_add(params, "TranscriptionStatus", transcript ? "completed" : "failed");
            if (transcript) sim_add(params, "TranscriptionText", transcript);
            sim_add(params, "TranscriptionType", "fast");
            sim_add(params, "TranscriptionUrl", apr_psprintf(
                p, "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s/Transcriptions/%s",
                s.tw.account, rec, tr));
            sim_add(params, "url", tr_cb);
            if (sim_post(&s, transcript ? "the transcript" : "the failed transcription", tr_cb,
                         params, NULL)) {
                return 1;
            }
        }
        printf("CallSid %s: the voicemail shows in %s's inbox within seconds\n", call, slug);
        return 0;
    }
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
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        apr_pool_destroy(p);
        return usage_to(stdout, 0);
    }
    if (!strcmp(cmd, "pos-86")) {
        if (argc - i < 2) return usage();
        rc = cmd_pos_86(p, argc - i, argv + i);
        apr_pool_destroy(p);
        return rc;
    }
    if (!strcmp(cmd, "simulate")) {
        if (argc - i < 2) return sim_usage();
        rc = cmd_simulate(p, argc - i, argv + i);
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
          || (!strcmp(cmd, "site-new") && argc - i >= 1)
          || (!strcmp(cmd, "correct") && (argc - i == 2 || argc - i == 3))
          || (!strcmp(cmd, "corrections-export") && argc - i >= 1)
          || (!strcmp(cmd, "user-add") && argc - i >= 2)
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
    else if (!strcmp(cmd, "site-new")) rc = cmd_site_new(conn, p, argc - i, argv + i);
    else if (!strcmp(cmd, "correct"))
        rc = cmd_correct(conn, p, argv[i], argv[i + 1], argc - i == 3 ? argv[i + 2] : NULL);
    else if (!strcmp(cmd, "corrections-export")) rc = cmd_export(conn, p, argc - i, argv + i);
    else if (!strcmp(cmd, "user-add")) rc = cmd_user_add(conn, p, argc - i, argv + i);
    else if (!strcmp(cmd, "member-add"))
        rc = cmd_member_add(conn, p, argv[i], argv[i + 1], argv[i + 2]);
    else rc = cmd_client_list(conn, p);
    PQfinish(conn);
    apr_pool_destroy(p);
    return rc;
}
