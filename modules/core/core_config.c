/* mod_consult_core directives: parse, validate at config time, merge. */
#include "core_private.h"
#include "base/cs_conf.h"

#include "http_core.h"
#include <apr_strings.h>

#define UNSET (-1)
#define MERGE(f) (add->f != UNSET ? add->f : base->f)
#define MERGE_PTR(f) (add->f ? add->f : base->f)

core_server_conf *core_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_core_module);
}

void *core_create_server(apr_pool_t *p, server_rec *s)
{
    core_server_conf *c = apr_pcalloc(p, sizeof(*c));
    c->min = c->keep = c->max = UNSET;
    c->ttl = c->acquire_timeout = c->connect_timeout = c->statement_timeout = UNSET;
    c->retry_after = c->prepare = UNSET;
    c->worker = c->job_max_attempts = c->drain_threads = UNSET;
    c->job_poll = c->job_lease = c->job_backoff = c->job_backoff_max = UNSET;
    return c;
}

void *core_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    core_server_conf *base = basev, *add = addv;
    core_server_conf *c = apr_pcalloc(p, sizeof(*c));

    /* The pool settings are GLOBAL_ONLY, so a vhost always inherits them;
     * merging them anyway keeps every field covered by one idiom. */
    c->conninfo = MERGE_PTR(conninfo);
    c->min = MERGE(min);
    c->keep = MERGE(keep);
    c->max = MERGE(max);
    c->ttl = MERGE(ttl);
    c->acquire_timeout = MERGE(acquire_timeout);
    c->connect_timeout = MERGE(connect_timeout);
    c->statement_timeout = MERGE(statement_timeout);
    c->retry_after = MERGE(retry_after);
    c->prepare = MERGE(prepare);
    c->worker = MERGE(worker);
    c->job_poll = MERGE(job_poll);
    c->job_lease = MERGE(job_lease);
    c->job_backoff = MERGE(job_backoff);
    c->job_backoff_max = MERGE(job_backoff_max);
    c->job_max_attempts = MERGE(job_max_attempts);
    c->drain_threads = MERGE(drain_threads);
    c->secret = MERGE_PTR(secret);
    c->secret_len = add->secret ? add->secret_len : base->secret_len;
    c->ratelimit_cache = MERGE_PTR(ratelimit_cache);
    c->client_slug = MERGE_PTR(client_slug);
    c->reply_order = MERGE_PTR(reply_order);
    return c;
}

void core_db_params(server_rec *main_s, cs_db_params_t *out)
{
    core_server_conf *c = core_sconf(main_s);

    cs_db_params_defaults(out);
    out->conninfo = c->conninfo;
    if (c->min != UNSET) out->min = c->min;
    if (c->keep != UNSET) out->keep = c->keep;
    if (c->max != UNSET) out->max = c->max;
    if (c->ttl != UNSET) out->ttl = c->ttl;
    if (c->acquire_timeout != UNSET) out->acquire_timeout = c->acquire_timeout;
    if (c->connect_timeout != UNSET) out->connect_timeout = c->connect_timeout;
    if (c->statement_timeout != UNSET) out->statement_timeout = c->statement_timeout;
    /* A pool set only with ConsultPoolMax smaller than the defaults must
     * still be coherent: clamp the defaults, not the admin's values. */
    if (c->keep == UNSET && out->keep > out->max) out->keep = out->max;
    if (c->min == UNSET && out->min > out->keep) out->min = out->keep;
}

int core_retry_after(server_rec *s)
{
    core_server_conf *c = core_sconf(s);
    return c->retry_after == UNSET ? 5 : c->retry_after;
}

