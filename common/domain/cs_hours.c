#include "domain/cs_hours.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MINUTES_PER_DAY 1440

/* How far back cs_hours_open looks for a closing moment: a whole week plus
 * today, so any schedule with hours on some weekday finds one unless
 * holidays cover it. */
#define LOOKBACK_DAYS 8

/* One open interval of a day, in minutes: [start, end). */
typedef struct {
    int start;
    int end;
} cs_span_t;

struct cs_hours_t {
    apr_pool_t *pool;               /* for holidays added later */
    apr_array_header_t *days[7];    /* cs_span_t sorted and merged; [isodow-1] */
    apr_array_header_t *holidays;   /* long: day numbers (see days_from_civil) */
};

static const char *const day_names[7] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* ---- dates --------------------------------------------------------------- */

/* Day number of a proleptic Gregorian date (0 = 1970-01-01); the usual
 * era-based formula, exact for every year we accept. */
static long days_from_civil(long y, int m, int d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *py, int *pm, int *pd)
{
    long era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *pd = (int)(doy - (153 * mp + 2) / 5 + 1);
    *pm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *py = yoe + era * 400 + (*pm <= 2);
}

static int two_digits(const char *s)
{
    return apr_isdigit(s[0]) && apr_isdigit(s[1])
        ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/* Parse exactly "YYYY-MM-DD" (a real date, year 0001-9999) to a day
 * number. Strict, so a typo in a holiday list is reported, not ignored. */
static int parse_date(const char *s, long *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int hi, lo, m, d, leap, dim;
    long y;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    hi = two_digits(s);
    lo = two_digits(s + 2);
    m = two_digits(s + 5);
    d = two_digits(s + 8);
    if (hi < 0 || lo < 0 || m < 1 || m > 12 || d < 1) {
        return 0;
    }
    y = hi * 100 + lo;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    dim = mdays[m - 1] + (m == 2 && leap);
    if (y < 1 || d > dim) {
        return 0;
    }
    *out = days_from_civil(y, m, d);
    return 1;
}

static const char *format_date(apr_pool_t *p, long days)
{
    long y;
    int m, d;

    civil_from_days(days, &y, &m, &d);
    return apr_psprintf(p, "%04ld-%02d-%02d", y, m, d);
}

/* ---- parsing ------------------------------------------------------------- */

/* Index 0..6 of a 3-letter day name at @p s (exactly 3 chars), or -1. */
static int day_index(const char *s)
{
    int i;

    for (i = 0; i < 7; i++) {
        if (apr_tolower(s[0]) == day_names[i][0] &&
            apr_tolower(s[1]) == day_names[i][1] &&
            apr_tolower(s[2]) == day_names[i][2]) {
            return i;
        }
    }
    return -1;
}

/* Parse "Mon", "Mon-Fri", "Fri-Mon,Wed" into a set of day flags. */
static int parse_days(const char *s, apr_size_t len, int set[7])
{
    apr_size_t i = 0;

    if (len == 0) {
        return 0;
    }
    while (i < len) {
        int a, b;

        if (len - i < 3 || (a = day_index(s + i)) < 0) {
            return 0;
        }
        i += 3;
        b = a;
        if (i < len && s[i] == '-') {
            if (len - i < 4 || (b = day_index(s + i + 1)) < 0) {
                return 0;
            }
            i += 4;
        }
        /* Step forward from a to b, wrapping past Sunday: Fri-Mon is
         * Fri, Sat, Sun, Mon. */
        for (;;) {
            set[a] = 1;
            if (a == b) {
                break;
            }
            a = (a + 1) % 7;
        }
        if (i < len) {
            if (s[i] != ',' || i + 1 == len) {
                return 0;
            }
            i++;
        }
    }
    return 1;
}

/* Exactly "HH:MM", 00:00 .. 24:00, to a minute of the day. */
static int parse_time(const char *s, int *out)
{
    int h = two_digits(s), m;

    if (h < 0 || s[2] != ':') {
        return 0;
    }
    m = two_digits(s + 3);
    if (m < 0 || m > 59 || h > 24 || (h == 24 && m != 0)) {
        return 0;
    }
    *out = h * 60 + m;
    return 1;
}

static int span_cmp(const void *a, const void *b)
{
    const cs_span_t *x = a, *y = b;

    return x->start != y->start ? (x->start > y->start) - (x->start < y->start)
                                : (x->end > y->end) - (x->end < y->end);
}

/* Sort a day's intervals and merge the ones that overlap or touch, so every
 * remaining end is a real closing moment ("08:00-12:00" + "12:00-17:00"
 * closes once, at 17:00). */
static void merge_spans(apr_array_header_t *arr)
{
    cs_span_t *s = (cs_span_t *)arr->elts;
    int i, n = 0;

    if (arr->nelts < 2) {
        return;
    }
    qsort(s, (size_t)arr->nelts, sizeof(*s), span_cmp);
    for (i = 1; i < arr->nelts; i++) {
        if (s[i].start <= s[n].end) {
            if (s[i].end > s[n].end) {
                s[n].end = s[i].end;
            }
        }
        else {
            s[++n] = s[i];
        }
    }
    arr->nelts = n + 1;
}

static apr_status_t bad_entry(apr_pool_t *p, const char *entry,
                              const char *what, const char **perr)
{
    if (perr) {
        *perr = apr_psprintf(p, "%s, got '%s'", what, entry ? entry : "");
    }
    return APR_EINVAL;
}

apr_status_t cs_hours_parse(cs_hours_t **pout, apr_pool_t *p,
                            const apr_array_header_t *entries,
                            const char **perr)
{
    static const char expected[] =
        "expected DAYS HH:MM-HH:MM or DAYS closed";
    cs_hours_t *h;
    int closed[7] = {0};
    int i, d;

    *pout = NULL;
    if (perr) {
        *perr = NULL;
    }
    h = apr_pcalloc(p, sizeof(*h));
    h->pool = p;
    h->holidays = apr_array_make(p, 4, sizeof(long));
    for (d = 0; d < 7; d++) {
        h->days[d] = apr_array_make(p, 2, sizeof(cs_span_t));
    }

    for (i = 0; entries && i < entries->nelts; i++) {
        const char *entry = APR_ARRAY_IDX(entries, i, const char *);
        const char *s, *days_end, *rest, *rest_end;
        int set[7] = {0};
        int start, end;

        if (!entry) {
            return bad_entry(p, entry, expected, perr);
        }
        /* DAYS, one run of blanks, then the times or "closed"; surrounding
         * blanks are forgiven since config values often carry them. */
        for (s = entry; apr_isspace(*s); s++) {
        }
        for (days_end = s; *days_end && !apr_isspace(*days_end); days_end++) {
        }
        for (rest = days_end; apr_isspace(*rest); rest++) {
        }
        for (rest_end = rest; *rest_end && !apr_isspace(*rest_end); rest_end++) {
        }
        for (; apr_isspace(*rest_end); rest_end++) {
        }
        if (*rest_end || rest == days_end ||
            !parse_days(s, (apr_size_t)(days_end - s), set)) {
            return bad_entry(p, entry, expected, perr);
        }
        if (strncasecmp(rest, "closed", 6) == 0 &&
            (rest[6] == '\0' || apr_isspace(rest[6]))) {
            for (d = 0; d < 7; d++) {
                closed[d] |= set[d];
            }
            continue;
        }
        if (!parse_time(rest, &start) || rest[5] != '-' ||
            !parse_time(rest + 6, &end) ||
            (rest[11] != '\0' && !apr_isspace(rest[11]))) {
            return bad_entry(p, entry, expected, perr);
        }
        if (end <= start) {
            return bad_entry(p, entry,
                             "expected the closing time after the opening "
                             "time (no overnight intervals: split at 24:00)",
                             perr);
        }
        for (d = 0; d < 7; d++) {
            if (set[d]) {
                cs_span_t *sp = apr_array_push(h->days[d]);
                sp->start = start;
                sp->end = end;
            }
        }
    }

    if (!entries || entries->nelts == 0) {
        /* No hours configured: open around the clock, so the same lookup
         * code handles holidays (closed) for free. */
        for (d = 0; d < 7; d++) {
            cs_span_t *sp = apr_array_push(h->days[d]);
            sp->start = 0;
            sp->end = MINUTES_PER_DAY;
        }
    }
    for (d = 0; d < 7; d++) {
        if (closed[d]) {
            apr_array_clear(h->days[d]);
        }
        merge_spans(h->days[d]);
    }
    *pout = h;
    return APR_SUCCESS;
}

apr_status_t cs_hours_add_holiday(cs_hours_t *h, const char *date,
                                  const char **perr)
{
    long day;

    if (perr) {
        *perr = NULL;
    }
    if (!parse_date(date, &day)) {
        if (perr) {
            *perr = apr_psprintf(h->pool, "expected a date YYYY-MM-DD, got '%s'",
                                 date ? date : "");
        }
        return APR_EINVAL;
    }
    APR_ARRAY_PUSH(h->holidays, long) = day;
    return APR_SUCCESS;
}

/* ---- open / closed ------------------------------------------------------- */

static int is_holiday(const cs_hours_t *h, long day)
{
    int i;

    for (i = 0; i < h->holidays->nelts; i++) {
        if (APR_ARRAY_IDX(h->holidays, i, long) == day) {
            return 1;
        }
    }
    return 0;
}

int cs_hours_open(const cs_hours_t *h, apr_pool_t *p, int isodow, int minute,
                  const char *local_date, const char **pevening)
{
    const apr_array_header_t *spans;
    long today;
    int i, k;

    if (pevening) {
        *pevening = NULL;
    }
    if (!h || isodow < 1 || isodow > 7 || minute < 0 ||
        minute >= MINUTES_PER_DAY || !parse_date(local_date, &today)) {
        return 1;
    }
    if (!is_holiday(h, today)) {
        spans = h->days[isodow - 1];
        for (i = 0; i < spans->nelts; i++) {
            const cs_span_t *sp = &APR_ARRAY_IDX(spans, i, cs_span_t);
            if (minute >= sp->start && minute < sp->end) {
                return 1;
            }
        }
    }
    if (!pevening) {
        return 0;
    }

    /* Closed: walk back day by day to the latest closing moment at or
     * before now. Spans are merged, so each end is a real closing; today
     * only counts the ones already passed. */
    for (k = 0; k <= LOOKBACK_DAYS; k++) {
        long day = today - k;
        int dow = ((isodow - 1 - k) % 7 + 7) % 7;
        int last = -1;

        if (is_holiday(h, day)) {
            continue;
        }
        spans = h->days[dow];
        for (i = 0; i < spans->nelts; i++) {
            int end = APR_ARRAY_IDX(spans, i, cs_span_t).end;
            if ((k > 0 || end <= minute) && end > last) {
                last = end;
            }
        }
        if (last >= 0) {
            *pevening = format_date(p, day);
            return 0;
        }
    }
    *pevening = format_date(p, today);
    return 0;
}
