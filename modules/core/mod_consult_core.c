/*
 * mod_consult_core: the Consult database pool, tenant binding, shared JSON
 * responses and the health endpoint. Feature modules reach all of it
 * through the optional functions declared in mod_consult_core.h.
 */
#include "core_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include "ap_config.h"


static void child_init(apr_pool_t *p, server_rec *s)
{
    /* The pool is built here, after fork: each child owns its sockets. */
    core_child_init(p, s);
    core_ratelimit_child_init(p, s);
    core_counts_child_init(p, s);
}

static int map_to_storage(request_rec *r)
{
    /* /consult/health is not a file: skip the filesystem walk. */
    if (!strcmp(r->uri, "/consult/health")) {
        return OK;
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cs_db_acquire);
    APR_REGISTER_OPTIONAL_FN(cs_client_get);
    APR_REGISTER_OPTIONAL_FN(cs_client_slug);
    APR_REGISTER_OPTIONAL_FN(cs_server_secret);
    APR_REGISTER_OPTIONAL_FN(cs_rate_limit);
    APR_REGISTER_OPTIONAL_FN(cs_send_error);
    APR_REGISTER_OPTIONAL_FN(cs_send_json);
    APR_REGISTER_OPTIONAL_FN(cs_read_form);
    APR_REGISTER_OPTIONAL_FN(cs_read_body);
    APR_REGISTER_OPTIONAL_FN(cs_reply_order);
    APR_REGISTER_OPTIONAL_FN(cs_journal_record);
    APR_REGISTER_OPTIONAL_FN(cs_journal_append);
    APR_REGISTER_OPTIONAL_FN(cs_journal_add);
    APR_REGISTER_OPTIONAL_FN(cs_content_changed);
    APR_REGISTER_OPTIONAL_FN(cs_content_generation);
    APR_REGISTER_OPTIONAL_FN(cs_edge_count);

    ap_hook_pre_config(core_ratelimit_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(core_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(core_ratelimit_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(core_changes_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_watchdog's own post_config, which starts what we register. */
    ap_hook_post_config(core_worker_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(core_counts_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(core_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(consult_core) = {
    STANDARD20_MODULE_STUFF,
    NULL,                  /* per-directory config: none */
    NULL,
    core_create_server,
    core_merge_server,
    core_cmds,
    register_hooks,
    0
};
