/**
 * @file mod_consult_core.h
 * @brief What mod_consult_core shares with the other Consult modules.
 *
 * Like mod_dbd's ap_dbd_acquire, everything is published as APR optional
 * functions: a feature module retrieves them in its optional_fn_retrieve
 * hook and refuses to start, with one clear line, when core is not loaded.
 */
#ifndef MOD_CONSULT_CORE_H
#define MOD_CONSULT_CORE_H

#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_optional.h"
#include <libpq-fe.h>
#include "apr_optional_hooks.h"
#include "db/cs_jobs.h"
#include "base/cs_json.h"
#include "providers/pos/cs_pos.h"

/**
 * A directive handler's error, prefixed with the directive's name, so every
 * module's `apachectl -t` lines read "ConsultX: expected ..., got '...'".
 * NULL stays NULL.
 */
static APR_INLINE const char *cs_directive_error(cmd_parms *cmd, const char *err)
{
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL) : NULL;
}

/** The tenant a vhost is bound to with ConsultClient. */
typedef struct {
    apr_int64_t id;
    const char *id_str;   /**< id as text, ready for SQL parameters */
    const char *slug;
    const char *name;
} cs_client_t;

/**
 * The request's database connection. Every call during one request returns
 * the same connection; it goes back to the pool in the request pool's
 * cleanup (drained and rolled back if a handler left a transaction open).
 * @return APR_SUCCESS, or an error when Postgres is unreachable or the pool
 * stayed exhausted past ConsultPoolAcquireTimeout (answer 503, see below).
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_db_acquire,
                        (request_rec *r, PGconn **pconn));

/**
 * The vhost's client. APR_NOTFOUND when the vhost has no ConsultClient or
 * its slug is not in the clients table (logged once per slug); another
 * error when the database could not be asked.
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_client_get,
                        (request_rec *r, const cs_client_t **pclient));

/** The (merged) server's ConsultClient slug, or NULL; no database needed. */
APR_DECLARE_OPTIONAL_FN(const char *, cs_client_slug, (server_rec *s));

/**
 * The server secret (ConsultSecret, or a random one made at startup) for
 * HMACs such as form tokens.
 */
APR_DECLARE_OPTIONAL_FN(void, cs_server_secret,
                        (server_rec *s, const unsigned char **pkey,
                         apr_size_t *plen));

/**
 * Count one hit of @p key in a fixed window of @p window, shared by every
 * process through mod_socache (ConsultRateLimitCache, shmcb by default).
 * @return 1 when within @p limit; 0 when over it, with *pretry_after the
 * seconds until the window ends. Fails open (1) if the cache fails.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_rate_limit,
                        (request_rec *r, const char *key, int limit,
                         apr_interval_time_t window, int *pretry_after));

/**
 * Send an error with @p status: JSON {"error": code, "message": message},
 * or for a person (htmx, or a browser whose Accept names text/html) an
 * HTML fragment or a small page saying @p message. 503 gets Retry-After
 * (ConsultRetryAfter). Returns OK (the response is sent) so a handler can
 * `return cs_send_error(...)`.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_send_error,
                        (request_rec *r, int status, const char *code,
                         const char *message));

/**
 * Read an application/x-www-form-urlencoded body with ap_parse_form_data
 * into @p *pfields, an array of cs_pair_t (http/cs_pair.h) in the
 * order sent, values NUL-terminated. Returns OK or ap_parse_form_data's
 * HTTP status. One implementation for every module that reads forms.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_read_form,
                        (request_rec *r, int max_fields, apr_size_t max_bytes,
                         apr_array_header_t **pfields));

/**
 * Read the whole raw request body, at most @p max bytes, NUL-terminated
 * (for signatures over the exact bytes a provider sent). Returns OK, 413
 * past @p max, or 400 when it cannot be read. One implementation for
 * every webhook handler.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_read_body,
                        (request_rec *r, apr_size_t max, char **pbuf, apr_size_t *plen));

/** Send @p body as application/json with @p status; returns OK. */
APR_DECLARE_OPTIONAL_FN(int, cs_send_json,
                        (request_rec *r, int status, const char *body));

/** The channels a client's replies fall back to, in order ("sms email"),
 * from ConsultReplyOrder on the client's vhost. */
APR_DECLARE_OPTIONAL_FN(const char *, cs_reply_order, (const char *slug));

/** Provided by mod_consult_twilio: whether SMS can be sent for a client.
 * Absent (NULL when retrieved) when that module is not loaded. */
APR_DECLARE_OPTIONAL_FN(int, cs_twilio_enabled, (const char *slug));
/** Provided by mod_consult_twilio (which owns ConsultTimeZone): the IANA
 * time zone of a client's vhost, "UTC" when it sets none. Absent (NULL
 * when retrieved) when that module is not loaded. */
