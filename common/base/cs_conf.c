#include "base/cs_conf.h"
#include "base/cs_file.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include <apr_env.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *cs_conf_parse_int(apr_pool_t *p, const char *arg,
                              long min, long max, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    /* Digits with an optional '-': strtol alone would take " 5" and "+5". */
    v = (arg && (apr_isdigit(*arg) || (*arg == '-' && apr_isdigit(arg[1]))))
        ? strtol(arg, &end, 10) : 0;
    if (!end || errno || *end || v < min || v > max) {
        return apr_psprintf(p, "expected an integer from %ld to %ld, got '%s'",
                            min, max, arg ? arg : "");
    }
    *out = v;
    return NULL;
}

const char *cs_conf_parse_size(apr_pool_t *p, const char *arg,
                               apr_off_t min, apr_off_t max, apr_off_t *out)
{
    char *end = NULL;
    apr_int64_t v, mult = 1;

    errno = 0;
    v = (arg && apr_isdigit(*arg)) ? apr_strtoi64(arg, &end, 10) : -1;
    if (v >= 0 && !errno) {
        if (*end == 'k' || *end == 'K') { mult = 1024; end++; }
        else if (*end == 'm' || *end == 'M') { mult = 1024 * 1024; end++; }
        else if (*end == 'g' || *end == 'G') { mult = 1024 * 1024 * 1024; end++; }
    }
    if (v < 0 || errno || *end || v > max / mult || v * mult < min) {
        return apr_psprintf(p, "expected a size from %" APR_OFF_T_FMT
                            " to %" APR_OFF_T_FMT " bytes (suffix k, M or G "
                            "allowed), got '%s'", min, max, arg ? arg : "");
    }
    *out = (apr_off_t)(v * mult);
    return NULL;
}

const char *cs_conf_parse_duration(apr_pool_t *p, const char *arg,
                                   apr_interval_time_t min,
                                   apr_interval_time_t max,
                                   apr_interval_time_t *out)
{
    char *end = NULL;
    apr_int64_t v, unit = APR_USEC_PER_SEC;

    errno = 0;
    v = (arg && apr_isdigit(*arg)) ? apr_strtoi64(arg, &end, 10) : -1;
    if (v >= 0 && !errno) {
        if (!strcmp(end, "ms")) { unit = 1000; end += 2; }
        else if (!strcmp(end, "s")) { end += 1; }
        else if (!strcmp(end, "m")) { unit = 60 * APR_USEC_PER_SEC; end += 1; }
        else if (!strcmp(end, "h")) { unit = 3600 * APR_USEC_PER_SEC; end += 1; }
    }
    if (v < 0 || errno || *end || v > max / unit || v * unit < min) {
        return apr_psprintf(p, "expected a duration from %" APR_INT64_T_FMT
                            "ms to %" APR_INT64_T_FMT "s (like 500ms, 3s, 2m), "
                            "got '%s'", (apr_int64_t)(min / 1000),
                            (apr_int64_t)(max / APR_USEC_PER_SEC),
                            arg ? arg : "");
    }
    *out = v * unit;
    return NULL;
}

const char *cs_conf_parse_flag(apr_pool_t *p, const char *arg, int *out)
{
    if (arg && !strcasecmp(arg, "on")) { *out = 1; return NULL; }
    if (arg && !strcasecmp(arg, "off")) { *out = 0; return NULL; }
    return apr_psprintf(p, "expected On or Off, got '%s'", arg ? arg : "");
}

int cs_slug_is_valid(const char *slug)
{
    size_t i, n = slug ? strlen(slug) : 0;

    if (n == 0 || n > 63 || slug[0] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = slug[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return 0;
        }
    }
    return 1;
}

const char *cs_conf_secret(apr_pool_t *p, const char *spec, const char **out,
                           apr_size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!strncmp(spec, "env:", 4)) {
        char *v = NULL;
        if (apr_env_get(&v, spec + 4, p) != APR_SUCCESS || !v || !*v) {
            return apr_psprintf(p, "environment variable %s is not set", spec + 4);
        }
        *out = v;
        *outlen = strlen(v);
        return NULL;
    }
    if (!strncmp(spec, "file:", 5)) {
        apr_size_t n;
        char *buf;
        apr_status_t rv = cs_file_read(&buf, &n, p, spec + 5, 65536);
        if (rv == APR_ENOSPC) {
            return apr_psprintf(p, "%s is empty or larger than 64k", spec + 5);
        }
        if (rv != APR_SUCCESS) {
            return apr_psprintf(p, "cannot read %s", spec + 5);
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
            n--;
        }
        buf[n] = '\0';
        if (n == 0) {
            return apr_psprintf(p, "%s is empty", spec + 5);
        }
        *out = buf;
        *outlen = n;
        return NULL;
    }
    *out = spec;
    *outlen = strlen(spec);
    return NULL;
}
