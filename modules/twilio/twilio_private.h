/* Internal to mod_consult_twilio. */
#ifndef TWILIO_PRIVATE_H
#define TWILIO_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "db/cs_db.h"
#include "http/cs_http.h"
#include "providers/cs_twilio.h"
#include "domain/cs_hours.h"

#define CSLOGNO(n) "CS" #n ": "

/* Core's inbound journal: our provider name and the job kind that
 * processes a journaled webhook (twilio_events.c). */
#define TWILIO_PROVIDER "twilio"
#define TWILIO_JOB_EVENT "twilio.event"

/* Longest voicemail, seconds (Twilio transcribes up to 120). */
#define TWILIO_MAX_RECORDING 120

extern module AP_MODULE_DECLARE_DATA consult_twilio_module;

typedef struct {
    int enabled;                    /* -1 unset */
    const char *account_sid;
    const char *auth_token;         /* resolved from env:/file: at config time */
    const char *number;             /* the client's Twilio number, E.164 */
    const char *public_url;         /* scheme://host[:port] Twilio calls (required) */
    const char *api_base;           /* default https://api.twilio.com */
    const char *greeting;
    const char *missed_call_text;   /* NULL: no text-back */
    apr_interval_time_t timeout;
    apr_array_header_t *hours_spec;  /* const char *, ConsultBusinessHours */
    apr_array_header_t *holidays;    /* const char *, ConsultHoliday */
    const char *time_zone;          /* IANA name, converted by Postgres */
    const char *after_hours_reply;  /* NULL: none */
    cs_hours_t *hours;              /* parsed in check_config */
} twilio_conf;

extern cs_core_t twilio_core;

twilio_conf *twilio_sconf(server_rec *s);
/* The conf of the vhost bound to @p slug with Twilio on, or NULL. */
const twilio_conf *twilio_conf_for_slug(const char *slug);

/* twilio_webhooks.c */
int twilio_handler(request_rec *r);

/* twilio_send.c: the twilio.sms.send job. */
int twilio_run_job(cs_job_t *job);

/* twilio_events.c: the twilio.event job, one journaled webhook. */
int twilio_run_event(cs_job_t *job);

#endif
