/*
 * The change board: one generation number every Apache process shares,
 * moved on after each commit that changes what public pages show (a menu,
 * a sold-out mark). Per-child caches remember what they read from Postgres
 * together with the generation they read it at, and trust it only while
 * the generation stands: a request then needs no database at all, and a
 * change made through Apache is seen by the very next request, in every
 * process. One anonymous shared word, made before the children fork and
 * moved with an atomic increment: no lock, no file.
 *
 * A second word is the node's job doorbell: when its journal last sent
 * NOTIFY consult_jobs. A commit that notifies takes PostgreSQL's one
 * notification lock until it is flushed, so a webhook flood notifying on
 * every event runs at half the speed of the same writes without it; one
 * notification per CS_NOTIFY_GAP wakes the worker as well (it claims again
 * shortly after each, core_worker.c, for a job whose writer skipped it).
 */
#include "core_private.h"
#include "db/cs_jobs.h"

#include <apr_shm.h>
#include <apr_atomic.h>

/* [0] the content generation, [1] the last notification (ms, wrapping). */
static volatile apr_uint32_t *board;

int core_changes_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    board = NULL;
    rv = apr_shm_create(&shm, 2 * sizeof(apr_uint32_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        /* Caches then ask Postgres on every request: slower, still right. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, CSLOGNO(01061)
                     "no shared memory for the change board; menu caches "
                     "will check the database on every request");
        return OK;
    }
    board = apr_shm_baseaddr_get(shm);
    apr_atomic_set32(board, 1);
    apr_atomic_set32(board + 1, (apr_uint32_t)apr_time_as_msec(apr_time_now()) - CS_NOTIFY_GAP);
    return OK;
}

void cs_content_changed(void)
{
    if (board) {
        apr_atomic_inc32(board);
    }
}

int cs_content_generation(apr_uint32_t *pgen)
{
    if (!board) {
        return 0;
    }
    *pgen = apr_atomic_read32(board);
    return 1;
}

int cs_jobs_notify_due(void)
{
    return !board || cs_jobs_wake_due(board + 1, (apr_uint32_t)apr_time_as_msec(apr_time_now()),
                                      CS_NOTIFY_GAP);
}
