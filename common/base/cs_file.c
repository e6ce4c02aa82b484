/* Whole-file reads and atomic writes (cs_file.h). */
#include "base/cs_file.h"

#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>

apr_status_t cs_file_read(char **pbuf, apr_size_t *plen, apr_pool_t *p,
                          const char *path, apr_size_t max)
{
    apr_file_t *f;
    apr_finfo_t st;
    apr_size_t n = 0;
    char *buf;
    apr_status_t rv;

    *pbuf = NULL;
    if (plen) {
        *plen = 0;
    }
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p))
        != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_file_info_get(&st, APR_FINFO_SIZE, f)) != APR_SUCCESS) {
        apr_file_close(f);
        return rv;
    }
    if (st.size < 0 || (max && (apr_size_t)st.size > max)) {
        apr_file_close(f);
        return APR_ENOSPC;
    }
    n = (apr_size_t)st.size;
    buf = apr_palloc(p, n + 1);
    rv = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf[n] = '\0';
    *pbuf = buf;
    if (plen) {
        *plen = n;
    }
    return APR_SUCCESS;
}

apr_status_t cs_file_write_atomic(const char *path, const void *data,
                                  apr_size_t len, apr_pool_t *p)
{
    char *tmp = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_size_t n = len;
    apr_status_t rv;

    if ((rv = apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                       | APR_FOPEN_EXCL | APR_FOPEN_BINARY, p))
        != APR_SUCCESS) {
        return rv;
    }
    rv = len ? apr_file_write_full(f, data, len, &n) : APR_SUCCESS;
    if (rv == APR_SUCCESS) {
        rv = apr_file_flush(f);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(f);
    }
    /* Readable by the other processes that serve it (mktemp makes 0600). */
    if (rv == APR_SUCCESS) {
        rv = apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE
                                     | APR_FPROT_GREAD | APR_FPROT_WREAD);
    }
    apr_file_close(f);
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
    }
    return rv;
}
