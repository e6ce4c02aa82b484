/* Internal to mod_consult_core. */
#ifndef CORE_PRIVATE_H
#define CORE_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include <apr_hash.h>
#include "db/cs_db.h"
#include "mod_consult_core.h"

/* Log tags: CS + module number + call site, never reused. */
#define CSLOGNO(n) "CS" #n ": "

extern module AP_MODULE_DECLARE_DATA consult_core_module;

/* Server-wide settings (GLOBAL_ONLY directives), kept on the main server. */
typedef struct {
    const char *conninfo;            /* NULL: ConsultDatabase not set */
    int min, keep, max;              /* -1: unset */
    apr_interval_time_t ttl;         /* -1: unset, for all durations */
    apr_interval_time_t acquire_timeout;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t statement_timeout;
    int prepare;                     /* ConsultDatabasePrepare, -1: unset */
    int retry_after;                 /* seconds, -1: unset */
    int worker;                      /* ConsultJobWorker, -1: unset */
    apr_interval_time_t job_poll;
    apr_interval_time_t job_lease;
    apr_interval_time_t job_backoff;
    apr_interval_time_t job_backoff_max;
    int job_max_attempts;
    int drain_threads;
    const unsigned char *secret;     /* ConsultSecret, or made at startup */
    apr_size_t secret_len;
    const char *ratelimit_cache;     /* "provider[:args]", NULL: shmcb */
    /* per-vhost */
    const char *client_slug;         /* NULL: unset (inherits) */
    const char *reply_order;         /* ConsultReplyOrder, NULL: unset */
} core_server_conf;

/* Per-child state, created in child_init. */
typedef struct {
    cs_db_pool_t *pool;
    apr_pool_t *cpool;
    apr_thread_mutex_t *mutex;       /* guards clients */
    apr_hash_t *clients;             /* slug -> client_entry */
} core_child;

extern core_child *cs_core_child;

core_server_conf *core_sconf(server_rec *s);
/* Resolved settings of the main server (defaults filled in). */
void core_db_params(server_rec *main_s, cs_db_params_t *out);
int core_retry_after(server_rec *s);

/* Resolved job worker settings. */
typedef struct {
    int enabled;
    apr_interval_time_t poll, lease, backoff, backoff_max;
    int max_attempts;
    int drain_threads;      /* journal drain threads per node */
} core_worker_conf;
void core_worker_settings(server_rec *main_s, core_worker_conf *out);

/* core_worker.c */
/* The functions registered for optional hook @p name, in order: APR keeps
 * each as a link struct whose first member is the function; cast it to
 * the hook's own type. */
typedef struct {
    void (*fn)(void);
    const char *name;
    const char *const *pre, *const *succ;
    int order;
} core_hook_link;
const core_hook_link *core_hooks_of(const char *name, int *pn);
int core_worker_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
extern const command_rec core_cmds[];
void *core_create_server(apr_pool_t *p, server_rec *s);
void *core_merge_server(apr_pool_t *p, void *base, void *add);
int core_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s);

/* core_db.c */
void core_child_init(apr_pool_t *p, server_rec *s);
apr_status_t cs_db_acquire(request_rec *r, PGconn **pconn);
apr_status_t cs_client_get(request_rec *r, const cs_client_t **pclient);
const char *cs_client_slug(server_rec *s);
const char *cs_reply_order(const char *slug);

/* core_ratelimit.c */
int core_ratelimit_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int core_ratelimit_check(server_rec *s, apr_pool_t *ptemp);
int core_ratelimit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s);
void core_ratelimit_child_init(apr_pool_t *p, server_rec *s);
int cs_rate_limit(request_rec *r, const char *key, int limit,
                  apr_interval_time_t window, int *pretry_after);
void cs_server_secret(server_rec *s, const unsigned char **pkey, apr_size_t *plen);

/* core_journal.c */
apr_status_t cs_journal_record(request_rec *r, const char *provider, const char *event_id,
                               const char *payload, apr_size_t len, const char *job_kind,
                               int *pduplicate);
apr_status_t cs_journal_append(request_rec *r, const char *provider, const char *event_id,
                               const char *payload, apr_size_t len,
                               apr_int64_t *pid, int *pduplicate);
apr_status_t cs_journal_add(PGconn *conn, apr_pool_t *p, const char *provider,
                            const char *client_id, const char *event_id, const char *payload,
                            apr_size_t len, apr_int64_t *pid, int *pduplicate,
                            const char **perr);

/* core_changes.c */
int core_changes_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);
void cs_content_changed(void);
int cs_content_generation(apr_uint32_t *pgen);
/* At most one journal NOTIFY per node per CS_NOTIFY_GAP (ms); the worker
 * claims again CS_NOTIFY_RECHECK after each notification it gets. 1 when
 * this writer should notify. */
#define CS_NOTIFY_GAP 10
#define CS_NOTIFY_RECHECK apr_time_from_msec(30)
int cs_jobs_notify_due(void);

/* core_counts.c */
int cs_edge_count(const char *client_id, const char *reason);
int core_counts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
void core_counts_child_init(apr_pool_t *pchild, server_rec *s);

/* core_http.c */
int cs_send_error(request_rec *r, int status, const char *code,
                    const char *message);
int cs_send_json(request_rec *r, int status, const char *body);
int cs_read_form(request_rec *r, int max_fields, apr_size_t max_bytes,
                 apr_array_header_t **pfields);
int cs_read_body(request_rec *r, apr_size_t max, char **pbuf, apr_size_t *plen);
int core_health_handler(request_rec *r);

#endif
