/* Internal to mod_consult_integrations. */
#ifndef INTEG_PRIVATE_H
#define INTEG_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "db/cs_db.h"
#include "base/cs_json.h"
#include "base/cs_crypto.h"
#include "providers/cs_calcom.h"
#include "providers/cs_jobber.h"
#include "text/cs_tmpl.h"

#define CSLOGNO(n) "CS" #n ": "

extern module AP_MODULE_DECLARE_DATA consult_integrations_module;

#define INTEG_JOB_CALCOM      "calcom.event"
#define INTEG_JOB_JOBBER      "jobber.event"
#define INTEG_JOB_LEAD        "jobber.lead"
#define INTEG_JOB_TEST        "jobber.test"
#define INTEG_JOB_RECONCILE   "jobber.reconcile"
#define INTEG_JOB_CAL_RECONCILE "calcom.reconcile"
#define INTEG_PATH_CALCOM     "/webhooks/calcom"
#define INTEG_PATH_JOBBER     "/webhooks/jobber"
#define INTEG_MAX_BODY        (256 * 1024)
#define INTEG_PATH_BOOK       "/book"
#define INTEG_PATH_BOOK_JSON  "/book.json"
#define INTEG_PATH_PHOTOS     "/_consult/photos/"
#define INTEG_PHOTO_TTL       apr_time_from_sec(90 * 86400)
#define INTEG_CAL_ORIGIN      "https://app.cal.com"

/* Per-vhost settings; NULL / -1 unset (inherit). The Jobber app (id,
 * secret, API base) is usually set once on the main server and inherited. */
typedef struct {
    const char *cal_link;            /* "user/event" */
    const char *cal_origin;          /* NULL: https://app.cal.com */
    const char *cal_secret;          /* ConsultCalWebhookSecret */
    cs_calcom_account_t cal_api;     /* ConsultCalAPIKey, ConsultCalAPIBase:
                                        the daily calcom.reconcile */
    int jobber;                      /* ConsultJobber On/Off, -1 unset */
    cs_jobber_app_t app;             /* client id, secret, api base, timeout */
    const char *jobber_webhook_secret; /* NULL: the client secret (Jobber's rule) */
    const char *public_url;          /* ConsultIntegrationsPublicURL */
    const char *auto_send;           /* ConsultJobberAutoSend as a Postgres
                                        text[] literal, "{quote_request}" */
    const char *page_template;       /* ConsultCalPageTemplate: GET /book */
    cs_tmpl_set_t *tmpl;             /* compiled in check_config */
    /* resolved in check_config */
    const char *slug;
} integ_conf;

extern cs_core_t integ_core;

integ_conf *integ_sconf(server_rec *s);
/* The settings of the vhost bound to @p slug that has any integration on,
 * or NULL; jobs run outside requests and find their client's here. */
integ_conf *integ_conf_for_slug(const char *slug);

/* The keyring of ConsultSecretKey (cs_seal_key_t, the first seals). NULL
 * when none is configured. */
const apr_array_header_t *integ_keyring(void);

/* integ_photos.c: GET /_consult/photos/ID/TOKEN, the links a lead's
 * Jobber note carries to its photos. integ_photo_link is NULL without a
 * server secret or public URL. */
const char *integ_photo_link(apr_pool_t *p, server_rec *s, const integ_conf *c,
                             const char *slug, const char *id);
int integ_photo_is_path(const char *uri);
int integ_photo(request_rec *r, const integ_conf *c);

/* integ_webhooks.c: POST /webhooks/calcom and /webhooks/jobber. */
int integ_calcom_webhook(request_rec *r, integ_conf *c);
int integ_jobber_webhook(request_rec *r, integ_conf *c);

/* integ_book.c: GET /book from ConsultCalPageTemplate. */
int integ_book_load(integ_conf *c, apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v);
int integ_book_page(request_rec *r, const integ_conf *c);
int integ_book_json(request_rec *r, const integ_conf *c);

