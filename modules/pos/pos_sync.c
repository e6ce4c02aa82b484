/*
 * The POS jobs, run by core's worker in a transaction each:
 * - pos.menu.sync: the whole menu from the POS, upserted by POS id in the
 *   job's one transaction, what the POS no longer has deleted, the version
 *   bumped when anything changed, then the snapshot files written;
 * - pos.availability.poll: the POS's sold-out list, differences from the
 *   POS-sourced marks applied and counted (webhooks that never came);
 * - pos.event: one journaled webhook (provider_events), processed once.
 * Sync and poll reschedule themselves: each restaurant has one pending job
 * of each, under the unique key KIND:CLIENT_ID. A run gives its key up and
 * queues the next run under it in the same transaction as its "done", so
 * a failed run keeps the key (and retries with backoff) and a dead one is
 * revived by pos_ensure.
 */
#include "pos_private.h"
#include "db/cs_order_db.h"
#include "base/cs_file.h"

#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_file_info.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(consult_pos);

#define LOG_S(job) ((server_rec *)(job)->server)

static const char *ms(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT " milliseconds", (apr_int64_t)apr_time_as_msec(t));
}

static const char *job_payload(apr_pool_t *p, const char *client_id, const char *slug)
{
    cs_json_t *j = cs_json_object(p);
    cs_json_set_int(j, "client", apr_atoi64(client_id));
    cs_json_set_str(j, "slug", slug);
    return cs_json_dump(j, p);
}

/* Make sure one job of @p kind is pending for the restaurant, due within
 * @p delay: an earlier pending run stays, a dead or finished one comes
 * back. A running one is left alone (it queues its own successor). */
