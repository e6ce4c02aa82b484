/* Internal to mod_consult_intake. */
#ifndef INTAKE_PRIVATE_H
#define INTAKE_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "cs_intake.h"
#include "cs_db.h"

#define CSLOGNO(n) "CS" #n ": "
#define INTAKE_PATH "/api/intake"

extern module AP_MODULE_DECLARE_DATA consult_intake_module;

typedef struct {
    int enabled;              /* -1 unset */
    apr_off_t max_body;       /* -1 unset */
    const char *thank_you;    /* NULL unset */
} intake_conf;

#define INTAKE_DEFAULT_MAX_BODY (64 * 1024)
#define INTAKE_DEFAULT_THANK_YOU "/thanks.html"

intake_conf *intake_sconf(server_rec *s);
apr_off_t intake_max_body(const intake_conf *c);
const char *intake_thank_you(const intake_conf *c);
extern const command_rec intake_cmds[];
void *intake_create_server(apr_pool_t *p, server_rec *s);
void *intake_merge_server(apr_pool_t *p, void *base, void *add);

/* Core's functions, retrieved at startup (see mod_consult_intake.c). */
typedef struct {
    APR_OPTIONAL_FN_TYPE(cs_db_acquire) *db_acquire;
    APR_OPTIONAL_FN_TYPE(cs_client_get) *client_get;
    APR_OPTIONAL_FN_TYPE(cs_client_configured) *client_configured;
    APR_OPTIONAL_FN_TYPE(cs_send_error) *send_error;
    APR_OPTIONAL_FN_TYPE(cs_send_json) *send_json;
} intake_core_fns;
extern intake_core_fns intake_core;

/* intake_body.c: read the body within the limit into pairs.
 * Returns OK, or an HTTP status (400, 413, 415) with *pwhy set. */
int intake_read_pairs(request_rec *r, apr_off_t limit, int *is_json,
                      apr_array_header_t **ppairs, apr_array_header_t *errors,
                      const char **pwhy);
void intake_register_filter(void);

/* intake_handler.c */
int intake_handler(request_rec *r);

#endif
