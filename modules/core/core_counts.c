/*
 * Edge counts: what the edge only counts instead of storing (a bot flood
 * past ConsultIntakeSpamKeep) must cost an increment, not a row per post.
 * Each process adds its counts up in memory (per client and reason); a
 * per-process mod_watchdog thread writes them once a second, one upsert
 * per client and reason into intake_edge_counts. Counts wait for the next
 * second while the database is away. A process that stops (the MPM
 * retiring a spare child after a flood) writes what it holds on a
 * connection of its own as the child's pool goes, once every worker has
 * ended (not when its watchdog stops: that is the moment the child is told
 * to stop, while its workers still answer the requests in flight); only a
 * database away at that moment leaves posts uncounted.
 */
#include "core_private.h"

#include "http_main.h"
#include "http_core.h"
#include "ap_mpm.h"
#include "mod_watchdog.h"
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

APLOG_USE_MODULE(consult_core);

#define COUNTS_WATCHDOG "consult-counts"
#define COUNTS_EVERY apr_time_from_sec(1)

typedef struct {
    const char *client_id;
    const char *reason;
    long n;
} count_t;

/* Made in post_config, before the fork: each process has its own copy,
 * allocated from only under the lock. */
static apr_pool_t *cpool;
static apr_thread_mutex_t *lock;
static apr_hash_t *pending;        /* "client|reason" -> count_t */

static int add(const char *client_id, const char *reason, long n)
{
    char key[128];
    count_t *c;

    /* The lookup key on the stack: a flood must not grow the pool. */
    if (!lock || strlen(client_id) + strlen(reason) + 2 > sizeof(key)) {
        return 0;
    }
    apr_snprintf(key, sizeof(key), "%s|%s", client_id, reason);
    if (apr_thread_mutex_lock(lock) != APR_SUCCESS) {
        return 0;
    }
    if (!(c = apr_hash_get(pending, key, APR_HASH_KEY_STRING))) {
        c = apr_pcalloc(cpool, sizeof(*c));
        c->client_id = apr_pstrdup(cpool, client_id);
        c->reason = apr_pstrdup(cpool, reason);
        apr_hash_set(pending, apr_pstrdup(cpool, key), APR_HASH_KEY_STRING, c);
    }
    c->n += n;
    apr_thread_mutex_unlock(lock);
    return 1;
}

int cs_edge_count(const char *client_id, const char *reason)
{
    return add(client_id, reason, 1);
}

/* The counts so far, taken out (zeroed) under the lock. Entries are never
 * removed, so their strings outlive the copy. */
static apr_array_header_t *take(apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(count_t));
    apr_hash_index_t *hi;

    if (!lock || apr_thread_mutex_lock(lock) != APR_SUCCESS) {
        return out;
    }
    for (hi = apr_hash_first(p, pending); hi; hi = apr_hash_next(hi)) {
        count_t *c = apr_hash_this_val(hi);
        if (c->n) {
            count_t *o = apr_array_push(out);
            *o = *c;
            c->n = 0;
        }
    }
    apr_thread_mutex_unlock(lock);
    return out;
}

/* Write the counts held, on a pooled connection, or with @p at_exit on one
 * of its own (then what cannot be written is logged, not kept). */
static void flush(server_rec *s, apr_pool_t *p, int at_exit)
{
    apr_array_header_t *due = take(p);
    core_child *child = cs_core_child;
    PGconn *conn = NULL;
    const char *err = NULL;
    int i, away = 0;

    if (!due->nelts) {
        return;
    }
    if (at_exit) {
        cs_db_params_t db;
        core_db_params(s, &db);
        db.application_name = "consult-counts";
        if (!(conn = cs_db_connect(&db, &err, p))) {
            away = 1;
        }
    }
    else if (!child || cs_db_pool_acquire(child->pool, &conn, &err, p) != APR_SUCCESS) {
        conn = NULL;
        away = 1;
    }
    for (i = 0; i < due->nelts; i++) {
        count_t *c = &APR_ARRAY_IDX(due, i, count_t);
        const char *params[3] = { c->client_id, c->reason, apr_ltoa(p, c->n) };
        PGresult *res = away ? NULL : cs_db_exec(conn, p, &err, PGRES_COMMAND_OK,
            "INSERT INTO intake_edge_counts (client_id, hour, reason, posts)"
            " VALUES ($1, date_trunc('hour', now()), $2, $3)"
            " ON CONFLICT (client_id, hour, reason)"
            " DO UPDATE SET posts = intake_edge_counts.posts + EXCLUDED.posts",
            3, params);
        if (res) {
            PQclear(res);
            continue;
        }
        if (!away && PQstatus(conn) == CONNECTION_OK) {
            /* The row itself failed (its client deleted since): retrying
             * cannot help. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(01066)
                         "%ld edge count(s) of client %s dropped: %s",
                         c->n, c->client_id, err);
            continue;
        }
        away = 1;
        if (at_exit) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(01067)
                         "%ld edge count(s) of client %s lost as this process stops: %s",
                         c->n, c->client_id, err ? err : "no database connection");
            continue;
        }
        add(c->client_id, c->reason, c->n);     /* the next second */
    }
    if (conn && at_exit) {
        PQfinish(conn);
    }
    else if (conn) {
        cs_db_pool_release(child->pool, conn, PQstatus(conn) != CONNECTION_OK);
    }
    if (away && !at_exit) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(01064)
                     "edge counts not written (kept for the next second): %s",
                     err ? err : "no database connection");
    }
}

static apr_status_t counts_callback(int state, void *data, apr_pool_t *pool)
{
    /* Not at STOPPING: that comes when the child is told to stop, with its
     * workers still answering; counts_child_exit writes after them. */
    if (state == AP_WATCHDOG_STATE_RUNNING) {
        flush(data, pool, 0);
    }
    return APR_SUCCESS;
}

/* The child's last write, after its workers have ended: the watchdog's
 * stopping write comes as soon as the child is told to stop, and the posts
 * its workers answer after that would otherwise go uncounted. */
static apr_status_t counts_child_exit(void *data)
{
    apr_pool_t *p = NULL;
    apr_status_t rv;

    /* cpool is shared with add(), which the watchdog may still be in. */
    if (apr_thread_mutex_lock(lock) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    rv = apr_pool_create(&p, cpool);
    apr_thread_mutex_unlock(lock);
    if (rv == APR_SUCCESS) {
        flush(data, p, 1);
        apr_thread_mutex_lock(lock);
        apr_pool_destroy(p);
        apr_thread_mutex_unlock(lock);
    }
    return APR_SUCCESS;
}

void core_counts_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (lock) {
        apr_pool_cleanup_register(pchild, s, counts_child_exit, apr_pool_cleanup_null);
    }
}

int core_counts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    ap_watchdog_t *wd = NULL;
    cs_db_params_t db;

    lock = NULL;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    core_db_params(s, &db);
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!db.conninfo || !get_instance || !register_cb) {
        return OK;      /* then nothing is counted (mod_watchdog is checked by the worker) */
    }
    if (apr_pool_create(&cpool, pconf) != APR_SUCCESS
        || apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, cpool) != APR_SUCCESS) {
        lock = NULL;
        return OK;
    }
    pending = apr_hash_make(cpool);
    /* Not a singleton: every process writes its own counts. */
    if (get_instance(&wd, COUNTS_WATCHDOG, 0, 0, pconf) != APR_SUCCESS
        || register_cb(wd, COUNTS_EVERY, s, counts_callback) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(01065)
                     "no watchdog thread for edge counts: bot posts past the keep "
                     "budget are answered but not counted");
        lock = NULL;
    }
    return OK;
}