static apr_status_t schedule(PGconn *conn, apr_pool_t *p, const char **perr, const char *kind,
                             const char *client_id, const char *slug, apr_interval_time_t delay)
{
    const char *params[4];
    PGresult *res;
    params[0] = kind;
    params[1] = job_payload(p, client_id, slug);
    params[2] = apr_pstrcat(p, kind, ":", client_id, NULL);
    params[3] = ms(p, delay);
    res = cs_db_exec(conn, p, perr, PGRES_COMMAND_OK,
        "INSERT INTO jobs AS j (kind, payload, unique_key, run_at)"
        " VALUES ($1, $2::jsonb, $3, now() + $4::interval)"
        " ON CONFLICT (unique_key) DO UPDATE SET"
        "  run_at = CASE WHEN j.state = 'queued' THEN least(j.run_at, excluded.run_at)"
        "           ELSE excluded.run_at END,"
        "  attempts = CASE WHEN j.state = 'queued' THEN j.attempts ELSE 0 END,"
        "  state = 'queued', locked_until = NULL, done_at = NULL, updated_at = now()"
        " WHERE j.state IN ('queued', 'dead', 'done')", 4, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}

/* The next run of a periodic job: this row gives its key up. */
static apr_status_t reschedule(cs_job_t *job, const char *client_id, const char *slug,
                               apr_interval_time_t every, const char **perr)
{
    const char *params[1] = { job->id_str };
    PGresult *res = cs_db_exec(job->conn, job->pool, perr, PGRES_COMMAND_OK,
                               "UPDATE jobs SET unique_key = NULL WHERE id = $1", 1, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return schedule(job->conn, job->pool, perr, job->kind, client_id, slug, every);
}

/* The restaurant row, with the directives' current values. @p pcreated:
 * whether it is new or was never synced. */
static apr_status_t restaurant_upsert(PGconn *conn, apr_pool_t *p, const pos_conf *c,
                                      const char *client_id, int *pfresh, const char **perr)
{
    const char *params[4];
    PGresult *res;
    params[0] = client_id;
    params[1] = c->kind;
    params[2] = c->pos.location;
    params[3] = apr_itoa(p, c->tax_rate_bp);
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "INSERT INTO restaurants AS r (client_id, pos_kind, pos_location, tax_rate_bp)"
        " VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (client_id) DO UPDATE SET pos_kind = excluded.pos_kind,"
        "  pos_location = excluded.pos_location, tax_rate_bp = excluded.tax_rate_bp"
        " WHERE (r.pos_kind, r.pos_location, r.tax_rate_bp)"
        "  IS DISTINCT FROM (excluded.pos_kind, excluded.pos_location, excluded.tax_rate_bp)"
        " RETURNING last_sync_at IS NULL", 4, params);
    if (!res) return APR_EGENERAL;
    if (pfresh) {
        /* No row back: unchanged; ask whether it was ever synced. */
        if (PQntuples(res)) {
            *pfresh = PQgetvalue(res, 0, 0)[0] == 't';
        }
        else {
            PQclear(res);
            res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                             "SELECT last_sync_at IS NULL FROM restaurants WHERE client_id = $1",
                             1, params);
            if (!res) return APR_EGENERAL;
            *pfresh = PQntuples(res) && PQgetvalue(res, 0, 0)[0] == 't';
        }
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t pos_ensure(PGconn *conn, apr_pool_t *p, const pos_conf *c,
                        const char *client_id, const char **perr)
{
    int fresh = 0;
    apr_status_t rv;
    if ((rv = restaurant_upsert(conn, p, c, client_id, &fresh, perr)) != APR_SUCCESS
        || (rv = schedule(conn, p, perr, POS_JOB_SYNC, client_id, c->slug,
                          fresh ? 0 : c->menu_sync)) != APR_SUCCESS
        || (rv = schedule(conn, p, perr, POS_JOB_POLL, client_id, c->slug,
                          fresh ? c->poll : 0)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

/* The worker's start (and every reconnect): each configured restaurant
 * gets its row and its sync and poll jobs at once, so a new restaurant's
 * menu is imported before its first guest asks, and its Menu page in the
 * dashboard exists from the start. A slug without a client row is skipped
 * (the client is added later with consult-admin; its first request then
 * does the same). */
void pos_worker_start(server_rec *s, PGconn *conn, apr_pool_t *p)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        const pos_conf *c = pos_sconf(v);
        const char *params[1], *err = NULL;
        PGresult *res;
        apr_status_t rv;

        /* A vhost that inherits the main server's settings is that restaurant. */
        if (!c->kind || !c->slug || (v != s && c == pos_sconf(s))) {
            continue;
        }
        params[0] = c->slug;
        res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                         "SELECT id FROM clients WHERE slug = $1", 1, params);
        if (!res || PQntuples(res) != 1) {
            if (res) PQclear(res);
            continue;
        }
        params[0] = apr_pstrdup(p, PQgetvalue(res, 0, 0));
        PQclear(res);
        if ((rv = cs_db_command(conn, p, &err, "BEGIN")) == APR_SUCCESS
            && (rv = pos_ensure(conn, p, c, params[0], &err)) == APR_SUCCESS) {
            rv = cs_db_command(conn, p, &err, "COMMIT");
        }
        if (rv != APR_SUCCESS) {
            PQclear(PQexec(conn, "ROLLBACK"));
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, CSLOGNO(06050)
                         "cannot set up the restaurant %s: %s", c->slug, err ? err : "?");
        }
    }
}

/* ---- snapshots ---------------------------------------------------------- */

apr_status_t pos_write_snapshot(PGconn *conn, apr_pool_t *p, const pos_conf *c,
                                const char *client_id, const char **perr)
{
    pos_menu_t *m = NULL;
    const char *base = apr_pstrcat(p, c->snapshot_dir, "/", c->slug, NULL);
    const char *now = pos_rfc3339(p, apr_time_now()), *body, *page;
    apr_status_t rv;

    if ((rv = pos_menu_load(&m, conn, p, client_id, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_dir_make_recursive(c->snapshot_dir, APR_FPROT_OS_DEFAULT, p)) != APR_SUCCESS
        && !APR_STATUS_IS_EEXIST(rv)) {
        *perr = apr_psprintf(p, "cannot create %s", c->snapshot_dir);
        return rv;
    }
    body = pos_menu_api_json(p, m);
    if ((rv = cs_file_write_atomic(apr_pstrcat(p, base, ".json", NULL), body, strlen(body), p))
        != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot write %s.json", base);
        return rv;
    }
    body = pos_menu_availability_json(p, m, 1, now);
    if ((rv = cs_file_write_atomic(apr_pstrcat(p, base, ".availability.json", NULL), body,
                                   strlen(body), p)) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot write %s.availability.json", base);
        return rv;
    }
    if (c->tmpl) {
        /* The page as it will be served while the database is away: with
         * its "menu as of" line. */
        if (!(page = pos_menu_page(p, c, m, now, perr))) {
            return APR_EINVAL;
        }
        if ((rv = cs_file_write_atomic(apr_pstrcat(p, base, ".html", NULL), page,
                                       strlen(page), p)) != APR_SUCCESS) {
            *perr = apr_psprintf(p, "cannot write %s.html", base);
            return rv;
        }
    }
    return APR_SUCCESS;
}

static void snapshot(cs_job_t *job, const pos_conf *c, const char *client_id)
{
    const char *err = NULL;
    if (pos_write_snapshot(job->conn, job->pool, c, client_id, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(06030)
                     "menu snapshot of %s not written: %s", c->slug, err);
    }
}

/* Webhooks do not rewrite the snapshot (a menu load and three fsync'd
 * files) each: at most once per SNAPSHOT_EVERY, the rest left to the next
 * event after that, or the poll. Per process (the worker is one thread of
 * one child); a restaurant this process has not written yet counts as
 * stale, so a new worker's first poll writes it. A snapshot is what the
 * menu is served from while Postgres is away, "menu as of" its time. */
#define SNAPSHOT_EVERY apr_time_from_sec(10)

typedef struct snap_state {
    struct snap_state *next;
    apr_time_t written_at;
    int stale;                  /* changes since written_at */
    char slug[1];
} snap_state;

static snap_state *snap_states;
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;

/* The state of @p slug, added (stale, never written) when new; NULL when out
 * of memory. Call with snap_lock held. */
static snap_state *snap_find(const char *slug)
{
    snap_state *st;
    size_t len = strlen(slug);

    for (st = snap_states; st; st = st->next) {
        if (!strcmp(st->slug, slug)) {
            return st;
        }
    }
    if (!(st = calloc(1, sizeof(*st) + len))) {
        return NULL;
    }
    memcpy(st->slug, slug, len + 1);
    st->stale = 1;
    st->next = snap_states;
    snap_states = st;
    return st;
}

/* Whether the snapshot of @p c is due: @p force (sync), stale changes (a
 * poll, or an event after SNAPSHOT_EVERY), or new changes. A due one is
 * counted as written; a failed write is only logged, as before. */
static int snapshot_due(const pos_conf *c, long changes, int force, int from_event)
{
    apr_time_t now = apr_time_now();
    snap_state *st;
    int due;

    pthread_mutex_lock(&snap_lock);
    st = snap_find(c->slug);
    if (!st) {
        due = force || changes || !from_event;
    }
    else {
        if (changes) {
            st->stale = 1;
        }
        due = force || (st->stale && (!from_event || now - st->written_at >= SNAPSHOT_EVERY));
        if (due) {
            st->stale = 0;
            st->written_at = now;
        }
    }
    pthread_mutex_unlock(&snap_lock);
    return due;
}

/* ---- the menu sync ------------------------------------------------------ */

/* Upsert @p json (an array of objects with @p coldefs) into @p table by
 * (client_id, @p key...), delete the client's rows @p json lacks, and add
 * the rows changed to *pchanges. */
static apr_status_t upsert(cs_job_t *job, const char **perr, const char *table,
                           const char *coldefs, const char *const *keys,
                           const char *const *vals, const char *client_id,
                           const char *json, long *pchanges)
{
    apr_pool_t *p = job->pool;
    const char *cols = "", *sets = "", *tv = "", *ev = "", *match = "", *params[2];
    PGresult *res;
    int i;

    for (i = 0; keys[i]; i++) {
        cols = apr_pstrcat(p, cols, i ? ", " : "", keys[i], NULL);
        match = apr_pstrcat(p, match, i ? " AND " : "", "d.", keys[i], " = t.", keys[i], NULL);
    }
    for (i = 0; vals[i]; i++) {
        cols = apr_pstrcat(p, cols, ", ", vals[i], NULL);
        sets = apr_pstrcat(p, sets, i ? ", " : "", vals[i], " = excluded.", vals[i], NULL);
        tv = apr_pstrcat(p, tv, i ? ", " : "", "t.", vals[i], NULL);
        ev = apr_pstrcat(p, ev, i ? ", " : "", "excluded.", vals[i], NULL);
    }
    params[0] = client_id;
    params[1] = json;
    res = cs_db_exec(job->conn, p, perr, PGRES_TUPLES_OK, apr_pstrcat(p,
        "WITH d AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(", coldefs, ")),"
        " u AS (INSERT INTO ", table, " AS t (client_id, ", cols, ")"
        "  SELECT $1, ", cols, " FROM d"
        "  ON CONFLICT (client_id, ", apr_pstrcat(p, keys[0], keys[1] ? ", " : "",
                                                    keys[1] ? keys[1] : "", NULL), ")"
        "  DO UPDATE SET ", sets,
        "  WHERE (", tv, ") IS DISTINCT FROM (", ev, ") RETURNING 1),"
        " x AS (DELETE FROM ", table, " t WHERE t.client_id = $1"
        "  AND NOT EXISTS (SELECT 1 FROM d WHERE ", match, ") RETURNING 1)"
        " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM x)", NULL), 2, params);
    if (!res) return APR_EGENERAL;
    *pchanges += atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return APR_SUCCESS;
}

static void set_opt(cs_json_t *o, const char *k, const char *v)
{
    if (v) cs_json_set_str(o, k, v);
}

static int seen(apr_hash_t *h, const char *a, const char *b)
{
    const char *k = b ? apr_pstrcat(apr_hash_pool_get(h), a, "\x1f", b, NULL) : a;
    if (apr_hash_get(h, k, APR_HASH_KEY_STRING)) return 1;
    apr_hash_set(h, k, APR_HASH_KEY_STRING, "");
    return 0;
}

static apr_status_t store_menu(cs_job_t *job, const cs_menu_t *m, const char *client_id,
                               long *pchanges, const char **perr)
{
    apr_pool_t *p = job->pool;
    cs_json_t *cats = cs_json_array(p), *items = cs_json_array(p), *groups = cs_json_array(p),
              *mods = cs_json_array(p), *links = cs_json_array(p);
    apr_hash_t *dup = apr_hash_make(p);
    int i, j;
    apr_status_t rv;
    static const char *const k_pos[] = { "pos_id", NULL };
    static const char *const k_link[] = { "item_id", "group_id", NULL };
    static const char *const v_cat[] = { "name", "description", "sort", NULL };
    static const char *const v_item[] = { "category", "name", "description", "price_cents",
                                          "image_url", "sort", "visible", "prep_points", NULL };
    static const char *const v_group[] = { "name", "min_choices", "max_choices", NULL };
    static const char *const v_mod[] = { "group_id", "name", "price_cents", "sort", NULL };
    static const char *const v_link[] = { "sort", NULL };

    for (i = 0; i < m->categories->nelts; i++) {
        const cs_menu_category_t *c = &APR_ARRAY_IDX(m->categories, i, cs_menu_category_t);
        cs_json_t *o = cs_json_object(p);
        if (seen(dup, "c", c->pos_id)) continue;
        cs_json_set_str(o, "pos_id", c->pos_id);
        cs_json_set_str(o, "name", c->name);
        set_opt(o, "description", c->description);
        cs_json_set_int(o, "sort", c->sort);
        cs_json_append(cats, o);
    }
    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        cs_json_t *o = cs_json_object(p);
        if (seen(dup, "g", g->pos_id)) continue;
        cs_json_set_str(o, "pos_id", g->pos_id);
        cs_json_set_str(o, "name", g->name);
        cs_json_set_int(o, "min_choices", g->min);
        cs_json_set_int(o, "max_choices", g->max);
        cs_json_append(groups, o);
        for (j = 0; g->modifiers && j < g->modifiers->nelts; j++) {
            const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, j, cs_menu_modifier_t);
            cs_json_t *mo = cs_json_object(p);
            if (seen(dup, "m", md->pos_id)) continue;
            cs_json_set_str(mo, "pos_id", md->pos_id);
            cs_json_set_str(mo, "group_id", g->pos_id);
            cs_json_set_str(mo, "name", md->name);
            cs_json_set_int(mo, "price_cents", md->price_cents);
            cs_json_set_int(mo, "sort", j);
            cs_json_append(mods, mo);
        }
    }
    for (i = 0; i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        cs_json_t *o = cs_json_object(p);
        if (seen(dup, "i", it->pos_id)) continue;
        cs_json_set_str(o, "pos_id", it->pos_id);
        cs_json_set_str(o, "category", it->category_id);
        cs_json_set_str(o, "name", it->name);
        set_opt(o, "description", it->description);
        set_opt(o, "image_url", it->image_url);
        cs_json_set_int(o, "price_cents", it->price_cents);
        cs_json_set_int(o, "sort", it->sort);
        cs_json_set_bool(o, "visible", it->visible);
        cs_json_set_int(o, "prep_points", it->prep_points > 0 ? it->prep_points : 1);
        cs_json_append(items, o);
        for (j = 0; it->group_ids && j < it->group_ids->nelts; j++) {
            const char *gid = APR_ARRAY_IDX(it->group_ids, j, const char *);
            cs_json_t *lo = cs_json_object(p);
            if (seen(dup, it->pos_id, gid)) continue;
            cs_json_set_str(lo, "item_id", it->pos_id);
            cs_json_set_str(lo, "group_id", gid);
            cs_json_set_int(lo, "sort", j);
            cs_json_append(links, lo);
        }
    }
    if ((rv = upsert(job, perr, "menu_categories",
                     "pos_id text, name text, description text, sort int",
                     k_pos, v_cat, client_id, cs_json_dump(cats, p), pchanges)) != APR_SUCCESS
        || (rv = upsert(job, perr, "menu_modifier_groups",
                        "pos_id text, name text, min_choices int, max_choices int",
                        k_pos, v_group, client_id, cs_json_dump(groups, p), pchanges)) != APR_SUCCESS
        || (rv = upsert(job, perr, "menu_modifiers",
                        "pos_id text, group_id text, name text, price_cents bigint, sort int",
                        k_pos, v_mod, client_id, cs_json_dump(mods, p), pchanges)) != APR_SUCCESS
        || (rv = upsert(job, perr, "menu_items",
                        "pos_id text, category text, name text, description text,"
                        " price_cents bigint, image_url text, sort int, visible boolean,"
                        " prep_points int",
                        k_pos, v_item, client_id, cs_json_dump(items, p), pchanges)) != APR_SUCCESS
        || (rv = upsert(job, perr, "menu_item_groups", "item_id text, group_id text, sort int",
                        k_link, v_link, client_id, cs_json_dump(links, p), pchanges)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

/* Bump menu_version when @p changes > 0 (or on the first sync). */
static apr_status_t bump(cs_job_t *job, const char *client_id, long changes,
                         const char *set_sql, const char *extra, const char **perr)
{
    const char *params[3] = { client_id, apr_ltoa(job->pool, changes), extra };
    PGresult *res = cs_db_exec(job->conn, job->pool, perr, PGRES_COMMAND_OK, apr_pstrcat(job->pool,
        "UPDATE restaurants SET menu_version = menu_version"
        " + CASE WHEN $2::bigint > 0 THEN 1 ELSE 0 END", set_sql, " WHERE client_id = $1", NULL),
        extra ? 3 : 2, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}

static void session_for(cs_pos_session_t *s, const pos_conf *c, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->conf = &c->pos;
    s->token_pool = p;
}

static int fail(cs_job_t *job, const char *what, const char *err)
{
    job->error = apr_psprintf(job->pool, "%s: %s", what, err ? err : "failed");
    return HTTP_SERVICE_UNAVAILABLE;
}

static int run_sync(cs_job_t *job, const pos_conf *c, const char *client_id)
{
    cs_pos_session_t s;
    cs_menu_t *menu = NULL;
    const char *err = NULL, *params[2];
    long changes = 0;
    apr_status_t rv;
    PGresult *res;

    if (restaurant_upsert(job->conn, job->pool, c, client_id, NULL, &err) != APR_SUCCESS) {
        return fail(job, "restaurant", err);
    }
    session_for(&s, c, job->pool);
    rv = c->adapter->fetch_menu(&menu, &s, job->pool, &err);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return fail(job, "fetching the menu", err);     /* retried with backoff */
    }
    if (rv != APR_SUCCESS) {
        /* Refused or unusable: retrying now will not help. Keep the menu
         * we have, say why, and try again at the next sync. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(06031)
                     "menu sync of %s failed: %s", c->slug, err ? err : "unknown error");
        params[0] = client_id;
        params[1] = err ? err : "menu sync failed";
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
                         "UPDATE restaurants SET last_sync_error = $2 WHERE client_id = $1",
                         2, params);
        if (!res) return fail(job, "recording the sync error", err);
        PQclear(res);
    }
    else {
        /* One transaction (the job's): the lock orders concurrent syncs. */
        params[0] = client_id;
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
                         "SELECT menu_version FROM restaurants WHERE client_id = $1 FOR UPDATE",
                         1, params);
        if (!res) return fail(job, "locking the restaurant", err);
        if (atol(PQgetvalue(res, 0, 0)) == 0) changes = 1;     /* the first sync */
        PQclear(res);
        if (store_menu(job, menu, client_id, &changes, &err) != APR_SUCCESS
            || bump(job, client_id, changes, ", currency = $3, last_sync_at = now(),"
                    " last_sync_error = NULL", menu->currency ? menu->currency : "USD",
                    &err) != APR_SUCCESS) {
            return fail(job, "storing the menu", err);
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, LOG_S(job), CSLOGNO(06032)
                     "menu of %s synced: %d items, %ld changes", c->slug,
                     menu->items->nelts, changes);
        snapshot_due(c, changes, 1, 0);
        snapshot(job, c, client_id);
        /* Sold-out state next, without waiting for the poll's turn. */
        if (schedule(job->conn, job->pool, &err, POS_JOB_POLL, client_id, c->slug, 0)
            != APR_SUCCESS) {
            return fail(job, "queueing the poll", err);
        }
    }
    if (reschedule(job, client_id, c->slug, c->menu_sync, &err) != APR_SUCCESS) {
        return fail(job, "queueing the next sync", err);
    }
    return OK;
}

/* ---- sold-out state ------------------------------------------------------ */

static const char *stock_json(apr_pool_t *p, const apr_array_header_t *stock, int only_sold)
{
    cs_json_t *arr = cs_json_array(p);
    int i;
    for (i = 0; stock && i < stock->nelts; i++) {
        const cs_menu_stock_t *st = &APR_ARRAY_IDX(stock, i, cs_menu_stock_t);
        cs_json_t *o;
        if (!st->pos_id || (only_sold && !st->sold_out)) continue;
        o = cs_json_object(p);
        cs_json_set_str(o, "pos_id", st->pos_id);
        cs_json_set_bool(o, "sold_out", st->sold_out);
        if (st->until) cs_json_set_str(o, "until", pos_rfc3339(p, st->until));
        cs_json_append(arr, o);
    }
    return cs_json_dump(arr, p);
}

/* The POS's whole sold-out list against our POS-sourced marks. */
static apr_status_t apply_full(cs_job_t *job, const char *client_id,
                               const apr_array_header_t *stock, long *pchanges,
                               const char **perr)
{
    const char *params[2] = { client_id, stock_json(job->pool, stock, 1) };
    PGresult *res = cs_db_exec(job->conn, job->pool, perr, PGRES_TUPLES_OK,
        "WITH d AS (SELECT DISTINCT ON (pos_id) pos_id, until"
        "   FROM jsonb_to_recordset($2::jsonb) AS x(pos_id text, until timestamptz)),"
        " u AS (INSERT INTO item_availability AS t (client_id, item_id, sold_out, until, source,"
        "   set_by, set_at) SELECT $1, pos_id, true, until, 'poll', 'poll', now() FROM d"
        "  ON CONFLICT (client_id, item_id) DO UPDATE SET sold_out = true, until = excluded.until,"
        "   source = 'poll', set_by = 'poll', set_at = now()"
        "  WHERE t.source <> 'staff' AND (NOT t.sold_out OR t.until IS DISTINCT FROM excluded.until)"
        "  RETURNING 1),"
        " x AS (DELETE FROM item_availability t WHERE t.client_id = $1"
        "  AND t.source IN ('pos', 'poll')"
        "  AND NOT EXISTS (SELECT 1 FROM d WHERE d.pos_id = t.item_id) RETURNING 1)"
        " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM x)", 2, params);
    if (!res) return APR_EGENERAL;
    *pchanges = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return APR_SUCCESS;
}

/* Some items' state, as a webhook tells it. */
static apr_status_t apply_some(cs_job_t *job, const char *client_id,
                               const apr_array_header_t *stock, long *pchanges,
                               const char **perr)
{
    const char *params[2] = { client_id, stock_json(job->pool, stock, 0) };
    PGresult *res = cs_db_exec(job->conn, job->pool, perr, PGRES_TUPLES_OK,
        "WITH d AS (SELECT DISTINCT ON (pos_id) pos_id, sold_out, until"
        "   FROM jsonb_to_recordset($2::jsonb) AS x(pos_id text, sold_out boolean, until timestamptz)),"
        " u AS (INSERT INTO item_availability AS t (client_id, item_id, sold_out, until, source,"
        "   set_by, set_at) SELECT $1, pos_id, true, until, 'pos', 'webhook', now() FROM d"
        "   WHERE d.sold_out"
        "  ON CONFLICT (client_id, item_id) DO UPDATE SET sold_out = true, until = excluded.until,"
        "   source = 'pos', set_by = 'webhook', set_at = now()"
        "  WHERE t.source <> 'staff' AND (NOT t.sold_out OR t.until IS DISTINCT FROM excluded.until)"
        "  RETURNING 1),"
        " x AS (DELETE FROM item_availability t USING d WHERE t.client_id = $1"
        "  AND t.item_id = d.pos_id AND NOT d.sold_out AND t.source <> 'staff' RETURNING 1)"
        " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM x)", 2, params);
    if (!res) return APR_EGENERAL;
    *pchanges = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return APR_SUCCESS;
}

static int run_poll(cs_job_t *job, const pos_conf *c, const char *client_id)
{
    cs_pos_session_t s;
    apr_array_header_t *stock = NULL;
    const char *err = NULL;
    long changes = 0;
    apr_status_t rv;

    if (restaurant_upsert(job->conn, job->pool, c, client_id, NULL, &err) != APR_SUCCESS) {
        return fail(job, "restaurant", err);
    }
    session_for(&s, c, job->pool);
    rv = c->adapter->fetch_availability(&stock, &s, job->pool, &err);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return fail(job, "polling availability", err);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(06033)
                     "availability poll of %s failed: %s", c->slug, err ? err : "unknown error");
    }
    else {
        if (apply_full(job, client_id, stock, &changes, &err) != APR_SUCCESS
            || bump(job, client_id, changes, ", last_poll_at = now(),"
                    " last_poll_recovered = last_poll_recovered + $2::int", NULL, &err)
               != APR_SUCCESS) {
            return fail(job, "storing availability", err);
        }
        if (changes) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, LOG_S(job), CSLOGNO(06034)
                         "availability poll of %s recovered %ld change(s) no webhook brought",
                         c->slug, changes);
        }
        /* Also what webhooks changed since the last snapshot. */
        if (snapshot_due(c, changes, 0, 0)) {
            snapshot(job, c, client_id);
        }
    }
    if (reschedule(job, client_id, c->slug, c->poll, &err) != APR_SUCCESS) {
        return fail(job, "queueing the next poll", err);
    }
    return OK;
}