/* integ_calcom.c: the calcom.event job. */
int integ_calcom_job(cs_job_t *job);
/* Apply one Cal.com event (a delivery's, or a booking the list gave) to
 * the client's timeline in the job's transaction (consult_calcom_booking):
 * OK, *pduplicate when its (uid, trigger) was on the timeline already;
 * else a status with job->error. */
int integ_calcom_apply(cs_job_t *job, const char *client_id, const char *slug,
                       const cs_calcom_event_t *ev, int *pduplicate);
/* Mark journal row @p event_id (provider_events.id) processed. */
int integ_journal_processed(cs_job_t *job, const char *event_id);

/* integ_cal_reconcile.c: calcom.reconcile, once a day per client with
 * ConsultCalAPIKey. */
int integ_cal_reconcile_job(cs_job_t *job);

/* integ_tokens.c: Jobber's tokens. */
/* A working access token for the client's Jobber account, refreshed
 * (one refresh at a time per account: the row is held FOR UPDATE) when it
 * expires within a minute or when it is @p failed (the one a 401 just
 * refused); the new pair is committed (cs_jobs_checkpoint) before it is
 * used. APR_EACCES: revoked or not connected (*perr says so); APR_EAGAIN:
 * try later; APR_EGENERAL: a stored token cannot be opened (its key is not
 * in the keyring). */
apr_status_t integ_jobber_access(const char **paccess, cs_job_t *job, const integ_conf *c,
                                 const char *client_id, const char *failed, const char **perr);
/* Record on the account that a call failed (state failing, or revoked
 * when @p revoked) or worked (connected, error cleared), in its own
 * commit of the job's transaction. */
void integ_jobber_mark(cs_job_t *job, const char *client_id, apr_status_t rv,
                       const char *why);
/* The exchange of an OAuth code (the callback): tokens sealed and stored,
 * state connected. */
apr_status_t integ_jobber_connect(request_rec *r, PGconn *conn, const char *client_id,
                                  const char *slug, const char *user_id, const char *code,
                                  const char *redirect_uri, const char **perr);
/* integ_jobber.c: the jobber.lead, jobber.event and jobber.test jobs. */
int integ_jobber_job(cs_job_t *job);

/* The item a webhook names, fetched with the account's token: APR_ENOENT
 * for a topic without one or an item Jobber no longer has. */
apr_status_t integ_jobber_fetch(cs_jobber_item_t **pitem, cs_job_t *job, const integ_conf *c,
                                const char *client_id, const char *topic, const char *item_id,
                                const char **pwhy);
/* Keep @p item's status on the contact's link and our request: 1 when our
 * request's status changed, 0 when not, -1 when the database failed. */
int integ_jobber_store_item(cs_job_t *job, const char *client_id, const cs_jobber_item_t *item);
/* The job's answer to a failed call (@p rv as cs_jobber's readers say). */
int integ_jobber_failed(cs_job_t *job, const char *client_id, apr_status_t rv, const char *why);

/* integ_reconcile.c: jobber.reconcile, once a day per Jobber client. */
int integ_reconcile_job(cs_job_t *job, const integ_conf *c, const char *client_id);
/* The worker's start: today's runs of both reconciliations. */
void integ_worker_start(server_rec *s, PGconn *conn, apr_pool_t *p);
/* Enqueue tomorrow's run of reconciliation @p kind for the client, at
 * 03:00 UTC (unique per day), in the job's transaction. */
int integ_reconcile_next(cs_job_t *job, const char *kind, const char *client_id);

/* integ_health.c: the /consult/health part. */
void integ_health(request_rec *r, PGconn *conn, cs_json_t *doc);

/* The journal's row of event @p event_id (payload, client_id, slug), held
 * FOR UPDATE; NULL with job->error when the database failed. */
PGresult *integ_journal_row(cs_job_t *job, const char *provider, const char *event_id);

/* A job payload's field as text, or NULL. */
const char *integ_payload_str(cs_job_t *job, const char *key);

#endif
