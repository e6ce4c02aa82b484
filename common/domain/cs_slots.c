/* Pickup slots (cs_slots.h): zone rules, the minute timeline, the plan. */
#include "domain/cs_slots.h"
#include "base/cs_file.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_hash.h>
#include <limits.h>
#include <string.h>

#define DAY 86400
#define ZONEINFO "/usr/share/zoneinfo"
#define TZIF_MAX (512 * 1024)

/* ---- dates (proleptic Gregorian day numbers, 0 = 1970-01-01) ------------- */

static apr_int64_t fdiv(apr_int64_t a, apr_int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

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

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- POSIX TZ rules ------------------------------------------------------ */

typedef struct {
    char kind;              /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' */
    int n, m, w, d;
    int secs;               /* local time of the change, may be < 0 or > 24 h */
} rdate_t;

typedef struct {
    const char *std_abbr, *dst_abbr;
    int std_off, dst_off;   /* seconds east of UTC */
    int has_dst;
    rdate_t start, end;
} prule_t;

typedef struct {
    int off;
    int isdst;
    const char *abbr;
} ztype_t;

struct cs_slots_zone_t {
    int ntrans;
    apr_int64_t *trans;
    unsigned char *tidx;
    int ntypes;
    ztype_t *types;
    int has_rule;
    prule_t rule;
};

static const char *rule_name(apr_pool_t *p, const char **ps)
{
    const char *s = *ps, *b;

    if (*s == '<') {
        for (b = ++s; apr_isalnum(*s) || *s == '+' || *s == '-'; s++) {
        }
        if (*s != '>' || s - b < 3) {
            return NULL;
        }
        *ps = s + 1;
        return apr_pstrmemdup(p, b, (apr_size_t)(s - b));
    }
    for (b = s; apr_isalpha(*s); s++) {
    }
    if (s - b < 3) {
        return NULL;
    }
    *ps = s;
    return apr_pstrmemdup(p, b, (apr_size_t)(s - b));
}

/* [+-]hh[:mm[:ss]] with hh <= @p maxh, to seconds (sign kept). */
static int rule_hms(const char **ps, int maxh, int *out)
{
    const char *s = *ps;
    int sign = 1, part[3] = {0, 0, 0}, i, digits;

    if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
    }
    for (i = 0; i < 3; i++) {
        if (i > 0) {
            if (*s != ':') {
                break;
            }
            s++;
        }
        for (digits = 0; apr_isdigit(*s) && digits < 3; digits++, s++) {
            part[i] = part[i] * 10 + (*s - '0');
        }
        if (!digits || (i > 0 && (digits != 2 || part[i] > 59))) {
            return 0;
        }
    }
    if (part[0] > maxh) {
        return 0;
    }
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *ps = s;
    return 1;
}

static int rule_num(const char **ps, int lo, int hi, int *out)
{
    const char *s = *ps;
    int v = 0, digits = 0;

    for (; apr_isdigit(*s) && digits < 4; s++, digits++) {
        v = v * 10 + (*s - '0');
    }
    if (!digits || v < lo || v > hi) {
        return 0;
    }
    *out = v;
    *ps = s;
    return 1;
}

static int rule_date(const char **ps, rdate_t *r)
{
    const char *s = *ps;

    memset(r, 0, sizeof(*r));
    r->secs = 7200;
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!rule_num(&s, 1, 365, &r->n)) {
            return 0;
        }
    }
    else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!rule_num(&s, 1, 12, &r->m) || *s++ != '.' || !rule_num(&s, 1, 5, &r->w)
            || *s++ != '.' || !rule_num(&s, 0, 6, &r->d)) {
            return 0;
        }
    }
    else {
        r->kind = 'N';
        if (!rule_num(&s, 0, 365, &r->n)) {
            return 0;
        }
    }
    if (*s == '/') {
        s++;
        if (!rule_hms(&s, 167, &r->secs)) {
            return 0;
        }
    }
    *ps = s;
    return 1;
}