/* ---- journaled webhooks --------------------------------------------------- */


/* An online order's state as the POS reports it (the kitchen accepted it,
 * it is ready, it was picked up): the same forward-only move staff make
 * from the dashboard (cs_order_move), the guest told when it is ready. A
 * state the order is already past, or an order we do not know, changes
 * nothing. */
static apr_status_t order_event(cs_job_t *job, const pos_conf *c, const char *client_id,
                                const cs_pos_event_t *ev, const char **perr)
{
    const char *params[2] = { client_id, ev->order_id };
    cs_order_state_t to;
    apr_status_t rv;
    PGresult *res;
    const char *oid, *name;

    if (!strcmp(ev->order_status, CS_POS_ORDER_ACCEPTED)) to = CS_ORDER_ACCEPTED;
    else if (!strcmp(ev->order_status, CS_POS_ORDER_READY)) to = CS_ORDER_READY;
    else if (!strcmp(ev->order_status, CS_POS_ORDER_COMPLETED)) to = CS_ORDER_PICKED_UP;
    else return APR_SUCCESS;        /* pending; a POS-side cancel is for staff to refund */
    res = cs_db_exec(job->conn, job->pool, perr, PGRES_TUPLES_OK,
                     "SELECT o.id, c.name FROM orders o JOIN clients c ON c.id = o.client_id"
                     " WHERE o.client_id = $1 AND o.pos_order_id = $2", 2, params);
    if (!res) return APR_EGENERAL;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return APR_SUCCESS;
    }
    oid = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    name = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    PQclear(res);
    rv = cs_order_move(job->conn, job->pool, client_id, oid, to, "pos",
                       apr_pstrcat(job->pool, "the POS says ", ev->order_status, NULL), NULL, perr);
    if (APR_STATUS_IS_EINVAL(rv)) return APR_SUCCESS;       /* past that already */
    if (rv != APR_SUCCESS) return rv;
    if (to == CS_ORDER_READY) {
        return cs_order_tell(job->conn, job->pool, oid,
                             apr_psprintf(job->pool, "Your order from %s is ready for pickup.",
                                          name),
                             pos_core.twilio_enabled && pos_core.twilio_enabled(c->slug),
                             pos_core.email_enabled && pos_core.email_enabled(c->slug), perr);
    }
    return APR_SUCCESS;
}

