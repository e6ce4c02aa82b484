/*
 * The menu as guests see it: GET /api/menu (JSON, ETag "v<version>"),
 * GET /api/menu/availability (sold-out ids, no-cache) and GET /menu (the
 * page, through the vhost's template). When Postgres cannot answer, each
 * serves the last snapshot the sync wrote, with X-Consult-Menu-Snapshot;
 * only without one does it answer 503.
 */
#include "pos_private.h"
#include "base/cs_file.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <stdlib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_pos);

static PGresult *q(PGconn *conn, apr_pool_t *p, const char **perr, const char *sql,
                   int n, const char *const *params)
{
    return cs_db_exec(conn, p, perr, PGRES_TUPLES_OK, sql, n, params);
}

static const char *opt(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static apr_status_t load(pos_menu_t *m, PGconn *conn, apr_pool_t *p,
                         const char *client_id, const char **perr)
{
    const char *params[1] = { client_id };
    PGresult *res;
    apr_hash_t *groups = apr_hash_make(p);
    int i;

    res = q(conn, p, perr,
            "SELECT r.menu_version, r.currency, c.name FROM clients c"
            " LEFT JOIN restaurants r ON r.client_id = c.id WHERE c.id = $1", 1, params);
    if (!res) return APR_EGENERAL;
    if (PQntuples(res) == 1) {
        m->version = opt(res, 0, 0) ? apr_atoi64(PQgetvalue(res, 0, 0)) : 0;
        m->currency = opt(res, 0, 1) ? apr_pstrdup(p, PQgetvalue(res, 0, 1)) : "USD";
        m->name = apr_pstrdup(p, PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    m->menu = cs_menu_make(p, m->currency);

    res = q(conn, p, perr, "SELECT pos_id, name, description, sort FROM menu_categories"
            " WHERE client_id = $1 ORDER BY sort, name, pos_id", 1, params);
    if (!res) return APR_EGENERAL;
    for (i = 0; i < PQntuples(res); i++) {
        cs_menu_category_t *c = apr_array_push(m->menu->categories);
        c->pos_id = apr_pstrdup(p, PQgetvalue(res, i, 0));
        c->name = apr_pstrdup(p, PQgetvalue(res, i, 1));
        c->description = opt(res, i, 2) ? apr_pstrdup(p, PQgetvalue(res, i, 2)) : NULL;
        c->sort = atoi(PQgetvalue(res, i, 3));
    }
    PQclear(res);

    res = q(conn, p, perr, "SELECT pos_id, name, min_choices, max_choices"
            " FROM menu_modifier_groups WHERE client_id = $1 ORDER BY pos_id", 1, params);
    if (!res) return APR_EGENERAL;
    for (i = 0; i < PQntuples(res); i++) {
        cs_menu_group_t *g = apr_array_push(m->menu->groups);
        g->pos_id = apr_pstrdup(p, PQgetvalue(res, i, 0));
        g->name = apr_pstrdup(p, PQgetvalue(res, i, 1));
        g->min = atoi(PQgetvalue(res, i, 2));
        g->max = atoi(PQgetvalue(res, i, 3));
        g->modifiers = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
    }
    PQclear(res);
    for (i = 0; i < m->menu->groups->nelts; i++) {
        cs_menu_group_t *g = &APR_ARRAY_IDX(m->menu->groups, i, cs_menu_group_t);
        apr_hash_set(groups, g->pos_id, APR_HASH_KEY_STRING, g);
    }

    res = q(conn, p, perr, "SELECT group_id, pos_id, name, price_cents FROM menu_modifiers"
            " WHERE client_id = $1 ORDER BY group_id, sort, pos_id", 1, params);
    if (!res) return APR_EGENERAL;
    for (i = 0; i < PQntuples(res); i++) {
        cs_menu_group_t *g = apr_hash_get(groups, PQgetvalue(res, i, 0), APR_HASH_KEY_STRING);
        cs_menu_modifier_t *md;
        if (!g) continue;
        md = apr_array_push(g->modifiers);
        md->pos_id = apr_pstrdup(p, PQgetvalue(res, i, 1));
        md->name = apr_pstrdup(p, PQgetvalue(res, i, 2));
        md->price_cents = apr_atoi64(PQgetvalue(res, i, 3));
        md->sold_out = 0;
    }
    PQclear(res);

    res = q(conn, p, perr,
            "SELECT i.pos_id, i.category, i.name, i.description, i.image_url, i.price_cents,"
            " i.sort, i.visible, i.prep_points,"
            " EXISTS (SELECT 1 FROM item_availability a WHERE a.client_id = i.client_id"
            "   AND a.item_id = i.pos_id AND a.sold_out AND (a.until IS NULL OR a.until > now())),"
            " (SELECT string_agg(g.group_id, ' ' ORDER BY g.sort, g.group_id)"
            "   FROM menu_item_groups g WHERE g.client_id = i.client_id AND g.item_id = i.pos_id)"
            " FROM menu_items i WHERE i.client_id = $1 ORDER BY i.sort, i.name, i.pos_id",
            1, params);
    if (!res) return APR_EGENERAL;
    for (i = 0; i < PQntuples(res); i++) {
        cs_menu_item_t *it = apr_array_push(m->menu->items);
        char *gs, *tok, *last = NULL;
        it->pos_id = apr_pstrdup(p, PQgetvalue(res, i, 0));
        it->category_id = apr_pstrdup(p, PQgetvalue(res, i, 1));
        it->name = apr_pstrdup(p, PQgetvalue(res, i, 2));
        it->description = opt(res, i, 3) ? apr_pstrdup(p, PQgetvalue(res, i, 3)) : NULL;
        it->image_url = opt(res, i, 4) ? apr_pstrdup(p, PQgetvalue(res, i, 4)) : NULL;
        it->price_cents = apr_atoi64(PQgetvalue(res, i, 5));
        it->sort = atoi(PQgetvalue(res, i, 6));
        it->visible = PQgetvalue(res, i, 7)[0] == 't';
        it->prep_points = atoi(PQgetvalue(res, i, 8));
        it->sold_out = PQgetvalue(res, i, 9)[0] == 't';
        it->group_ids = apr_array_make(p, 2, sizeof(const char *));
        gs = opt(res, i, 10) ? apr_pstrdup(p, PQgetvalue(res, i, 10)) : NULL;
        for (tok = gs ? apr_strtok(gs, " ", &last) : NULL; tok; tok = apr_strtok(NULL, " ", &last)) {
            APR_ARRAY_PUSH(it->group_ids, const char *) = tok;
        }
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t pos_menu_load(pos_menu_t **pout, PGconn *conn, apr_pool_t *p,
                           const char *client_id, const char **perr)
{
    pos_menu_t *m = apr_pcalloc(p, sizeof(*m));
    int in_tx = PQtransactionStatus(conn) != PQTRANS_IDLE;
    apr_status_t rv;

    m->currency = "USD";
    m->name = "";
    /* One snapshot of the database for the five reads: a sync committing
     * in between must not mix two menus. Inside a job's transaction the
     * job's own writes are what it wants to see. */
    if (!in_tx && cs_db_command(conn, p, perr, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = load(m, conn, p, client_id, perr);
    if (!in_tx) {
        const char *err2 = NULL;
        if (cs_db_command(conn, p, &err2, rv == APR_SUCCESS ? "COMMIT" : "ROLLBACK")
            != APR_SUCCESS && rv == APR_SUCCESS) {
            *perr = err2;
            rv = APR_EGENERAL;
        }
    }
    *pout = m;
    return rv;
}

static const cs_menu_group_t *find_group(const pos_menu_t *m, const char *id)
{
    int i;
    for (i = 0; i < m->menu->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->menu->groups, i, cs_menu_group_t);
        if (!strcmp(g->pos_id, id)) return g;
    }
    return NULL;
}

static const char *rule(apr_pool_t *p, const cs_menu_group_t *g)
{
    if (g->min == 0 && g->max == 0) return "Choose any";
    if (g->min == g->max) return apr_psprintf(p, "Choose %d", g->min);
    if (g->min == 0) return apr_psprintf(p, "Choose up to %d", g->max);
    return apr_psprintf(p, "Choose %d to %d", g->min, g->max);
}

/* Both shapes walk the same loop; @p page selects the template's fields. */
static cs_json_t *build(apr_pool_t *p, const pos_menu_t *m, int page)
{
    cs_json_t *doc = cs_json_object(p), *cats = cs_json_array(p);
    int i, j, k, l;

    cs_json_set_str(doc, "currency", m->currency);
    cs_json_set_int(doc, "version", m->version);
    for (i = 0; i < m->menu->categories->nelts; i++) {
        const cs_menu_category_t *c = &APR_ARRAY_IDX(m->menu->categories, i, cs_menu_category_t);
        cs_json_t *cat = cs_json_object(p), *items = cs_json_array(p);
        int n = 0;
        cs_json_set_str(cat, "id", c->pos_id);
        cs_json_set_str(cat, "name", c->name);
        if (c->description) cs_json_set_str(cat, "description", c->description);
        for (j = 0; j < m->menu->items->nelts; j++) {
            const cs_menu_item_t *it = &APR_ARRAY_IDX(m->menu->items, j, cs_menu_item_t);
            cs_json_t *item, *groups;
            if (!it->visible || strcmp(it->category_id, c->pos_id)) continue;
            item = cs_json_object(p);
            groups = cs_json_array(p);
            cs_json_set_str(item, "id", it->pos_id);
            cs_json_set_str(item, "name", it->name);
            if (it->description) cs_json_set_str(item, "description", it->description);
            if (!page) cs_json_set_int(item, "price_cents", it->price_cents);
            cs_json_set_str(item, "price", cs_menu_format_price(p, it->price_cents, m->currency));
            cs_json_set_bool(item, "sold_out", it->sold_out);
            if (page && it->sold_out) cs_json_set_str(item, "sold_out_label", "Sold out today");
            for (k = 0; k < it->group_ids->nelts; k++) {
                const cs_menu_group_t *g = find_group(m, APR_ARRAY_IDX(it->group_ids, k, const char *));
                cs_json_t *grp, *mods;
                if (!g) continue;
                grp = cs_json_object(p);
                mods = cs_json_array(p);
                cs_json_set_str(grp, "id", g->pos_id);
                cs_json_set_str(grp, "name", g->name);
                if (page) {
                    cs_json_set_str(grp, "rule", rule(p, g));
                    cs_json_set_bool(grp, "required", g->min > 0);
                }
                else {
                    cs_json_set_int(grp, "min", g->min);
                    cs_json_set_int(grp, "max", g->max);
                }
                for (l = 0; l < g->modifiers->nelts; l++) {
                    const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, l, cs_menu_modifier_t);
                    cs_json_t *mod = cs_json_object(p);
                    cs_json_set_str(mod, "id", md->pos_id);
                    cs_json_set_str(mod, "name", md->name);
                    if (page) {
                        cs_json_set_str(mod, "price_delta", md->price_cents == 0 ? ""
                            : apr_pstrcat(p, md->price_cents > 0 ? "+" : "",
                                          cs_menu_format_price(p, md->price_cents, m->currency),
                                          NULL));
                    }
                    else {
                        cs_json_set_int(mod, "price_cents", md->price_cents);
                    }
                    cs_json_append(mods, mod);
                }
                cs_json_set_obj(grp, "modifiers", mods);
                cs_json_append(groups, grp);
            }
            cs_json_set_obj(item, "modifier_groups", groups);
            cs_json_append(items, item);
            n++;
        }
        if (!n) continue;           /* a category with nothing to show */
        cs_json_set_obj(cat, "items", items);
        cs_json_append(cats, cat);
    }
    cs_json_set_obj(doc, "categories", cats);
    return doc;
}

const char *pos_menu_api_json(apr_pool_t *p, const pos_menu_t *m)
{
    return cs_json_dump(build(p, m, 0), p);
}

const char *pos_menu_availability_json(apr_pool_t *p, const pos_menu_t *m, int stale,
                                       const char *updated_at)
{
    cs_json_t *doc = cs_json_object(p), *ids = cs_json_array(p);
    int i;
    cs_json_set_int(doc, "version", m->version);
    for (i = 0; i < m->menu->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->menu->items, i, cs_menu_item_t);
        if (it->sold_out && it->visible) {
            /* the array (owned by @p p) takes the new string */
            json_object_array_add(cs_json_raw(ids), json_object_new_string(it->pos_id));
        }
    }
    cs_json_set_obj(doc, "sold_out", ids);
    cs_json_set_str(doc, "updated_at", updated_at);
    cs_json_set_bool(doc, "stale", stale);
    return cs_json_dump(doc, p);
}

const char *pos_menu_page(apr_pool_t *p, const pos_conf *c, const pos_menu_t *m,
                          const char *snapshot_at, const char **perr)
{
    cs_json_t *doc = build(p, m, 1), *rest = cs_json_object(p);
    const char *out = NULL;

    if (!c->tmpl) {
        *perr = "no ConsultPOSMenuTemplate";
        return NULL;
    }
    cs_json_set_str(rest, "name", m->name);
    cs_json_set_str(rest, "slug", c->slug);
    cs_json_set_obj(doc, "restaurant", rest);
    if (snapshot_at) {
        cs_json_t *snap = cs_json_object(p);
        cs_json_set_str(snap, "updated_at", snapshot_at);
        cs_json_set_obj(doc, "snapshot", snap);
    }
    if (cs_tmpl_render(&out, NULL, p, c->tmpl, "menu", cs_json_raw(doc), perr) != APR_SUCCESS) {
        return NULL;
    }
    return out;
}

/* ---- the handlers ------------------------------------------------------ */

enum { R_PAGE, R_MENU, R_AVAIL };

static const char *snapshot_path(apr_pool_t *p, const pos_conf *c, int what)
{
    return apr_pstrcat(p, c->snapshot_dir, "/", c->slug,
                       what == R_PAGE ? ".html" : what == R_MENU ? ".json" : ".availability.json",
                       NULL);
}

static int send_body(request_rec *r, const char *ctype, const char *body, apr_size_t len)
{
    ap_set_content_type(r, ctype);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    ap_set_content_length(r, len);
    if (!r->header_only) ap_rwrite(body, (int)len, r);
    return OK;
}

static const char *ctype_of(int what)
{
    return what == R_PAGE ? "text/html; charset=utf-8" : "application/json; charset=utf-8";
}

/* The last snapshot, or 503 when there is none. */
static int serve_snapshot(request_rec *r, const pos_conf *c, int what, const char *why)
{
    const char *path = snapshot_path(r->pool, c, what);
    apr_finfo_t fi;
    char *buf = NULL;
    apr_size_t len = 0;

    if (apr_stat(&fi, path, APR_FINFO_MTIME, r->pool) != APR_SUCCESS
        || cs_file_read(&buf, &len, r->pool, path, 16 << 20) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(06020)
                      "menu of %s unavailable (%s) and no snapshot yet", c->slug, why);
        return pos_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                   "The menu is unavailable right now. Please try again shortly.");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(06021)
                  "serving the menu snapshot of %s (%s)", c->slug, why);
    apr_table_setn(r->headers_out, "X-Consult-Menu-Snapshot", pos_rfc3339(r->pool, fi.mtime));
    return send_body(r, ctype_of(what), buf, len);
}

/* If-None-Match holds @p etag (or "*"). */
static int etag_matches(request_rec *r, const char *etag)
{
    const char *inm = apr_table_get(r->headers_in, "If-None-Match");
    char *list, *tok, *last = NULL;
    if (!inm) return 0;
    list = apr_pstrdup(r->pool, inm);
    for (tok = apr_strtok(list, ", \t", &last); tok; tok = apr_strtok(NULL, ", \t", &last)) {
        if (!strncmp(tok, "W/", 2)) tok += 2;      /* weak comparison, as for GET */
        if (!strcmp(tok, "*") || !strcmp(tok, etag)) return 1;
    }
    return 0;
}

/* ---- the per-child cache -------------------------------------------------
 * A menu changes a few times a day (and on every sold-out mark); guests ask
 * for it far more often. Each child keeps the last rendered menu JSON,
 * availability JSON and page under the menu version they were built from:
 * a request reads only restaurants.menu_version (one indexed row) and, when
 * it matches, answers from memory; a 304 needs nothing more. The version
 * moves on every change (sync, webhook, poll, staff 86), so nothing stale
 * is served for longer than a version bump takes to commit. */
typedef struct {
    apr_int64_t version;            /* -1: empty */
    apr_int64_t expiry;             /* the next staff mark to run out, epoch
                                       seconds (0: none): when it passes, the
                                       content changes without a new version */
    char *body;                     /* malloc'd; replaced under the lock */
    apr_size_t len;
} cache_slot;

struct pos_cache {
    apr_thread_mutex_t *lock;
    cache_slot slot[3];             /* R_PAGE, R_MENU, R_AVAIL */
    /* The menu version this child last read, and the change board's
     * generation it read it at (core_changes.c): trusted without asking
     * Postgres while the generation stands, for at most MEMO_TTL: the
     * board is one node's, so a change made by another node (its job
     * worker) or outside Apache (psql) shows within that. */
    int memo_valid;
    apr_uint32_t memo_gen;
    apr_int64_t memo_version, memo_expiry;
    apr_time_t memo_at;
};

#define MEMO_TTL apr_time_from_msec(250)

static apr_status_t cache_free(void *data)
{
    struct pos_cache *pc = data;
    int i;

    for (i = 0; i < 3; i++) {
        free(pc->slot[i].body);
        pc->slot[i].body = NULL;
    }
    return APR_SUCCESS;
}

void pos_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        pos_conf *c = pos_sconf(v);
        struct pos_cache *pc;
        int i;

        if (!c->kind || c->cache) {
            continue;
        }
        pc = apr_pcalloc(pchild, sizeof(*pc));
        if (apr_thread_mutex_create(&pc->lock, APR_THREAD_MUTEX_DEFAULT, pchild)
            != APR_SUCCESS) {
            continue;               /* no cache: every request renders */
        }
        for (i = 0; i < 3; i++) {
            pc->slot[i].version = -1;
        }
        apr_pool_cleanup_register(pchild, pc, cache_free, apr_pool_cleanup_null);
        c->cache = pc;
    }
}