static int parse_rule(apr_pool_t *p, const char *s, prule_t *r)
{
    int west;

    memset(r, 0, sizeof(*r));
    if (!(r->std_abbr = rule_name(p, &s)) || !rule_hms(&s, 24, &west)) {
        return 0;
    }
    r->std_off = -west;
    if (!*s) {
        return 1;
    }
    if (!(r->dst_abbr = rule_name(p, &s))) {
        return 0;
    }
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (!rule_hms(&s, 24, &west)) {
            return 0;
        }
        r->dst_off = -west;
    }
    if (!*s) {
        /* tzcode's default when a DST name comes without its rule */
        s = ",M3.2.0,M11.1.0";
    }
    if (*s++ != ',' || !rule_date(&s, &r->start) || *s++ != ',' || !rule_date(&s, &r->end)) {
        return 0;
    }
    return *s == '\0';
}

/* Day number of a rule's date in year @p y. */
static long rule_day(const rdate_t *r, long y)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long jan1 = days_from_civil(y, 1, 1), first;
    int dim, dow, day;

    if (r->kind == 'J') {
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    }
    if (r->kind == 'N') {
        return jan1 + r->n;
    }
    first = days_from_civil(y, r->m, 1);
    dow = (int)((first + 4) % 7 + 7) % 7;               /* 0 = Sunday */
    day = 1 + (r->d - dow + 7) % 7 + (r->w - 1) * 7;
    dim = mdays[r->m - 1] + (r->m == 2 && is_leap(y));
    while (day > dim) {
        day -= 7;
    }
    return first + day - 1;
}

static int rule_isdst(const prule_t *r, apr_int64_t t)
{
    apr_int64_t s, e;
    long y;
    int m, d;

    if (!r->has_dst) {
        return 0;
    }
    civil_from_days((long)fdiv(t + r->std_off, DAY), &y, &m, &d);
    /* each change happens at a local time of the time in force before it */
    s = (apr_int64_t)rule_day(&r->start, y) * DAY + r->start.secs - r->std_off;
    e = (apr_int64_t)rule_day(&r->end, y) * DAY + r->end.secs - r->dst_off;
    return s < e ? (t >= s && t < e) : !(t >= e && t < s);
}

apr_status_t cs_slots_zone_rule(cs_slots_zone_t **pz, apr_pool_t *p,
                                const char *rule, const char **perr)
{
    cs_slots_zone_t *z = apr_pcalloc(p, sizeof(*z));

    *pz = NULL;
    if (perr) {
        *perr = NULL;
    }
    if (!rule || !parse_rule(p, rule, &z->rule)) {
        if (perr) {
            *perr = apr_psprintf(p, "expected a POSIX TZ rule like "
                                 "CST6CDT,M3.2.0,M11.1.0, got '%s'", rule ? rule : "");
        }
        return APR_EINVAL;
    }
    z->has_rule = 1;
    *pz = z;
    return APR_SUCCESS;
}

/* ---- tzdata files (RFC 8536) --------------------------------------------- */

static apr_uint32_t be32(const unsigned char *b)
{
    return (apr_uint32_t)b[0] << 24 | (apr_uint32_t)b[1] << 16
         | (apr_uint32_t)b[2] << 8 | b[3];
}

static int zone_name_ok(const char *n)
{
    const char *s;

    if (!n || !*n || *n == '/' || strlen(n) > 64 || strstr(n, "..") || strstr(n, "//")) {
        return 0;
    }
    for (s = n; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("/_+-", *s)) {
            return 0;
        }
    }
    return 1;
}