void core_worker_settings(server_rec *main_s, core_worker_conf *out)
{
    core_server_conf *c = core_sconf(main_s);
    out->enabled = c->worker == UNSET ? 1 : c->worker;
    out->poll = c->job_poll == UNSET ? apr_time_from_sec(1) : c->job_poll;
    out->lease = c->job_lease == UNSET ? apr_time_from_sec(300) : c->job_lease;
    out->backoff = c->job_backoff == UNSET ? apr_time_from_sec(5) : c->job_backoff;
    out->backoff_max = c->job_backoff_max == UNSET ? apr_time_from_sec(3600)
                                                   : c->job_backoff_max;
    out->max_attempts = c->job_max_attempts == UNSET ? 8 : c->job_max_attempts;
    out->drain_threads = c->drain_threads == UNSET ? 2 : c->drain_threads;
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_database(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    char *perr = NULL;
    PQconninfoOption *opts;

    if (err) {
        return err;
    }
    /* Parse now so a typo fails `apachectl -t`, not the first request. */
    opts = PQconninfoParse(arg, &perr);
    if (!opts) {
        const char *msg = apr_psprintf(cmd->pool, "ConsultDatabase: invalid "
                                       "libpq connection string: %s",
                                       perr ? perr : "out of memory");
        if (perr) {
            PQfreemem(perr);
        }
        return apr_pstrndup(cmd->pool, msg, strcspn(msg, "\n"));
    }
    PQconninfoFree(opts);
    core_sconf(cmd->server)->conninfo = arg;
    return NULL;
}

static const char *set_pool_int(cmd_parms *cmd, void *dc, const char *arg)
{
    core_server_conf *c = core_sconf(cmd->server);
    const char *err = global_only(cmd);
    long v = 0;
    int which = (int)(intptr_t)cmd->info;

    if (err) {
        return err;
    }
    if ((err = cs_conf_parse_int(cmd->pool, arg, which == 0 ? 0 : 1, 1024, &v))) {
        return cs_directive_error(cmd, err);
    }
    if (which == 0) c->min = (int)v;
    else if (which == 1) c->keep = (int)v;
    else c->max = (int)v;
    return NULL;
}

static const char *set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    core_server_conf *c = core_sconf(cmd->server);
    const char *err = global_only(cmd);
    apr_interval_time_t v = 0, min = apr_time_from_msec(100);
    apr_interval_time_t max = apr_time_from_sec(3600);
    int which = (int)(intptr_t)cmd->info;

    if (err) {
        return err;
    }
    if (which == 2) {
        min = apr_time_from_sec(2);     /* libpq's floor for connect_timeout */
    }
    if ((err = cs_conf_parse_duration(cmd->pool, arg, min, max, &v))) {
        return cs_directive_error(cmd, err);
    }
    switch (which) {
    case 0: c->ttl = v; break;
    case 1: c->acquire_timeout = v; break;
    case 2: c->connect_timeout = v; break;
    case 3: c->statement_timeout = v; break;
    case 4: c->job_poll = v; break;
    case 5: c->job_lease = v; break;
    case 6: c->job_backoff = v; break;
    default: c->job_backoff_max = v; break;
    }
    return NULL;
}

static const char *set_retry_after(cmd_parms *cmd, void *dc, const char *arg)
{
    long v = 0;
    const char *err = cs_conf_parse_int(cmd->pool, arg, 1, 3600, &v);
    if (err) {
        return cs_directive_error(cmd, err);
    }
    core_sconf(cmd->server)->retry_after = (int)v;
    return NULL;
}

static const char *set_prepare(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg,
                                                     &core_sconf(cmd->server)->prepare));
}

static const char *set_worker(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    return err ? err : cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg,
                                                     &core_sconf(cmd->server)->worker));
}

/* A server-wide count between @p lo and @p hi into @p out. */
static const char *set_global_count(cmd_parms *cmd, const char *arg, long lo, long hi, int *out)
{
    const char *err = global_only(cmd);
    long v = 0;
    if (err) {
        return err;
    }
    if ((err = cs_conf_parse_int(cmd->pool, arg, lo, hi, &v))) {
        return cs_directive_error(cmd, err);
    }
    *out = (int)v;
    return NULL;
}