/* A copy, in @p p, of what @p what rendered at @p version and @p expiry,
 * or NULL. */
static const char *cache_get(const pos_conf *c, int what, apr_int64_t version,
                             apr_int64_t expiry, apr_pool_t *p, apr_size_t *plen)
{
    struct pos_cache *pc = c->cache;
    char *out = NULL;

    if (!pc || version < 0 || apr_thread_mutex_lock(pc->lock) != APR_SUCCESS) {
        return NULL;
    }
    if (pc->slot[what].version == version && pc->slot[what].expiry == expiry
        && pc->slot[what].body) {
        *plen = pc->slot[what].len;
        out = apr_pmemdup(p, pc->slot[what].body, *plen + 1);
    }
    apr_thread_mutex_unlock(pc->lock);
    return out;
}

static void cache_put(const pos_conf *c, int what, apr_int64_t version,
                      apr_int64_t expiry, const char *body, apr_size_t len)
{
    struct pos_cache *pc = c->cache;
    char *copy;

    if (!pc || version < 0 || !(copy = malloc(len + 1))) {
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    if (apr_thread_mutex_lock(pc->lock) != APR_SUCCESS) {
        free(copy);
        return;
    }
    /* Never replace a newer rendering with an older one. */
    if (pc->slot[what].version <= version) {
        free(pc->slot[what].body);
        pc->slot[what].body = copy;
        pc->slot[what].len = len;
        pc->slot[what].version = version;
        pc->slot[what].expiry = expiry;
        copy = NULL;
    }
    apr_thread_mutex_unlock(pc->lock);
    free(copy);
}

/* The remembered version when it still holds at @p now under @p gen. */
static int memo_get(const pos_conf *c, apr_uint32_t gen, apr_time_t now,
                    apr_int64_t *pversion, apr_int64_t *pexpiry)
{
    struct pos_cache *pc = c->cache;
    int ok = 0;

    if (!pc || apr_thread_mutex_lock(pc->lock) != APR_SUCCESS) {
        return 0;
    }
    if (pc->memo_valid && pc->memo_gen == gen && now - pc->memo_at < MEMO_TTL
        && now >= pc->memo_at
        /* a staff mark running out changes the menu without a version */
        && (!pc->memo_expiry || apr_time_sec(now) < pc->memo_expiry)) {
        *pversion = pc->memo_version;
        *pexpiry = pc->memo_expiry;
        ok = 1;
    }
    apr_thread_mutex_unlock(pc->lock);
    return ok;
}

static void memo_put(const pos_conf *c, apr_uint32_t gen, apr_time_t at,
                     apr_int64_t version, apr_int64_t expiry)
{
    struct pos_cache *pc = c->cache;

    if (!pc || version < 0 || apr_thread_mutex_lock(pc->lock) != APR_SUCCESS) {
        return;
    }
    pc->memo_valid = 1;
    pc->memo_gen = gen;
    pc->memo_at = at;
    pc->memo_version = version;
    pc->memo_expiry = expiry;
    apr_thread_mutex_unlock(pc->lock);
}

/* restaurants.menu_version, or -1 (no row yet: the menu is not synced),
 * -2 when the query failed; *pexpiry the next staff mark to run out. */
static apr_int64_t menu_version(PGconn *conn, apr_pool_t *p, const char *client_id,
                                apr_int64_t *pexpiry, const char **perr)
{
    const char *params[1] = { client_id };
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "SELECT r.menu_version, coalesce((SELECT extract(epoch FROM min(a.until))::bigint"
        "   FROM item_availability a WHERE a.client_id = r.client_id AND a.until > now()), 0)"
        " FROM restaurants r WHERE r.client_id = $1", 1, params);
    apr_int64_t v = -1;

    *pexpiry = 0;
    if (!res) {
        return -2;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        v = apr_atoi64(PQgetvalue(res, 0, 0));
        *pexpiry = apr_atoi64(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return v;
}

/* Strong, and different whenever the content can be: the version, and the
 * next staff mark to run out (its passing changes the menu by itself). */
static const char *etag_of(apr_pool_t *p, apr_int64_t version, apr_int64_t expiry)
{
    return expiry ? apr_psprintf(p, "\"v%" APR_INT64_T_FMT "-%" APR_INT64_T_FMT "\"",
                                 version, expiry)
                  : apr_psprintf(p, "\"v%" APR_INT64_T_FMT "\"", version);
}

static int answer(request_rec *r, pos_conf *c, int what, PGconn *conn,
                  const cs_client_t *client, apr_int64_t version, apr_int64_t expiry);

int pos_api_handler(request_rec *r)
{
    pos_conf *c = pos_sconf(r->server);
    int what = !strcmp(r->uri, "/menu") ? R_PAGE
             : !strcmp(r->uri, "/api/menu") ? R_MENU : R_AVAIL;
    const cs_client_t *client = NULL;
    PGconn *conn = NULL;
    const char *err = NULL;
    apr_int64_t version = -1, expiry = 0;
    apr_time_t now = apr_time_now();
    apr_uint32_t gen = 0;
    int have_gen;
    apr_status_t rv;

    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return pos_core.send_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use GET");
    }
    if (what == R_PAGE && !c->tmpl) {
        return DECLINED;            /* no page configured: the site's own files */
    }
    rv = pos_core.client_get(r, &client);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return pos_core.send_error(r, HTTP_NOT_FOUND, "not_found", "No such page.");
    }
    if (rv != APR_SUCCESS) {
        return serve_snapshot(r, c, what, "the database cannot be reached");
    }
    /* The generation is read before Postgres is: a change committed while
     * we ask moves it, and what we read is not trusted past that. */
    have_gen = pos_core.content_generation(&gen);
    if (c->ensured && have_gen && memo_get(c, gen, now, &version, &expiry)) {
        return answer(r, c, what, NULL, client, version, expiry);
    }
    if (pos_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return serve_snapshot(r, c, what, "no database connection");
    }
    if (!c->ensured) {
        /* First request in this child: the restaurant row and its jobs. */
        if (pos_ensure(conn, r->pool, c, client->id_str, &err) == APR_SUCCESS) {
            c->ensured = 1;
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(06022)
                          "cannot set up the restaurant %s: %s", c->slug, err);
        }
    }
    version = menu_version(conn, r->pool, client->id_str, &expiry, &err);
    if (version == -2) {
        return serve_snapshot(r, c, what, err ? err : "query failed");
    }
    if (have_gen && c->ensured) {
        memo_put(c, gen, now, version, expiry);
    }
    return answer(r, c, what, conn, client, version, expiry);
}