/* Parse one data block; @p tsize is 4 (v1) or 8. Returns its length, or 0. */
static apr_size_t tzif_block(cs_slots_zone_t *z, apr_pool_t *p, const unsigned char *b,
                             apr_size_t len, int tsize)
{
    apr_uint32_t isut, isstd, leap, timecnt, typecnt, charcnt, i;
    apr_size_t need;
    const unsigned char *t, *ti, *ty, *ch;

    if (len < 44 || memcmp(b, "TZif", 4)) {
        return 0;
    }
    isut = be32(b + 20);
    isstd = be32(b + 24);
    leap = be32(b + 28);
    timecnt = be32(b + 32);
    typecnt = be32(b + 36);
    charcnt = be32(b + 40);
    if (leap || timecnt > 20000 || typecnt < 1 || typecnt > 256 || charcnt < 1
        || charcnt > 1024 || isut > typecnt || isstd > typecnt) {
        return 0;
    }
    need = 44 + (apr_size_t)timecnt * ((apr_size_t)tsize + 1) + typecnt * 6 + charcnt
         + isstd + isut;
    if (need > len) {
        return 0;
    }
    t = b + 44;
    ti = t + (apr_size_t)timecnt * (apr_size_t)tsize;
    ty = ti + timecnt;
    ch = ty + typecnt * 6;
    if (ch[charcnt - 1] != '\0') {
        return 0;
    }
    z->ntrans = (int)timecnt;
    z->trans = apr_palloc(p, sizeof(apr_int64_t) * (timecnt ? timecnt : 1));
    z->tidx = apr_palloc(p, timecnt ? timecnt : 1);
    for (i = 0; i < timecnt; i++) {
        z->trans[i] = tsize == 8
            ? (apr_int64_t)((apr_uint64_t)be32(t + 8 * i) << 32 | be32(t + 8 * i + 4))
            : (apr_int64_t)(apr_int32_t)be32(t + 4 * i);
        z->tidx[i] = ti[i];
        if (ti[i] >= typecnt || (i > 0 && z->trans[i] <= z->trans[i - 1])) {
            return 0;
        }
    }
    z->ntypes = (int)typecnt;
    z->types = apr_palloc(p, sizeof(ztype_t) * typecnt);
    for (i = 0; i < typecnt; i++) {
        apr_int32_t off = (apr_int32_t)be32(ty + 6 * i);
        if (off <= -26 * 3600 || off >= 26 * 3600 || ty[6 * i + 5] >= charcnt) {
            return 0;
        }
        z->types[i].off = off;
        z->types[i].isdst = ty[6 * i + 4] != 0;
        z->types[i].abbr = apr_pstrdup(p, (const char *)ch + ty[6 * i + 5]);
    }
    return need;
}

apr_status_t cs_slots_zone_load(cs_slots_zone_t **pz, apr_pool_t *p,
                                const char *dir, const char *name,
                                const char **perr)
{
    cs_slots_zone_t *z;
    char *buf;
    apr_size_t len, n1, n2;
    const unsigned char *b;
    apr_status_t rv;

    *pz = NULL;
    if (perr) {
        *perr = NULL;
    }
    if (!zone_name_ok(name)) {
        if (perr) {
            *perr = apr_psprintf(p, "expected a time zone name like America/Chicago, "
                                 "got '%s'", name ? name : "");
        }
        return APR_EINVAL;
    }
    rv = cs_file_read(&buf, &len, p, apr_pstrcat(p, dir ? dir : ZONEINFO, "/", name, NULL),
                      TZIF_MAX);
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = apr_psprintf(p, "time zone '%s' is not on this system", name);
        }
        return rv;
    }
    z = apr_pcalloc(p, sizeof(*z));
    b = (const unsigned char *)buf;
    if (!(n1 = tzif_block(z, p, b, len, 4))) {
        goto bad;
    }
    if (b[4] >= '2') {
        const unsigned char *f, *nl;
        if (!(n2 = tzif_block(z, p, b + n1, len - n1, 8))) {
            goto bad;
        }
        f = b + n1 + n2;
        if (f >= b + len || *f != '\n' || !(nl = memchr(f + 1, '\n', (apr_size_t)(b + len - f - 1)))) {
            goto bad;
        }
        if (nl > f + 1) {
            if (!parse_rule(p, apr_pstrmemdup(p, (const char *)f + 1,
                                              (apr_size_t)(nl - f - 1)), &z->rule)) {
                goto bad;
            }
            z->has_rule = 1;
        }
    }
    *pz = z;
    return APR_SUCCESS;