static const char *set_max_attempts(cmd_parms *cmd, void *dc, const char *arg)
{
    return set_global_count(cmd, arg, 1, 100, &core_sconf(cmd->server)->job_max_attempts);
}

static const char *set_drain_threads(cmd_parms *cmd, void *dc, const char *arg)
{
    return set_global_count(cmd, arg, 1, 16, &core_sconf(cmd->server)->drain_threads);
}


static const char *set_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    core_server_conf *c = core_sconf(cmd->server);
    const char *err = global_only(cmd), *val = NULL;
    apr_size_t len = 0;

    if (err) {
        return err;
    }
    if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
        return cs_directive_error(cmd, err);
    }
    if (len < 16) {
        return "ConsultSecret: expected at least 16 bytes of secret "
               "(e.g. file:/etc/consult/secret with 32 random bytes)";
    }
    c->secret = (const unsigned char *)val;
    c->secret_len = len;
    return NULL;
}

static const char *set_ratelimit_cache(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    if (err) {
        return err;
    }
    core_sconf(cmd->server)->ratelimit_cache = arg;
    return NULL;
}

/* "sms email", "email sms", "email" ...: each channel once. */
static const char *set_reply_order(cmd_parms *cmd, void *dc, const char *args)
{
    const char *word, *order = "";
    int sms = 0, email = 0;
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        int *seen = !strcasecmp(word, "sms") ? &sms : !strcasecmp(word, "email") ? &email : NULL;
        if (!seen || *seen) {
            return apr_psprintf(cmd->pool, "ConsultReplyOrder: expected sms and/or email, "
                                "each once, in the order to try, got '%s'", word);
        }
        *seen = 1;
        order = apr_pstrcat(cmd->pool, order, *order ? " " : "", seen == &sms ? "sms" : "email",
                            NULL);
    }
    if (!*order) {
        return "ConsultReplyOrder: expected sms and/or email";
    }
    core_sconf(cmd->server)->reply_order = order;
    return NULL;
}

static apr_hash_t *reply_orders;     /* slug -> order, built at check_config */

/* The fallback order of a client's replies (default "sms email"). */
const char *cs_reply_order(const char *slug)
{
    const char *o = slug && reply_orders ? apr_hash_get(reply_orders, slug, APR_HASH_KEY_STRING)
                                         : NULL;
    return o ? o : "sms email";
}

static const char *set_client(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!cs_slug_is_valid(arg)) {
        return apr_psprintf(cmd->pool, "ConsultClient: expected a client slug "
                            "(1-63 of a-z, 0-9 and '-'), got '%s'", arg);
    }
    core_sconf(cmd->server)->client_slug = arg;
    return NULL;
}