APR_DECLARE_OPTIONAL_FN(const char *, cs_client_time_zone, (const char *slug));
/** Provided by mod_consult_integrations: what the dashboard's
 * Integrations page shows of a client's configuration (NULL: none set). */
typedef struct {
    const char *cal_link;               /**< ConsultCalLink, or NULL */
    const char *cal_origin;
    const char *calcom_webhook_url;     /**< NULL without ConsultCalWebhookSecret */
    const char *calcom_secret;          /**< to paste into Cal.com */
    int jobber;                         /**< ConsultJobber On */
    const char *jobber_webhook_url;
} cs_integrations_info_t;
APR_DECLARE_OPTIONAL_FN(const cs_integrations_info_t *, cs_integrations_info,
                        (apr_pool_t *p, const char *slug));
/** Provided by mod_consult_integrations: the Jobber authorize URL for the
 * client's owner to approve, carrying @p state back to @p redirect_uri. */
APR_DECLARE_OPTIONAL_FN(const char *, cs_jobber_authorize_url,
                        (apr_pool_t *p, const char *slug, const char *redirect_uri,
                         const char *state));
/** Provided by mod_consult_integrations: exchange the OAuth @p code for
 * tokens, sealed and stored on the client's Jobber account in @p conn's
 * open transaction. *perr says why not (never a token). */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_jobber_connect,
                        (request_rec *r, PGconn *conn, const char *client_id, const char *slug,
                         const char *user_id, const char *code, const char *redirect_uri,
                         const char **perr));
/** Provided by mod_consult_pos: a restaurant client's menu as guests see
 * it now (sold-out marks applied), read through @p conn (inside its
 * transaction when one is open), with its version, currency and tax rate
 * (basis points). APR_NOTFOUND: @p slug has no ConsultPOS. */
typedef struct {
    cs_menu_t *menu;
    apr_int64_t version;
    const char *currency;
    int tax_rate_bp;
} cs_pos_menu_info_t;
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_pos_menu,
                        (PGconn *conn, apr_pool_t *p, const char *slug, const char *client_id,
                         cs_pos_menu_info_t *out, const char **perr));
/** Provided by mod_consult_pos: send an order to the client's POS,
 * idempotently by order->external_id (the same order twice is one order
 * there). Errors as the adapters' (providers/pos/cs_pos.h): APR_EAGAIN
 * transient, APR_EINVAL / APR_EACCES refused, APR_NOTFOUND no ConsultPOS. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_pos_submit,
                        (apr_pool_t *p, const char *slug, const cs_pos_order_t *order,
                         cs_pos_order_result_t **pres, const char **perr));
/** Provided by mod_consult_email: whether email can be sent for a client. */
APR_DECLARE_OPTIONAL_FN(int, cs_email_enabled, (const char *slug));
/** Provided by mod_consult_intake: the ISO 3166 region a client's national
 * phone numbers are read in (ConsultPhoneRegion on a vhost with its
 * ConsultClient), "US" when none sets one. Absent (NULL): read them as US. */
APR_DECLARE_OPTIONAL_FN(const char *, cs_phone_region, (const char *slug));

/**
 * Record one inbound provider event (a verified webhook) in core's journal,
 * provider_events, for the vhost's client, and when it is new enqueue a job
 * of @p job_kind with payload {"event": ID} in the same statement (one
 * short transaction): answer the provider 2xx only after this returns
 * APR_SUCCESS. @p payload (@p len bytes, the raw body) must be UTF-8
 * without NULs. *pduplicate is 1 when (provider, client, event_id) was
 * already recorded (a redelivery: nothing is written). @return
 * APR_SUCCESS; APR_NOTFOUND without a client; APR_EINVAL for a body that
 * cannot be stored as text; another error when the database failed (503).
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_journal_record,
                        (request_rec *r, const char *provider, const char *event_id,
                         const char *payload, apr_size_t len, const char *job_kind,
                         int *pduplicate));

/**
 * Record one inbound event in the journal without a job: for a provider
 * whose rows a worker drains in batches (register a
 * CS_REGISTER_WORKER_DRAIN hook). One INSERT, in the request's connection
 * (inside the caller's transaction when it opened one). *pid is the
 * journal row's id, the first row's on a redelivery (*pduplicate 1).
 * Returns as cs_journal_record does.
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_journal_append,
                        (request_rec *r, const char *provider, const char *event_id,
                         const char *payload, apr_size_t len,
                         apr_int64_t *pid, int *pduplicate));

/**
 * Record in the journal an event a job found itself, not a delivery: a
 * reconciliation listing what a provider's webhooks should have brought.
 * One INSERT in @p conn's open transaction (the job's), no job of its own:
 * the caller applies the event in the same transaction and marks the row
 * processed. With the event id its webhook has, a late delivery of it is
 * then a duplicate, and an event a delivery already brought is one here
 * (*pduplicate 1, *pid that row's). @p client_id is the client's id as
 * text. APR_EINVAL for an id or payload that cannot be stored; another
 * error with *perr when the database failed.
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_journal_add,
                        (PGconn *conn, apr_pool_t *p, const char *provider,
                         const char *client_id, const char *event_id, const char *payload,
                         apr_size_t len, apr_int64_t *pid, int *pduplicate,
                         const char **perr));

/**
 * The change board, shared by every process. Call cs_content_changed
 * after committing a change that public pages show (a menu, a sold-out
 * mark); a per-child cache reads cs_content_generation before it asks
 * Postgres and trusts what it remembers only while the generation is the
 * one it read with. A job handler sets job->changed instead: the worker
 * moves the board after the job's commit. cs_content_generation returns 0
 * when there is no board (no shared memory): ask Postgres every time.
 */