bad:
    if (perr) {
        *perr = apr_psprintf(p, "time zone '%s': not a tzdata file this code reads", name);
    }
    return APR_EINVAL;
}

int cs_slots_zone_offset(const cs_slots_zone_t *z, apr_int64_t t, const char **pabbr)
{
    const ztype_t *ty = NULL;
    const char *abbr = "UTC";
    int off = 0;

    if (z && z->ntrans > 0 && t < z->trans[0]) {
        ty = &z->types[0];
    }
    else if (z && (z->ntrans == 0 || t >= z->trans[z->ntrans - 1])) {
        if (z->has_rule) {
            int dst = rule_isdst(&z->rule, t);
            off = dst ? z->rule.dst_off : z->rule.std_off;
            abbr = dst ? z->rule.dst_abbr : z->rule.std_abbr;
        }
        else if (z->ntypes > 0) {
            ty = &z->types[z->ntrans ? z->tidx[z->ntrans - 1] : 0];
        }
    }
    else if (z) {
        int lo = 0, hi = z->ntrans - 1;     /* trans[lo] <= t < trans[hi] */
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (z->trans[mid] <= t) {
                lo = mid;
            }
            else {
                hi = mid;
            }
        }
        ty = &z->types[z->tidx[lo]];
    }
    if (ty) {
        off = ty->off;
        abbr = ty->abbr;
    }
    if (pabbr) {
        *pabbr = abbr;
    }
    return off;
}

/* ---- capacity ------------------------------------------------------------ */

int cs_slots_points_left(int capacity, int taken)
{
    if (taken < 0) {
        taken = 0;
    }
    return capacity > taken ? capacity - taken : 0;
}

int cs_slots_fits(int capacity, int taken, int points)
{
    /* capacity - taken cannot overflow with both >= 0 */
    return points >= 1 && taken >= 0 && capacity >= 1 && taken <= capacity
        && points <= capacity - taken;
}

/* ---- labels -------------------------------------------------------------- */

static const char *const day_names[7] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};
static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"
};

/* Whether the local time of @p t also happens at another instant that day. */
static int local_twice(const cs_slots_zone_t *z, apr_int64_t t)
{
    int off = cs_slots_zone_offset(z, t, NULL), k;

    for (k = -1; k <= 1; k += 2) {
        int off2 = cs_slots_zone_offset(z, t + k * 7200, NULL);
        if (off2 != off && cs_slots_zone_offset(z, t + off - off2, NULL) == off2) {
            return 1;
        }
    }
    return 0;
}

void cs_slots_when(apr_pool_t *p, const cs_slots_zone_t *z, apr_int64_t now,
                   apr_int64_t t, cs_slots_when_t *w)
{
    apr_int64_t local, day, today;
    long y;
    int m, d, h, diff, twice;

    memset(w, 0, sizeof(*w));
    w->at = t;
    w->utc_offset = cs_slots_zone_offset(z, t, &w->abbr);
    local = t + w->utc_offset;
    day = fdiv(local, DAY);
    today = fdiv(now + cs_slots_zone_offset(z, now, NULL), DAY);
    w->local_minute = (int)((local - day * DAY) / 60);
    w->isodow = (int)(((day + 3) % 7 + 7) % 7) + 1;
    civil_from_days((long)day, &y, &m, &d);
    w->local_date = apr_psprintf(p, "%04ld-%02d-%02d", y, m, d);
    h = w->local_minute / 60;
    twice = local_twice(z, t);
    w->label = apr_psprintf(p, "%d:%02d %s%s%s", h % 12 ? h % 12 : 12,
                            w->local_minute % 60, h < 12 ? "AM" : "PM",
                            twice ? " " : "", twice ? w->abbr : "");
    diff = day - today > 400 || day - today < -400 ? 400 : (int)(day - today);
    if (diff == 0) {
        w->phrase = apr_pstrcat(p, "today at ", w->label, NULL);
    }
    else if (diff == 1) {
        w->phrase = apr_pstrcat(p, "tomorrow at ", w->label, NULL);
    }
    else if (diff > 1 && diff < 7) {
        w->phrase = apr_pstrcat(p, day_names[w->isodow - 1], " at ", w->label, NULL);
    }
    else {
        w->phrase = apr_psprintf(p, "on %s %d at %s", month_names[m - 1], d, w->label);
    }
}