/* Answer from @p version: a 304, the cache, or a fresh rendering (asking
 * for a connection only then, when @p conn is NULL). */
static int answer(request_rec *r, pos_conf *c, int what, PGconn *conn,
                  const cs_client_t *client, apr_int64_t version, apr_int64_t expiry)
{
    pos_menu_t *m = NULL;
    const char *err = NULL, *cached, *body;
    apr_size_t len = 0;

    if (what == R_MENU && version >= 0) {
        /* The ETag is the version: a 304 needs nothing else. */
        apr_table_setn(r->headers_out, "ETag", etag_of(r->pool, version, expiry));
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        if (etag_matches(r, etag_of(r->pool, version, expiry))) {
            return HTTP_NOT_MODIFIED;
        }
    }
    if ((cached = cache_get(c, what, version, expiry, r->pool, &len))) {
        return send_body(r, ctype_of(what), cached, len);
    }
    if (!conn && pos_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return serve_snapshot(r, c, what, "no database connection");
    }
    if (pos_menu_load(&m, conn, r->pool, client->id_str, &err) != APR_SUCCESS) {
        return serve_snapshot(r, c, what, err ? err : "query failed");
    }
    if (what == R_AVAIL) {
        /* updated_at: when this availability was read (cached with it). */
        body = pos_menu_availability_json(r->pool, m, 0, pos_rfc3339(r->pool, apr_time_now()));
    }
    else if (what == R_MENU) {
        const char *etag = etag_of(r->pool, m->version, m->version == version ? expiry : 0);
        apr_table_setn(r->headers_out, "ETag", etag);
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        if (etag_matches(r, etag)) {
            return HTTP_NOT_MODIFIED;
        }
        body = pos_menu_api_json(r->pool, m);
    }
    else if (!(body = pos_menu_page(r->pool, c, m, NULL, &err))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(06023)
                      "rendering the menu of %s failed: %s", c->slug, err);
        return serve_snapshot(r, c, what, "render failed");
    }
    len = strlen(body);
    if (m->version == version) {
        cache_put(c, what, version, expiry, body, len);   /* else a change raced in */
    }
    return send_body(r, ctype_of(what), body, len);
}