static int run_event(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    apr_int64_t event = 0;
    const char *err = NULL, *perr_parse = NULL, *params[2], *client_id, *body;
    PGresult *res;
    pos_conf *c;
    cs_pos_webhook_t w;
    cs_pos_event_t *ev = NULL;
    long changes = 0;
    apr_status_t rv;

    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "event", &event)) {
        job->permanent = 1;
        return fail(job, "payload", "no event id");
    }
    params[0] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, event);
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
        "SELECT e.client_id, e.payload, e.processed_at IS NOT NULL, c.slug"
        " FROM provider_events e JOIN clients c ON c.id = e.client_id"
        " WHERE e.id = $1 FOR UPDATE OF e", 1, params);
    if (!res) return fail(job, "reading the event", err);
    if (!PQntuples(res) || PQgetvalue(res, 0, 2)[0] == 't') {
        PQclear(res);
        return OK;                  /* gone, or processed already */
    }
    client_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    body = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    c = pos_conf_for_slug(PQgetvalue(res, 0, 3));
    PQclear(res);
    if (!c) {
        job->permanent = 1;
        return fail(job, "event", "no vhost of this server has ConsultPOS for its client");
    }
    memset(&w, 0, sizeof(w));
    w.body = body;
    w.body_len = strlen(body);
    w.headers = apr_table_make(job->pool, 1);
    w.now = apr_time_now();
    rv = c->adapter->parse_webhook(&ev, &w, job->pool, &perr_parse);
    if (restaurant_upsert(job->conn, job->pool, c, client_id, NULL, &err) != APR_SUCCESS) {
        return fail(job, "restaurant", err);
    }
    if (rv != APR_SUCCESS) {
        /* Kept in the journal with the reason; a fixed parser can replay it. */
        err = perr_parse ? perr_parse : "unreadable event";
    }
    else if (ev->kind == CS_POS_EVENT_STOCK && ev->stock) {
        if (apply_some(job, client_id, ev->stock, &changes, &err) != APR_SUCCESS
            || bump(job, client_id, changes, ", last_webhook_at = now()", NULL, &err)
               != APR_SUCCESS) {
            return fail(job, "storing availability", err);
        }
        if (snapshot_due(c, changes, 0, 1)) snapshot(job, c, client_id);
        err = NULL;
    }
    else if (ev->kind == CS_POS_EVENT_STOCK || ev->kind == CS_POS_EVENT_MENU) {
        /* Bring the restaurant's pending poll or sync forward. */
        if (schedule(job->conn, job->pool, &err,
                     ev->kind == CS_POS_EVENT_MENU ? POS_JOB_SYNC : POS_JOB_POLL,
                     client_id, c->slug, 0) != APR_SUCCESS) {
            return fail(job, "queueing", err);
        }
        err = NULL;
    }
    else if (ev->kind == CS_POS_EVENT_VERIFICATION && ev->verification_code) {
        /* Clover's one-time code, for staff to paste into Clover. */
        const char *vp[2] = { client_id, ev->verification_code };
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
            "UPDATE restaurants SET pos_verification_code = $2, pos_verification_at = now()"
            " WHERE client_id = $1", 2, vp);
        if (!res) return fail(job, "storing the verification code", err);
        PQclear(res);
        err = NULL;
    }
    else if (ev->kind == CS_POS_EVENT_ORDER && ev->order_id && ev->order_status) {
        if (order_event(job, c, client_id, ev, &err) != APR_SUCCESS) {
            return fail(job, "applying the order's state", err);
        }
        err = NULL;
    }
    else {
        err = NULL;                 /* recorded; nothing to do */
    }
    params[1] = err;
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
        "UPDATE provider_events SET processed_at = now(), attempts = attempts + 1,"
        " last_error = $2 WHERE id = $1", 2, params);
    if (!res) return fail(job, "marking the event", err);
    PQclear(res);
    if (rv == APR_SUCCESS && ev->kind == CS_POS_EVENT_VERIFICATION) {
        return OK;      /* unsigned: it says nothing of the webhook's health */
    }
    params[0] = client_id;
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
        "UPDATE restaurants SET last_webhook_at = now() WHERE client_id = $1", 1, params);
    if (!res) return fail(job, "restaurant", err);
    PQclear(res);
    return OK;
}