const command_rec core_cmds[] = {
    AP_INIT_TAKE1("ConsultDatabase", set_database, NULL, RSRC_CONF,
                  "libpq connection string of the Consult database"),
    AP_INIT_TAKE1("ConsultPoolMin", set_pool_int, (void *)0, RSRC_CONF,
                  "connections each child keeps open (default 1)"),
    AP_INIT_TAKE1("ConsultPoolKeep", set_pool_int, (void *)1, RSRC_CONF,
                  "soft maximum: idle connections above it expire (default 4)"),
    AP_INIT_TAKE1("ConsultPoolMax", set_pool_int, (void *)2, RSRC_CONF,
                  "hard maximum of connections per child (default 16)"),
    AP_INIT_TAKE1("ConsultPoolTTL", set_duration, (void *)0, RSRC_CONF,
                  "idle lifetime of connections above ConsultPoolKeep (default 60s)"),
    AP_INIT_TAKE1("ConsultPoolAcquireTimeout", set_duration, (void *)1, RSRC_CONF,
                  "wait for a free connection before answering 503 (default 3s)"),
    AP_INIT_TAKE1("ConsultDatabaseConnectTimeout", set_duration, (void *)2, RSRC_CONF,
                  "timeout for opening a connection (default 3s, minimum 2s)"),
    AP_INIT_TAKE1("ConsultDatabaseStatementTimeout", set_duration, (void *)3, RSRC_CONF,
                  "statement_timeout of every pooled connection (default 10s)"),
    AP_INIT_TAKE1("ConsultDatabasePrepare", set_prepare, NULL, RSRC_CONF,
                  "plan the hot statements once per connection (default On; Off behind "
                  "a transaction pooler that does not keep prepared statements)"),
    AP_INIT_TAKE1("ConsultJobWorker", set_worker, NULL, RSRC_CONF,
                  "run the job worker in this server (default On)"),
    AP_INIT_TAKE1("ConsultJobPollInterval", set_duration, (void *)4, RSRC_CONF,
                  "how often the worker looks for due jobs (default 1s)"),
    AP_INIT_TAKE1("ConsultJobLease", set_duration, (void *)5, RSRC_CONF,
                  "a running job is retried after this if its process died (default 5m)"),
    AP_INIT_TAKE1("ConsultJobBackoff", set_duration, (void *)6, RSRC_CONF,
                  "first retry delay, doubled per attempt, with jitter (default 5s)"),
    AP_INIT_TAKE1("ConsultJobBackoffMax", set_duration, (void *)7, RSRC_CONF,
                  "longest retry delay (default 1h)"),
    AP_INIT_TAKE1("ConsultJobMaxAttempts", set_max_attempts, NULL, RSRC_CONF,
                  "attempts before a job is parked as dead (default 8)"),
    AP_INIT_TAKE1("ConsultJobDrainThreads", set_drain_threads, NULL, RSRC_CONF,
                  "threads per node filing journal rows, each with its own "
                  "connection (default 2)"),
    AP_INIT_TAKE1("ConsultRetryAfter", set_retry_after, NULL, RSRC_CONF,
                  "Retry-After seconds on 503 answers (default 5)"),
    AP_INIT_TAKE1("ConsultSecret", set_secret, NULL, RSRC_CONF,
                  "server secret for signatures: env:NAME, file:PATH or a value"),
    AP_INIT_TAKE1("ConsultRateLimitCache", set_ratelimit_cache, NULL, RSRC_CONF,
                  "mod_socache provider for rate limits, e.g. shmcb or "
                  "shmcb:/path(512000) (default shmcb)"),
    AP_INIT_TAKE1("ConsultClient", set_client, NULL, RSRC_CONF,
                  "slug of the client (tenant) this virtual host serves"),
    AP_INIT_RAW_ARGS("ConsultReplyOrder", set_reply_order, NULL, RSRC_CONF,
                     "channels a reply falls back to, in order: sms email (default)"),
    { NULL }
};

int core_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s)
{
    cs_db_params_t params;
    server_rec *v;

    /* before the fork and before any thread: every process reads it */
    cs_db_prepare_set(core_sconf(s)->prepare != 0);
    core_db_params(s, &params);
    if (params.min > params.keep || params.keep > params.max) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     CSLOGNO(01001) "ConsultPoolMin/ConsultPoolKeep/ConsultPoolMax: "
                     "expected min <= keep <= max, got %d, %d, %d",
                     params.min, params.keep, params.max);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (core_ratelimit_check(s, ptemp) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    reply_orders = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        core_server_conf *c = core_sconf(v);
        if (c->client_slug && c->reply_order) {
            apr_hash_set(reply_orders, c->client_slug, APR_HASH_KEY_STRING, c->reply_order);
        }
        if (c->client_slug && !params.conninfo) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v,
                         CSLOGNO(01002) "ConsultClient %s (%s:%d) needs "
                         "ConsultDatabase in the main server configuration",
                         c->client_slug, v->defn_name ? v->defn_name : "?",
                         v->defn_line_number);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