/* ---- the minute timeline ------------------------------------------------- */

#define F_OPEN     1
#define F_BOUNDARY 2

typedef struct {
    int a, b;                   /* open minutes [a, b) of the timeline */
} run_t;

typedef struct {
    apr_pool_t *p;
    const cs_slots_req_t *r;
    int slot_min;
    apr_int64_t base;           /* UTC epoch seconds of minute 0 */
    int n;                      /* minutes built so far */
    int full;                   /* minutes it may grow to */
    unsigned char *f;
    apr_array_header_t *runs;   /* of run_t, in order */
    apr_int64_t cday;           /* the local day of the last minute built */
    const char *date;
    int isodow;
} timeline_t;

/* Build minutes [tl->n, n) of the timeline: each one's local time, whether
 * it starts a slot, whether cs_hours says open. The zone's offset is read
 * once an hour unless it changes within that hour (zones change at most
 * once in an hour), so a fortnight costs a few hundred offset lookups. */
static void timeline_extend(timeline_t *tl, int n)
{
    unsigned char *f;
    run_t *cur = NULL;
    int i, off = 0, varies = 0;

    if (n > tl->full) {
        n = tl->full;
    }
    if (n <= tl->n) {
        return;
    }
    f = apr_pcalloc(tl->p, (apr_size_t)n);
    if (tl->n) {
        memcpy(f, tl->f, (apr_size_t)tl->n);
    }
    tl->f = f;
    if (tl->runs->nelts
        && APR_ARRAY_IDX(tl->runs, tl->runs->nelts - 1, run_t).b == tl->n) {
        cur = &APR_ARRAY_IDX(tl->runs, tl->runs->nelts - 1, run_t);
    }
    for (i = tl->n; i < n; i++) {
        apr_int64_t t = tl->base + (apr_int64_t)i * 60, local, day;
        int minute;

        if (i == tl->n || (i - tl->n) % 60 == 0) {
            off = cs_slots_zone_offset(tl->r->zone, t, NULL);
            varies = off != cs_slots_zone_offset(tl->r->zone, t + 3600, NULL);
        }
        local = t + (varies ? cs_slots_zone_offset(tl->r->zone, t, NULL) : off);
        day = fdiv(local, DAY);
        minute = (int)((local - day * DAY) / 60);
        if (day != tl->cday) {
            long y;
            int m, d;
            civil_from_days((long)day, &y, &m, &d);
            tl->date = apr_psprintf(tl->p, "%04ld-%02d-%02d", y, m, d);
            tl->isodow = (int)(((day + 3) % 7 + 7) % 7) + 1;
            tl->cday = day;
        }
        if (minute % tl->slot_min == 0 && (local - day * DAY) % 60 == 0) {
            f[i] |= F_BOUNDARY;
        }
        if (cs_hours_open(tl->r->hours, tl->p, tl->isodow, minute, tl->date, NULL)) {
            f[i] |= F_OPEN;
            if (!cur || cur->b != i) {
                cur = apr_array_push(tl->runs);
                cur->a = i;
            }
            cur->b = i + 1;
        }
    }
    tl->n = n;
}

static const run_t *run_at(const timeline_t *tl, int m)
{
    int i;

    for (i = 0; i < tl->runs->nelts; i++) {
        const run_t *r = &APR_ARRAY_IDX(tl->runs, i, run_t);
        if (m >= r->a && m < r->b) {
            return r;
        }
    }
    return NULL;
}

/* First minute >= @p from when ordering is open (open then and @p last
 * minutes later), or -1. The timeline grows to its full length when the
 * answer is not within what is built; a run cut by the end of the full
 * length does not count as closing there. */