int pos_run_job(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    const char *err = NULL, *slug;
    apr_int64_t client = 0;
    pos_conf *c;
    int sync = !strcmp(job->kind, POS_JOB_SYNC);

    if (!sync && strcmp(job->kind, POS_JOB_POLL) && strcmp(job->kind, POS_JOB_EVENT)
        && strcmp(job->kind, POS_JOB_PUSH)) {
        return DECLINED;
    }
    /* Every POS job may move the menu version: the menu caches look again
     * after its commit (a poll that found nothing costs one query each).
     * Only ours: another module's jobs must not wake every menu cache. */
    job->changed = 1;
    if (!strcmp(job->kind, POS_JOB_EVENT)) {
        return run_event(job);
    }
    if (!strcmp(job->kind, POS_JOB_PUSH)) {
        return pos_run_push(job);
    }
    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "client", &client)
        || !(slug = cs_jstr(cs_json_raw(pl), "slug"))) {
        job->permanent = 1;
        return fail(job, "payload", "expected {\"client\": ID, \"slug\": \"...\"}");
    }
    if (!(c = pos_conf_for_slug(slug))) {
        /* The vhost lost its ConsultPOS: the schedule ends here. */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, LOG_S(job), CSLOGNO(06035)
                     "%s for %s dropped: no ConsultPOS for that client any more", job->kind, slug);
        return OK;
    }
    return sync ? run_sync(job, c, apr_psprintf(job->pool, "%" APR_INT64_T_FMT, client))
                : run_poll(job, c, apr_psprintf(job->pool, "%" APR_INT64_T_FMT, client));
}