APR_DECLARE_OPTIONAL_FN(void, cs_content_changed, (void));

/**
 * Count one post the edge did not store (a bot's, past
 * ConsultIntakeSpamKeep) for client @p client_id under @p reason: added up
 * in this process and written to intake_edge_counts once a second by a
 * per-process watchdog thread (modules/core/core_counts.c). No I/O here.
 * @return 1 when counted; 0 when this process cannot count (no watchdog
 * thread), and the caller stores the post instead.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_edge_count, (const char *client_id, const char *reason));
APR_DECLARE_OPTIONAL_FN(int, cs_content_generation, (apr_uint32_t *pgen));

/**
 * The one table of core's functions a feature module uses, filled by
 * cs_core_retrieve in its check_config (which runs before the
 * optional_fn_retrieve hook, and alone under `apachectl -t`) and again in
 * optional_fn_retrieve. The feature modules' own functions are NULL when
 * that module is not loaded.
 */
typedef struct {
    APR_OPTIONAL_FN_TYPE(cs_db_acquire) *db_acquire;
    APR_OPTIONAL_FN_TYPE(cs_client_get) *client_get;
    APR_OPTIONAL_FN_TYPE(cs_client_slug) *client_slug;
    APR_OPTIONAL_FN_TYPE(cs_server_secret) *server_secret;
    APR_OPTIONAL_FN_TYPE(cs_rate_limit) *rate_limit;
    APR_OPTIONAL_FN_TYPE(cs_send_error) *send_error;
    APR_OPTIONAL_FN_TYPE(cs_send_json) *send_json;
    APR_OPTIONAL_FN_TYPE(cs_read_form) *read_form;
    APR_OPTIONAL_FN_TYPE(cs_read_body) *read_body;
    APR_OPTIONAL_FN_TYPE(cs_reply_order) *reply_order;
    APR_OPTIONAL_FN_TYPE(cs_journal_record) *journal_record;
    APR_OPTIONAL_FN_TYPE(cs_journal_append) *journal_append;
    APR_OPTIONAL_FN_TYPE(cs_journal_add) *journal_add;
    APR_OPTIONAL_FN_TYPE(cs_content_changed) *content_changed;
    APR_OPTIONAL_FN_TYPE(cs_content_generation) *content_generation;
    APR_OPTIONAL_FN_TYPE(cs_edge_count) *edge_count;
    APR_OPTIONAL_FN_TYPE(cs_twilio_enabled) *twilio_enabled;   /**< may be NULL */
    APR_OPTIONAL_FN_TYPE(cs_email_enabled) *email_enabled;     /**< may be NULL */
    APR_OPTIONAL_FN_TYPE(cs_phone_region) *phone_region;       /**< may be NULL */
    APR_OPTIONAL_FN_TYPE(cs_client_time_zone) *client_time_zone; /**< may be NULL */
} cs_core_t;

/**
 * Fill @p core. @return 1 when mod_consult_core is loaded (every core
 * function found); 0 otherwise, and the caller refuses to start with one
 * line naming itself, as mod_authn_dbd does for mod_dbd.
 */
