/*
 * Rate limits shared by every process of a node through mod_socache, and
 * the server secret. Counters are fixed windows: "key|window number" ->
 * hits, stored with an expiry at the window's end.
 */
#include "core_private.h"
#include "base/cs_crypto.h"

#include "ap_socache.h"
#include "ap_provider.h"
#include "http_protocol.h"
#include "http_main.h"
#include "http_core.h"
#include "util_mutex.h"
#include <apr_global_mutex.h>
#include <apr_strings.h>

APLOG_USE_MODULE(consult_core);

#define MUTEX_TYPE "consult-ratelimit"

static const ap_socache_provider_t *provider;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;

int core_ratelimit_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t cache_gone(void *data)
{
    if (provider && instance) {
        provider->destroy(instance, data);
    }
    provider = NULL;
    instance = NULL;
    mutex = NULL;
    return APR_SUCCESS;
}

/* ConsultRateLimitCache "provider[:args]": the provider's name and args. */
static const char *cache_spec(server_rec *s, apr_pool_t *p, const char **pargs)
{
    core_server_conf *c = core_sconf(s);
    const char *spec = c->ratelimit_cache ? c->ratelimit_cache : "shmcb";
    const char *colon = strchr(spec, ':');
    *pargs = colon ? colon + 1 : NULL;
    return colon ? apr_pstrmemdup(p, spec, colon - spec) : spec;
}

/* At check_config (so `apache2 -t` reports it): the cache's provider is
 * one that is loaded. */
int core_ratelimit_check(server_rec *s, apr_pool_t *ptemp)
{
    const char *args, *name = cache_spec(s, ptemp, &args);

    if (!ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(01041)
                     "ConsultRateLimitCache: no socache provider '%s' "
                     "(LoadModule socache_%s_module)", name, name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int core_ratelimit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    core_server_conf *c = core_sconf(s);
    const char *args, *name = cache_spec(s, ptemp, &args), *err;
    struct ap_socache_hints hints = { 64, 8, apr_time_from_sec(600) };
    apr_status_t rv;

    if (!c->secret) {
        /* Without ConsultSecret, form tokens are signed with a key made now:
         * every child shares it, but a restart invalidates open forms. */
        unsigned char *key = apr_palloc(pconf, 32);
        if (cs_random_bytes(key, 32) != APR_SUCCESS
            && (rv = apr_generate_random_bytes(key, 32)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, CSLOGNO(01047)
                         "no random bytes for a secret: set ConsultSecret");
            return rv;
        }
        c->secret = key;
        c->secret_len = 32;
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, CSLOGNO(01040)
                         "ConsultSecret is not set: using a random secret until "
                         "the next restart");
        }
    }
    if (!ap_find_linked_module("mod_remoteip.c")
        && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        /* Behind a proxy or CDN every visitor would share one address. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, CSLOGNO(01045)
                     "mod_remoteip is not loaded: per-IP limits and the sign-in throttle "
                     "see each connection's address, behind a proxy the proxy's; load "
                     "mod_remoteip with RemoteIPHeader and RemoteIPTrustedProxy "
                     "(conf/remoteip-cloudflare.conf.example)");
    }
    /* core_ratelimit_check made sure at check_config that it is loaded. */
    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                  AP_SOCACHE_PROVIDER_VERSION);
    if (!provider) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((err = provider->create(&instance, args, ptemp, pconf))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CSLOGNO(01042)
                     "ConsultRateLimitCache: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = ap_global_mutex_create(&mutex, NULL, MUTEX_TYPE, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = provider->init(instance, "consult-ratelimit", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, CSLOGNO(01043)
                     "cannot initialise the rate-limit cache");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cache_gone, apr_pool_cleanup_null);
    return OK;
}

void core_ratelimit_child_init(apr_pool_t *p, server_rec *s)
{
    if (mutex) {
        apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex), p);
    }
}

int cs_rate_limit(request_rec *r, const char *key, int limit,
                  apr_interval_time_t window, int *pretry_after)
{
    apr_time_t now = apr_time_now();
    apr_int64_t n = now / window;
    apr_time_t end = (n + 1) * window;
    const char *ckey = apr_psprintf(r->pool, "%s|%" APR_INT64_T_FMT, key, n);
    unsigned char buf[8];
    unsigned int len = sizeof(buf);
    apr_uint32_t hits = 0;
    apr_status_t rv;

    *pretry_after = 0;
    if (!provider || !instance || !mutex || limit <= 0) {
        return 1;
    }
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) {
        return 1;
    }
    rv = provider->retrieve(instance, r->server, (const unsigned char *)ckey,
                            (unsigned int)strlen(ckey), buf, &len, r->pool);
    if (rv == APR_SUCCESS && len == sizeof(hits)) {
        memcpy(&hits, buf, sizeof(hits));
    }
    hits++;
    memcpy(buf, &hits, sizeof(hits));
    rv = provider->store(instance, r->server, (const unsigned char *)ckey,
                         (unsigned int)strlen(ckey), end, buf, sizeof(hits), r->pool);
    apr_global_mutex_unlock(mutex);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, CSLOGNO(01044)
                      "rate-limit cache store failed; allowing the request");
        return 1;
    }
    if ((int)hits > limit) {
        *pretry_after = (int)((end - now + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
        return 0;
    }
    return 1;
}

void cs_server_secret(server_rec *s, const unsigned char **pkey, apr_size_t *plen)
{
    /* ConsultSecret is GLOBAL_ONLY and a generated one is set on the main
     * server after vhosts were merged: always read the main server's. */
    core_server_conf *c = core_sconf(ap_server_conf);
    (void)s;
    *pkey = c->secret;
    *plen = c->secret_len;
}
