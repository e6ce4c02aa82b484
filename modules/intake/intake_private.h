/* Internal to mod_consult_intake. */
#ifndef INTAKE_PRIVATE_H
#define INTAKE_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "domain/cs_intake.h"
#include "db/cs_db.h"

#define CSLOGNO(n) "CS" #n ": "
#define INTAKE_PATH "/api/intake"

extern module AP_MODULE_DECLARE_DATA consult_intake_module;

#include "classify/cs_classify.h"
#include "providers/cs_llm.h"
#include "http/cs_multipart.h"
#include "http/cs_sniff.h"
#include "auth/cs_token.h"

enum { TOKEN_OFF = 0, TOKEN_OPTIONAL = 1, TOKEN_REQUIRE = 2 };
enum { CLASSIFIER_BUILTIN = 0, CLASSIFIER_LLM = 1 };

/* Per-vhost settings. -1 / NULL mean unset (inherit); intake_resolve()
 * fills in the defaults once, after merging. */
typedef struct {
    int enabled;
    apr_off_t max_body;
    const char *thank_you;
    int token_mode;
    apr_interval_time_t min_fill;
    apr_interval_time_t token_max_age;
    const char *honeypot;            /* "" after "none" */
    int ip_limit;
    apr_interval_time_t ip_window;
    int client_limit;
    apr_interval_time_t client_window;
    int spam_keep;                   /* ConsultIntakeSpamKeep: bot posts stored per window */
    apr_interval_time_t spam_window;
    apr_array_header_t *origins;     /* const char *, exact scheme://host[:port] */
    const char *region;
    apr_off_t max_file;
    apr_off_t max_files_total;
    const char *allow_types;
    int classifier;
    const char *vertical;            /* ConsultVertical (a CS_VERTICALS name), or NULL */
    const char *llm_endpoint;
    const char *llm_key;
    const char *llm_model;
    apr_interval_time_t llm_timeout;
} intake_conf;

#define INTAKE_TOKEN_FIELD "_token"
#define INTAKE_TOKEN_PLACEHOLDER "__CONSULT_FORM_TOKEN__"

/* The vhost's settings; defaults are filled in by check_config. */
intake_conf *intake_sconf(server_rec *s);

extern const command_rec intake_cmds[];
void *intake_create_server(apr_pool_t *p, server_rec *s);
void *intake_merge_server(apr_pool_t *p, void *base, void *add);

/* Core's functions, retrieved at startup (see mod_consult_intake.c). */
extern cs_core_t intake_core;

/* intake_body.c: read the body within the limits into pairs (and file
 * parts, cs_part_t, for multipart). Returns OK, or an HTTP status (400,
 * 413, 415) with *pwhy set. */
enum { BODY_FORM, BODY_JSON, BODY_MULTIPART };
int intake_read_pairs(request_rec *r, const intake_conf *conf, int *pkind,
                      apr_array_header_t **ppairs, apr_array_header_t **pfiles,
                      apr_array_header_t *errors, const char **pwhy);
void intake_register_filter(void);

/* intake_token.c: form tokens stamped into served pages. */
void intake_register_token_filter(void);
void intake_insert_token_filter(request_rec *r);

/* intake_drain.c: the journal's intake rows into submissions. */
int intake_drain(server_rec *s, PGconn *conn, apr_pool_t *p, int limit);

/* intake_job.c: the submission.process job. */
int intake_run_job(cs_job_t *job);
void intake_jobs_post_config(apr_pool_t *pconf, server_rec *s);
/* The builtin classification of @p text for client @p slug, by its vhost's
 * settings; NULL when that client classifies with an LLM (or has no intake
 * vhost here): its submission.process job does it then. */
const cs_classification_t *intake_classify_builtin(apr_pool_t *p, const char *slug,
                                                   const char *text);

/* The sniffer, loaded on first use (NULL when libmagic cannot load). */
cs_sniffer_t *intake_sniffer_get(void);

/* intake_handler.c */
int intake_handler(request_rec *r);

#endif