static APR_INLINE int cs_core_retrieve(cs_core_t *core)
{
    core->db_acquire = APR_RETRIEVE_OPTIONAL_FN(cs_db_acquire);
    core->client_get = APR_RETRIEVE_OPTIONAL_FN(cs_client_get);
    core->client_slug = APR_RETRIEVE_OPTIONAL_FN(cs_client_slug);
    core->server_secret = APR_RETRIEVE_OPTIONAL_FN(cs_server_secret);
    core->rate_limit = APR_RETRIEVE_OPTIONAL_FN(cs_rate_limit);
    core->send_error = APR_RETRIEVE_OPTIONAL_FN(cs_send_error);
    core->send_json = APR_RETRIEVE_OPTIONAL_FN(cs_send_json);
    core->read_form = APR_RETRIEVE_OPTIONAL_FN(cs_read_form);
    core->read_body = APR_RETRIEVE_OPTIONAL_FN(cs_read_body);
    core->reply_order = APR_RETRIEVE_OPTIONAL_FN(cs_reply_order);
    core->journal_record = APR_RETRIEVE_OPTIONAL_FN(cs_journal_record);
    core->journal_append = APR_RETRIEVE_OPTIONAL_FN(cs_journal_append);
    core->journal_add = APR_RETRIEVE_OPTIONAL_FN(cs_journal_add);
    core->content_changed = APR_RETRIEVE_OPTIONAL_FN(cs_content_changed);
    core->content_generation = APR_RETRIEVE_OPTIONAL_FN(cs_content_generation);
    core->edge_count = APR_RETRIEVE_OPTIONAL_FN(cs_edge_count);
    core->twilio_enabled = APR_RETRIEVE_OPTIONAL_FN(cs_twilio_enabled);
    core->email_enabled = APR_RETRIEVE_OPTIONAL_FN(cs_email_enabled);
    core->phone_region = APR_RETRIEVE_OPTIONAL_FN(cs_phone_region);
    core->client_time_zone = APR_RETRIEVE_OPTIONAL_FN(cs_client_time_zone);
    return core->db_acquire && core->client_get && core->client_slug
        && core->server_secret && core->rate_limit && core->send_error
        && core->send_json && core->read_form && core->read_body && core->reply_order
        && core->journal_record && core->journal_append && core->journal_add
        && core->content_changed
        && core->content_generation && core->edge_count;
}

/**
 * Optional hook run by core's job worker each time it (re)connects to the
 * database, before it claims jobs: a module makes sure of the rows and
 * recurring jobs its configuration implies (mod_consult_pos: one
 * restaurant row and its sync and poll jobs per ConsultPOS vhost), so they
 * exist from the start and again after an outage, without waiting for a
 * first request. @p conn is outside any transaction; leave it so.
 * Register with CS_REGISTER_WORKER_START(fn).
 */
typedef void cs_HOOK_consult_worker_start_t(server_rec *s, PGconn *conn, apr_pool_t *p);
#define CS_REGISTER_WORKER_START(fn) \
    APR_OPTIONAL_HOOK(cs, consult_worker_start, fn, NULL, NULL, APR_HOOK_MIDDLE)

/**
 * Optional hook run by core's job worker for every claimed job. Return
 * DECLINED for kinds you do not own; OK when the job is done (writes made
 * through job->conn commit together with the "done" mark, so a job's
 * database effect happens once); anything else with job->error set for a
 * failure, retried with backoff (job->permanent: dead at once).
 * Register with CS_REGISTER_JOB_HANDLER(fn) in your register_hooks.
 */
typedef int cs_HOOK_consult_job_t(cs_job_t *job);
#define CS_REGISTER_JOB_HANDLER(fn) \
    APR_OPTIONAL_HOOK(cs, consult_job, fn, NULL, NULL, APR_HOOK_MIDDLE)

/**
 * Optional hook run by core's job worker every CS_DRAIN_EVERY (and between
 * jobs, so a backlog of jobs cannot hold it back): process at most
 * @p limit rows of the journal that are yours (cs_journal_append), inside
 * the transaction core opened on @p conn and commits when you return.
 * @return the rows handled (@p limit or more: call again at once), or -1
 * on a failure (logged; core rolls back and tries again next time).
 * Register with CS_REGISTER_WORKER_DRAIN(fn).
 */
#define CS_DRAIN_EVERY apr_time_from_msec(100)
typedef int cs_HOOK_consult_worker_drain_t(server_rec *s, PGconn *conn, apr_pool_t *p,
                                           int limit);
#define CS_REGISTER_WORKER_DRAIN(fn) \
    APR_OPTIONAL_HOOK(cs, consult_worker_drain, fn, NULL, NULL, APR_HOOK_MIDDLE)

/**
 * Optional hook run by GET /consult/health once the database answered: a
 * module adds what an operator should see about its part to @p doc (its
 * own key), e.g. mod_consult_integrations: each integration account whose
 * token was revoked or keeps failing. @p conn is outside any transaction.
 * Register with CS_REGISTER_HEALTH(fn).
 */
typedef void cs_HOOK_consult_health_t(request_rec *r, PGconn *conn, cs_json_t *doc);
#define CS_REGISTER_HEALTH(fn) \
    APR_OPTIONAL_HOOK(cs, consult_health, fn, NULL, NULL, APR_HOOK_MIDDLE)

#endif
