/* cs_conf directive value parsers: int, size, duration, flag, slug and
 * literal secrets (never "env:" or "file:" references: a fuzzer must not
 * read the environment or the filesystem). Each input line is one value. */
#include "fuzz_common.h"
#include "base/cs_conf.h"

#include <limits.h>

FUZZ_APR_INIT

static void one(apr_pool_t *p, const char *arg)
{
    long l = -7;
    apr_off_t off = -7;
    apr_interval_time_t t = -7;
    int flag = -7;
    const char *e, *secret = NULL;
    apr_size_t slen = 0;

    e = cs_conf_parse_int(p, arg, 0, 100, &l);
    if (!e && (l < 0 || l > 100)) abort();
    fuzz_touch_str(e);
    e = cs_conf_parse_int(p, arg, -2147483648L, 2147483647L, &l);
    if (!e && (l < -2147483648L || l > 2147483647L)) abort();
    e = cs_conf_parse_int(p, arg, LONG_MIN, LONG_MAX, &l);
    fuzz_touch_str(e);

    e = cs_conf_parse_size(p, arg, 1, (apr_off_t)64 << 20, &off);
    if (!e && (off < 1 || off > ((apr_off_t)64 << 20))) abort();
    fuzz_touch_str(e);
    e = cs_conf_parse_size(p, arg, 0, APR_INT64_MAX, &off);
    if (!e && off < 0) abort();

    e = cs_conf_parse_duration(p, arg, apr_time_from_msec(1),
                               apr_time_from_sec(3600), &t);
    if (!e && (t < apr_time_from_msec(1) || t > apr_time_from_sec(3600))) abort();
    fuzz_touch_str(e);
    e = cs_conf_parse_duration(p, arg, 0, APR_INT64_MAX, &t);
    if (!e && t < 0) abort();

    e = cs_conf_parse_flag(p, arg, &flag);
    if (!e && flag != 0 && flag != 1) abort();
    fuzz_touch_str(e);

    (void)cs_slug_is_valid(arg);

    if (strncmp(arg, "env:", 4) && strncmp(arg, "file:", 5)) {
        e = cs_conf_secret(p, arg, &secret, &slen);
        if (!e) {
            if (!secret) abort();
            fuzz_touch(secret, slen);
        }
        fuzz_touch_str(e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    int n = 0;

    one(p, fuzz_cstr(p, data, size));   /* the whole input as one value */
    while (size && n++ < 16) {
        one(p, fuzz_take_line(p, &data, &size));
    }
    apr_pool_destroy(p);
    return 0;
}
