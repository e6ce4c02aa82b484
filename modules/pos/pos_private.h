/* Internal to mod_consult_pos. */
#ifndef POS_PRIVATE_H
#define POS_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "db/cs_db.h"
#include "base/cs_json.h"
#include "text/cs_tmpl.h"
#include "providers/pos/cs_pos.h"
#include "domain/cs_menu.h"

#define CSLOGNO(n) "CS" #n ": "

extern module AP_MODULE_DECLARE_DATA consult_pos_module;

#define POS_JOB_SYNC  "pos.menu.sync"
#define POS_JOB_POLL  "pos.availability.poll"
#define POS_JOB_EVENT "pos.event"
#define POS_JOB_PUSH  "pos.item.push"  /* a staff 86 from the dashboard, to the POS */
#define POS_PROVIDER_PREFIX "pos."   /* journal provider: pos.mock, pos.square... */

typedef struct {
    const char *kind;               /* ConsultPOS; NULL: off */
    cs_pos_conf_t pos;              /* what the adapter reads */
    apr_interval_time_t menu_sync;  /* -1 unset */
    apr_interval_time_t poll;
    const char *snapshot_dir;
    const char *template_file;
    int tax_rate_bp;                /* -1 unset */
    /* resolved in check_config */
    const cs_pos_adapter_t *adapter;
    const char *slug;
    cs_tmpl_set_t *tmpl;            /* NULL: no page (template missing) */
    const char *defn;               /* "file:line" of the vhost */
    volatile int ensured;           /* this child made sure of the row and jobs */
    struct pos_cache *cache;        /* this child's rendered answers, by menu
                                       version (pos_api.c); made in child_init */
} pos_conf;

extern cs_core_t pos_core;

pos_conf *pos_sconf(server_rec *s);
/* The conf of the vhost bound to @p slug with a POS, or NULL. */
pos_conf *pos_conf_for_slug(const char *slug);

/* pos_sync.c */
int pos_run_job(cs_job_t *job);
/* The restaurant row (created or brought up to date from the directives)
 * and its sync and poll jobs, due now; idempotent. */
/* pos_api.c: the per-child cache of rendered answers. */
void pos_cache_child_init(apr_pool_t *pchild, server_rec *s);
/* pos_sync.c: the consult_worker_start hook. */
void pos_worker_start(server_rec *s, PGconn *conn, apr_pool_t *p);
apr_status_t pos_ensure(PGconn *conn, apr_pool_t *p, const pos_conf *c,
                        const char *client_id, const char **perr);
/* Write SLUG.json, SLUG.availability.json and SLUG.html into the snapshot
 * folder from the database as @p conn sees it. */
apr_status_t pos_write_snapshot(PGconn *conn, apr_pool_t *p, const pos_conf *c,
                                const char *client_id, const char **perr);

/* pos_api.c: the menu as stored, and its two shapes. */
typedef struct {
    apr_int64_t version;
    const char *currency;
    const char *name;               /* the client's name */
    cs_menu_t *menu;                /* items' sold_out: now */
} pos_menu_t;
apr_status_t pos_menu_load(pos_menu_t **pout, PGconn *conn, apr_pool_t *p,
                           const char *client_id, const char **perr);
const char *pos_menu_api_json(apr_pool_t *p, const pos_menu_t *m);
const char *pos_menu_availability_json(apr_pool_t *p, const pos_menu_t *m, int stale,
                                       const char *updated_at);
/* The page, or NULL with *perr. @p snapshot_at: the "menu as of" time, or
 * NULL for the live page. */
const char *pos_menu_page(apr_pool_t *p, const pos_conf *c, const pos_menu_t *m,
                          const char *snapshot_at, const char **perr);
int pos_api_handler(request_rec *r);

/* pos_push.c: the pos.item.push job. */
int pos_run_push(cs_job_t *job);

/* pos_orders.c: the optional functions mod_consult_orders uses. */
apr_status_t cs_pos_menu(PGconn *conn, apr_pool_t *p, const char *slug,
                         const char *client_id, cs_pos_menu_info_t *out, const char **perr);
apr_status_t cs_pos_submit(apr_pool_t *p, const char *slug, const cs_pos_order_t *order,
                           cs_pos_order_result_t **pres, const char **perr);

/* pos_webhooks.c */
int pos_webhook_handler(request_rec *r);

/* Current time as RFC 3339 UTC ("2026-05-01T12:00:00Z"). */
const char *pos_rfc3339(apr_pool_t *p, apr_time_t t);

#endif
