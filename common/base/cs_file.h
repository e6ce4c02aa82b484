/**
 * @file cs_file.h
 * @brief Whole-file reads and atomic whole-file writes: templates, secrets,
 * migrations, menu files and snapshots all go through these two.
 */
#ifndef CS_FILE_H
#define CS_FILE_H

#include <apr_pools.h>
#include <apr_errno.h>

/**
 * Read the whole of @p path into @p p, NUL-terminated. @p max bytes at most
 * (0: no limit); a larger file is APR_ENOSPC.
 * @return APR_SUCCESS or the APR error of open/stat/read.
 */
apr_status_t cs_file_read(char **pbuf, apr_size_t *plen, apr_pool_t *p,
                          const char *path, apr_size_t max);

/**
 * Replace @p path with @p len bytes: written to a temporary file in the
 * same folder, flushed, then renamed over it, so a reader sees the old file
 * or the new one, never half of either.
 */
apr_status_t cs_file_write_atomic(const char *path, const void *data,
                                  apr_size_t len, apr_pool_t *p);

#endif