static int next_order_open(timeline_t *tl, int from, int last)
{
    for (;;) {
        int i;
        for (i = 0; i < tl->runs->nelts; i++) {
            const run_t *r = &APR_ARRAY_IDX(tl->runs, i, run_t);
            int c = from > r->a ? from : r->a;
            if (c < r->b && c + last < r->b) {
                return c;
            }
            if (c < r->b && r->b == tl->n && tl->n == tl->full) {
                return c;
            }
        }
        if (tl->n == tl->full) {
            return -1;
        }
        timeline_extend(tl, tl->full);
    }
}

/* The slot starting at boundary minute @p s ends at the next boundary, at
 * most @p len minutes on. */
static int slot_end(const timeline_t *tl, int s, int len)
{
    int e;

    for (e = s + 1; e < s + len && e < tl->n; e++) {
        if (tl->f[e] & F_BOUNDARY) {
            break;
        }
    }
    return e;
}

/* ---- the plan ------------------------------------------------------------ */

static int taken_at(apr_hash_t *taken, apr_int64_t start)
{
    int *v = apr_hash_get(taken, &start, sizeof(start));

    return v ? *v : 0;
}

static apr_status_t check_req(const cs_slots_req_t *r, apr_pool_t *p, const char **perr)
{
    const char *bad = NULL;
    int slot = r->slot_min ? r->slot_min : CS_SLOTS_DEFAULT_MIN;

    if (slot < 5 || slot > 60 || 60 % slot) {
        bad = "the slot length must divide an hour (5 to 60 minutes)";
    }
    else if (r->now < 0 || r->now > (apr_int64_t)253402300799LL - 60LL * DAY) {
        bad = "now is out of range";
    }
    else if (r->lead_min < 0 || r->lead_min > 1440 || r->extra_min < 0
             || r->extra_min > 1440) {
        bad = "lead and extra minutes must be 0 to 1440";
    }
    else if (r->last_order_min < 0 || r->last_order_min > 720) {
        bad = "the last order must be 0 to 720 minutes before closing";
    }
    else if (r->capacity < 1) {
        bad = "a slot's capacity must be at least 1 point";
    }
    else if (r->cart_points < 0 || r->max_slots < 0 || r->max_slots > CS_SLOTS_MAX_COUNT
             || r->days < 0 || r->days > CS_SLOTS_MAX_DAYS) {
        bad = "cart points, slot count or days out of range";
    }
    if (bad) {
        if (perr) {
            *perr = apr_pstrdup(p, bad);
        }
        return APR_BADARG;
    }
    return APR_SUCCESS;
}

static apr_hash_t *taken_map(apr_pool_t *p, const apr_array_header_t *arr)
{
    apr_hash_t *h = apr_hash_make(p);
    int i;

    for (i = 0; arr && i < arr->nelts; i++) {
        const cs_slots_taken_t *e = &APR_ARRAY_IDX(arr, i, cs_slots_taken_t);
        int *v = apr_hash_get(h, &e->start, sizeof(e->start));
        int pts = e->points > 0 ? e->points : 0;

        if (!v) {
            apr_int64_t *k = apr_pmemdup(p, &e->start, sizeof(e->start));
            v = apr_pcalloc(p, sizeof(*v));
            apr_hash_set(h, k, sizeof(*k), v);
        }
        *v = *v > INT_MAX - pts ? INT_MAX : *v + pts;
    }
    return h;
}

typedef struct {
    apr_pool_t *p;
    const cs_slots_req_t *r;
    timeline_t *tl;
    apr_hash_t *taken;
    int slot_min, points;
} ctx_t;

static apr_int64_t at(const ctx_t *c, int m)
{
    return c->tl->base + (apr_int64_t)m * 60;
}

static void fill_slot(const ctx_t *c, int s, int e, cs_slot_t *out)
{
    cs_slots_when(c->p, c->r->zone, c->r->now, at(c, s), &out->start);
    out->end = at(c, e);
    out->points_left = cs_slots_points_left(c->r->capacity, taken_at(c->taken, at(c, s)));
}

