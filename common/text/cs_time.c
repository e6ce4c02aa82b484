/* ISO 8601 / RFC 3339 date-times as providers send them (cs_time.h). */
#include "text/cs_time.h"

#include <string.h>

static int digits(const char **ps, int n, int *pout)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if ((*ps)[i] < '0' || (*ps)[i] > '9') {
            return 0;
        }
        v = v * 10 + ((*ps)[i] - '0');
    }
    *ps += n;
    *pout = v;
    return 1;
}

apr_status_t cs_time_parse_iso8601(apr_time_t *pout, const char *iso)
{
    apr_time_exp_t e;
    const char *s = iso;
    int year, mon, day, hour, min, sec, usec = 0, scale = 100000, oh = 0, om = 0, sign = 0;
    apr_time_t t;

    *pout = 0;
    memset(&e, 0, sizeof(e));
    if (!s || !digits(&s, 4, &year) || *s++ != '-' || !digits(&s, 2, &mon) || *s++ != '-'
        || !digits(&s, 2, &day) || (*s != 'T' && *s != ' ')) {
        return APR_EINVAL;
    }
    s++;
    if (!digits(&s, 2, &hour) || *s++ != ':' || !digits(&s, 2, &min) || *s++ != ':'
        || !digits(&s, 2, &sec)) {
        return APR_EINVAL;
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') {
            return APR_EINVAL;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
            usec += scale * (*s - '0');
            scale /= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    }
    else if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        if (!digits(&s, 2, &oh)) {
            return APR_EINVAL;
        }
        if (*s == ':') {
            s++;
        }
        if (!digits(&s, 2, &om) || oh > 23 || om > 59) {
            return APR_EINVAL;
        }
    }
    if (*s || year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 || day > 31
        || hour > 23 || min > 59 || sec > 60) {
        return APR_EINVAL;
    }
    e.tm_year = year - 1900;
    e.tm_mon = mon - 1;
    e.tm_mday = day;
    e.tm_hour = hour;
    e.tm_min = min;
    e.tm_sec = sec;
    if (apr_time_exp_gmt_get(&t, &e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pout = t + usec - (apr_time_t)sign * apr_time_from_sec(oh * 3600 + om * 60);
    return APR_SUCCESS;
}
