/**
 * @file cs_conf.h
 * @brief Parsers for directive values. Each returns NULL on success or a
 * message saying what was expected, so every module's directive handlers
 * report bad values the same way ("ConsultX: expected ..., got '...'").
 */
#ifndef CS_CONF_H
#define CS_CONF_H

#include <apr_pools.h>
#include <apr_time.h>

/** Parse a decimal integer within [min, max]. */
const char *cs_conf_parse_int(apr_pool_t *p, const char *arg,
                              long min, long max, long *out);

/** Parse a byte size: "512", "64k", "2M" (binary units) within [min, max]. */
const char *cs_conf_parse_size(apr_pool_t *p, const char *arg,
                               apr_off_t min, apr_off_t max, apr_off_t *out);

/** Parse a duration: "250ms", "3s", "2m", "1h"; a bare number is seconds. */
const char *cs_conf_parse_duration(apr_pool_t *p, const char *arg,
                                   apr_interval_time_t min,
                                   apr_interval_time_t max,
                                   apr_interval_time_t *out);

/** Parse On/Off (case-insensitive). */
const char *cs_conf_parse_flag(apr_pool_t *p, const char *arg, int *out);

/** A client slug: 1-63 of [a-z0-9-], starting with a letter or digit. */
int cs_slug_is_valid(const char *slug);

/**
 * Resolve a secret reference: "env:NAME" (an environment variable),
 * "file:PATH" (the file's contents, trailing newline dropped) or the
 * literal value. Secrets then never need to sit in httpd.conf.
 * @return NULL with *out set, or a message (naming the variable or file,
 * never the value).
 */
const char *cs_conf_secret(apr_pool_t *p, const char *spec, const char **out,
                           apr_size_t *outlen);

#endif