/* The slots offered from ready time @p t0, in local days up to @p last_day;
 * @p nowm is now's minute (a run holding it needs no lead after opening).
 * @p later_only: only runs that open after now (ordering has closed for
 * the one holding now, past its last order). */
static void list_slots(const ctx_t *c, apr_int64_t t0, int nowm, int later_only,
                       apr_int64_t last_day, int max, apr_array_header_t *out)
{
    int i, s;

    for (i = 0; i < c->tl->runs->nelts && out->nelts < max; i++) {
        const run_t *run = &APR_ARRAY_IDX(c->tl->runs, i, run_t);
        int from = run->a > nowm ? run->a + c->r->lead_min : run->a;

        if (later_only && run->a <= nowm) {
            continue;
        }

        for (s = from; s < run->b && out->nelts < max; s++) {
            int e;
            apr_int64_t day;
            if (!(c->tl->f[s] & F_BOUNDARY) || at(c, s) < t0) {
                continue;
            }
            e = slot_end(c->tl, s, c->slot_min);
            if (e > run->b || (e == c->tl->n && run->b == c->tl->n)) {
                continue;
            }
            day = fdiv(at(c, s) + cs_slots_zone_offset(c->r->zone, at(c, s), NULL), DAY);
            if (day > last_day) {
                return;
            }
            if (cs_slots_fits(c->r->capacity, taken_at(c->taken, at(c, s)), c->points)) {
                fill_slot(c, s, e, apr_array_push(out));
            }
        }
    }
}

/* ASAP in the run holding now: the first slot with room that ends after
 * the ready time @p t0. 1 when found. */
static int find_asap(const ctx_t *c, const run_t *run, apr_int64_t t0, cs_slots_plan_t *out)
{
    int s;

    for (s = run->a; s < run->b; s++) {
        int e;
        if (!(c->tl->f[s] & F_BOUNDARY)) {
            continue;
        }
        e = slot_end(c->tl, s, c->slot_min);
        if (e > run->b || at(c, e) <= t0
            || !cs_slots_fits(c->r->capacity, taken_at(c->taken, at(c, s)), c->points)) {
            continue;
        }
        fill_slot(c, s, e, &out->asap_slot);
        cs_slots_when(c->p, c->r->zone, c->r->now, t0 > at(c, s) ? t0 : at(c, s),
                      &out->asap);
        out->asap_minutes = (int)((out->asap.at - c->r->now + 59) / 60);
        if (out->asap_minutes < 1) {
            out->asap_minutes = 1;
        }
        return 1;
    }
    return 0;
}

static void set_reopens(const ctx_t *c, int m, cs_slots_plan_t *out)
{
    if (m >= 0) {
        out->reopens_known = 1;
        cs_slots_when(c->p, c->r->zone, c->r->now, at(c, m), &out->reopens);
    }
}

