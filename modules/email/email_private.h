/* Internal to mod_consult_email. */
#ifndef EMAIL_PRIVATE_H
#define EMAIL_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "mod_consult_core.h"

#define CSLOGNO(n) "CS" #n ": "

typedef struct {
    int enabled;
    const char *key;          /* resolved secret */
    const char *from;         /* "Name <addr>" */
    const char *reply_to;
    const char *api_base;
    apr_interval_time_t timeout;
} email_conf;

/* mod_consult_email.c: the client's email settings by slug, or NULL when
 * email is off for it. */
const email_conf *email_conf_for_slug(const char *slug);

/* email_jobs.c: the email.send and notification.send jobs. */
int email_run_job(cs_job_t *job);

#endif