apr_status_t cs_slots_plan(apr_pool_t *p, const cs_slots_req_t *r,
                           cs_slots_plan_t *out, const char **perr)
{
    timeline_t tl;
    ctx_t c;
    apr_int64_t base, horizon_from, t0, today, last_day;
    int nowm, paused, max, days, cut_pause = 0, om;
    const run_t *found;
    run_t run;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (perr) {
        *perr = NULL;
    }
    if ((rv = check_req(r, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    c.p = p;
    c.r = r;
    c.tl = &tl;
    c.slot_min = r->slot_min ? r->slot_min : CS_SLOTS_DEFAULT_MIN;
    c.points = r->cart_points > 0 ? r->cart_points : 1;
    max = r->max_slots ? r->max_slots : CS_SLOTS_DEFAULT_COUNT;
    days = r->days ? r->days : 1;
    out->slots = apr_array_make(p, max, sizeof(cs_slot_t));

    if (c.points > r->capacity) {
        out->state = CS_SLOTS_TOO_BIG;
        out->message = "This order is larger than our kitchen can take online. "
                       "Please call us to order.";
        return APR_SUCCESS;
    }
    paused = r->paused && (r->paused_until == 0 || r->paused_until > r->now);
    horizon_from = r->now;
    if (paused && r->paused_until > r->now) {
        if (r->paused_until - r->now > CS_SLOTS_PAUSE_HORIZON) {
            cut_pause = 1;
        }
        else {
            horizon_from = r->paused_until;
        }
    }
    /* An hour before now (the slot holding now), to a week and more past
     * the later of now and the pause's end (the next opening). */
    base = fdiv(r->now, 60) * 60 - 3600;
    nowm = 60;
    memset(&tl, 0, sizeof(tl));
    tl.p = p;
    tl.r = r;
    tl.slot_min = c.slot_min;
    tl.base = base;
    tl.cday = LLONG_MIN;
    tl.runs = apr_array_make(p, 16, sizeof(run_t));
    tl.full = (int)((horizon_from - base) / 60) + ((days > 8 ? days : 8) + 2) * 1440;
    /* the days listed and one more; the rest only if a reopening needs it */
    timeline_extend(&tl, (int)((horizon_from - base) / 60) + (days + 2) * 1440);
    c.taken = taken_map(p, r->taken);
    t0 = r->now + (apr_int64_t)(r->lead_min + r->extra_min) * 60;
    today = fdiv(r->now + cs_slots_zone_offset(r->zone, r->now, NULL), DAY);
    last_day = today + days - 1;

    if (paused) {
        out->state = CS_SLOTS_PAUSED;
        if (!cut_pause && r->paused_until) {
            set_reopens(&c, next_order_open(&tl, (int)((r->paused_until - base + 59) / 60),
                                            r->last_order_min), out);
        }
        out->message = out->reopens_known
            ? apr_psprintf(p, "Online ordering is paused. It reopens %s.",
                           out->reopens.phrase)
            : "Online ordering is paused for now.";
        return APR_SUCCESS;
    }

    /* the run holding now, to its end (a copy: growing moves the runs) */
    found = run_at(&tl, nowm);
    if (found && found->b == tl.n) {
        timeline_extend(&tl, tl.full);
        found = run_at(&tl, nowm);
    }
    if (found) {
        run = *found;
    }
    if (!found || (nowm + r->last_order_min >= run.b && run.b != tl.n)) {
        out->state = CS_SLOTS_CLOSED;
        set_reopens(&c, next_order_open(&tl, nowm, r->last_order_min), out);
        if (r->scheduled_when_closed) {
            list_slots(&c, t0, nowm, 1, last_day, max, out->slots);
        }
        out->message = out->reopens_known
            ? apr_psprintf(p, "Online ordering is closed. It reopens %s.",
                           out->reopens.phrase)
            : "Online ordering is closed.";
        if (out->slots->nelts) {
            out->message = apr_pstrcat(p, out->message,
                                       " You can order ahead for a pickup time below.", NULL);
        }
        return APR_SUCCESS;
    }

    if (run.b != tl.n) {
        om = run.b - r->last_order_min;
        cs_slots_when(p, r->zone, r->now, at(&c, om), &out->order_by);
    }
    list_slots(&c, t0, nowm, 0, last_day, max, out->slots);
    if (find_asap(&c, &run, t0, out)) {
        out->state = CS_SLOTS_OPEN;
        out->message = apr_psprintf(p, "Ready in about %d minute%s (%s)", out->asap_minutes,
                                    out->asap_minutes == 1 ? "" : "s", out->asap.label);
        return APR_SUCCESS;
    }
    out->state = CS_SLOTS_FULL;
    set_reopens(&c, next_order_open(&tl, run.b, r->last_order_min), out);
    if (out->slots->nelts) {
        out->message = "The kitchen is fully booked right now. "
                       "Choose a later pickup time below.";
    }
    else if (out->reopens_known) {
        out->message = apr_psprintf(p, "We can't have a new order ready before closing. "
                                    "Ordering reopens %s.", out->reopens.phrase);
    }
    else {
        out->message = "We can't have a new order ready before closing.";
    }
    return APR_SUCCESS;
}
