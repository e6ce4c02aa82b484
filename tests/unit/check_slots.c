/* cs_slots: zone rules (POSIX rules and tzdata files), capacity arithmetic,
 * and the pickup plan: ASAP, full slots skipped, last order, pause,
 * closed/reopens, holidays, and the US spring-forward and fall-back nights
 * of 2026 (Sun 2026-03-08 and Sun 2026-11-01) in America/Chicago. */
#include "unit.h"
#include "domain/cs_slots.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#define CST (-6 * 3600)
#define CDT (-5 * 3600)
#define US_CENTRAL "CST6CDT,M3.2.0,M11.1.0"

/* UTC epoch seconds of a UTC wall time. */
static apr_int64_t utc(int y, int m, int d, int hh, int mm)
{
    long yy = y - (m <= 2), era = (yy >= 0 ? yy : yy - 399) / 400, yoe = yy - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;

    return (apr_int64_t)days * 86400 + hh * 3600 + mm * 60;
}

/* UTC epoch of a local wall time at a given offset (seconds east). */
static apr_int64_t local_at(int y, int m, int d, int hh, int mm, int off)
{
    return utc(y, m, d, hh, mm) - off;
}

static cs_slots_zone_t *central(void)
{
    cs_slots_zone_t *z = NULL;
    const char *err = "unset";

    ck_assert_int_eq(cs_slots_zone_rule(&z, unit_pool, US_CENTRAL, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    return z;
}

/* Hours from NULL-terminated entries, then "holiday" dates after a NULL. */
static cs_hours_t *hours(const char *first, ...)
{
    apr_array_header_t *arr = apr_array_make(unit_pool, 4, sizeof(const char *));
    cs_hours_t *h = NULL;
    const char *e, *err = NULL;
    va_list ap;

    va_start(ap, first);
    for (e = first; e; e = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(arr, const char *) = e;
    }
    ck_assert_int_eq(cs_hours_parse(&h, unit_pool, arr, &err), APR_SUCCESS);
    while ((e = va_arg(ap, const char *)) != NULL) {
        ck_assert_int_eq(cs_hours_add_holiday(h, e, &err), APR_SUCCESS);
    }
    va_end(ap);
    return h;
}

/* The usual request: Chicago, open daily 11-22, 20 min lead, 15 min slots,
 * last order 30 min before closing, 10 points a slot, a 3-point cart. */
static cs_slots_req_t req_at(apr_int64_t now)
{
    cs_slots_req_t r;

    memset(&r, 0, sizeof(r));
    r.hours = hours("Mon-Sun 11:00-22:00", NULL, NULL);
    r.zone = central();
    r.now = now;
    r.lead_min = 20;
    r.last_order_min = 30;
    r.capacity = 10;
    r.cart_points = 3;
    return r;
}

static void taken(cs_slots_req_t *r, apr_int64_t start, int points)
{
    apr_array_header_t *a = (apr_array_header_t *)r->taken;

    if (!a) {
        a = apr_array_make(unit_pool, 4, sizeof(cs_slots_taken_t));
        r->taken = a;
    }
    APR_ARRAY_PUSH(a, cs_slots_taken_t).start = start;
    APR_ARRAY_IDX(a, a->nelts - 1, cs_slots_taken_t).points = points;
}

static cs_slots_plan_t plan(const cs_slots_req_t *r)
{
    cs_slots_plan_t out;
    const char *err = "unset";

    ck_assert_int_eq(cs_slots_plan(unit_pool, r, &out, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(out.slots);
    ck_assert_ptr_nonnull(out.message);
    return out;
}

static const cs_slot_t *slot(const cs_slots_plan_t *pl, int i)
{
    ck_assert_int_lt(i, pl->slots->nelts);
    return &APR_ARRAY_IDX(pl->slots, i, cs_slot_t);
}

/* ---- zones --------------------------------------------------------------- */

typedef struct {
    apr_int64_t t;
    int off;
    const char *abbr;
} offset_case_t;

static void check_offsets(const cs_slots_zone_t *z, const offset_case_t *c, size_t n,
                          const char *what)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *abbr = NULL;
        int off = cs_slots_zone_offset(z, c[i].t, &abbr);
        ck_assert_msg(off == c[i].off && abbr && !strcmp(abbr, c[i].abbr),
                      "%s case %d: %d %s, expected %d %s", what, (int)i, off,
                      abbr ? abbr : "(null)", c[i].off, c[i].abbr);
    }
}

START_TEST(test_us_rules_change_at_two_in_the_morning_local)
{
    const offset_case_t c[] = {
        { utc(2026, 3, 8, 7, 59), CST, "CST" },     /* 01:59 CST */
        { utc(2026, 3, 8, 8, 0), CDT, "CDT" },      /* 03:00 CDT */
        { utc(2026, 7, 1, 12, 0), CDT, "CDT" },
        { utc(2026, 11, 1, 6, 59), CDT, "CDT" },    /* 01:59 CDT */
        { utc(2026, 11, 1, 7, 0), CST, "CST" },     /* 01:00 CST, again */
        { utc(2026, 12, 31, 23, 59), CST, "CST" },
        { utc(2027, 3, 14, 8, 0), CDT, "CDT" },     /* 2027: second Sunday is the 14th */
        { utc(2027, 3, 14, 7, 59), CST, "CST" },
    };
    cs_slots_zone_t *z = NULL;
    const char *err = NULL;

    check_offsets(central(), c, sizeof(c) / sizeof(c[0]), "rule");
    /* The system's tzdata says the same (the file's footer rule, 2026 on). */
    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, NULL, "America/Chicago", &err),
                     APR_SUCCESS);
    check_offsets(z, c, sizeof(c) / sizeof(c[0]), "America/Chicago");
}
END_TEST

START_TEST(test_tzdata_files_keep_their_history)
{
    /* Before 2007 the US changed on the first Sunday of April: 2006-03-12
     * (a second Sunday) was still standard time. Only the transitions in
     * the file know that; the footer rule alone would say CDT. */
    const offset_case_t chicago[] = {
        { utc(2006, 3, 12, 9, 0), CST, "CST" },
        { utc(2006, 4, 2, 7, 59), CST, "CST" },
        { utc(2006, 4, 2, 8, 0), CDT, "CDT" },
    };
    const offset_case_t ny[] = {
        { utc(2026, 3, 8, 6, 59), -5 * 3600, "EST" },
        { utc(2026, 3, 8, 7, 0), -4 * 3600, "EDT" },
        { utc(2026, 11, 1, 6, 0), -5 * 3600, "EST" },
    };
    const offset_case_t phoenix[] = {
        { utc(2026, 7, 1, 12, 0), -7 * 3600, "MST" },
        { utc(2026, 1, 1, 12, 0), -7 * 3600, "MST" },
    };
    cs_slots_zone_t *z = NULL;

    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, NULL, "America/Chicago", NULL),
                     APR_SUCCESS);
    check_offsets(z, chicago, 3, "Chicago 2006");
    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, "/usr/share/zoneinfo",
                                        "America/New_York", NULL), APR_SUCCESS);
    check_offsets(z, ny, 3, "New York");
    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, NULL, "America/Phoenix", NULL),
                     APR_SUCCESS);
    check_offsets(z, phoenix, 2, "Phoenix");
    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, NULL, "UTC", NULL), APR_SUCCESS);
    ck_assert_int_eq(cs_slots_zone_offset(z, utc(2026, 7, 1, 0, 0), NULL), 0);
    ck_assert_int_eq(cs_slots_zone_offset(NULL, utc(2026, 7, 1, 0, 0), NULL), 0);
}
END_TEST

START_TEST(test_other_rules_parse)
{
    const offset_case_t sydney[] = {               /* southern summer is DST */
        { utc(2026, 1, 15, 0, 0), 11 * 3600, "AEDT" },
        { utc(2026, 7, 15, 0, 0), 10 * 3600, "AEST" },
        { utc(2026, 4, 4, 15, 59), 11 * 3600, "AEDT" },   /* 02:59 AEDT Sun 04-05 */
        { utc(2026, 4, 4, 16, 0), 10 * 3600, "AEST" },
        { utc(2026, 10, 3, 16, 0), 11 * 3600, "AEDT" },   /* 02:00 AEST Sun 10-04 */
    };
    const offset_case_t kathmandu[] = { { utc(2026, 6, 1, 0, 0), 5 * 3600 + 45 * 60, "+0545" } };
    const offset_case_t plain[] = { { utc(2026, 6, 1, 0, 0), CDT, "CDT" } };
    static const char *bad[] = { "", "C", "CST", "CST6CDT,M3.2.0", "CST6CDT,M13.2.0,M11.1.0",
                                 "CST6CDT,M3.6.0,M11.1.0", "CST6CDT,M3.2.7,M11.1.0",
                                 "CST6CDT,J0,J365", "<+05", "CST25", "CST6CDT,M3.2.0,M11.1.0x",
                                 "CST6CDT,M3.2.0/168,M11.1.0" };
    cs_slots_zone_t *z;
    const char *err;
    size_t i;

    ck_assert_int_eq(cs_slots_zone_rule(&z, unit_pool, "AEST-10AEDT,M10.1.0,M4.1.0/3", NULL),
                     APR_SUCCESS);
    check_offsets(z, sydney, 5, "Sydney");
    ck_assert_int_eq(cs_slots_zone_rule(&z, unit_pool, "<+0545>-5:45", NULL), APR_SUCCESS);
    check_offsets(z, kathmandu, 1, "Kathmandu");
    ck_assert_int_eq(cs_slots_zone_rule(&z, unit_pool, "CST6CDT", NULL), APR_SUCCESS);
    check_offsets(z, plain, 1, "CST6CDT");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        z = (cs_slots_zone_t *)1;
        ck_assert_msg(cs_slots_zone_rule(&z, unit_pool, bad[i], &err) == APR_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_ptr_null(z);
    }
    ck_assert_str_eq(err, "expected a POSIX TZ rule like CST6CDT,M3.2.0,M11.1.0, got "
                     "'CST6CDT,M3.2.0/168,M11.1.0'");
}
END_TEST

START_TEST(test_zone_names_cannot_leave_the_zone_folder)
{
    static const char *bad[] = { "../etc/passwd", "/etc/passwd", "America//Chicago",
                                 "", "America/Chicago ", "America/Chicago\n", "a/../../x" };
    cs_slots_zone_t *z;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cs_slots_zone_load(&z, unit_pool, NULL, bad[i], &err) == APR_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_ptr_null(z);
    }
    ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, NULL, NULL, &err), APR_EINVAL);
    ck_assert_int_ne(cs_slots_zone_load(&z, unit_pool, NULL, "Mars/Olympus", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err, "time zone 'Mars/Olympus' is not on this system");
    /* a file that is not tzdata */
    {
        const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        char *templ = apr_pstrcat(unit_pool, tmp, "/cs_slots_XXXXXX", NULL);
        const char *path = NULL;
        apr_file_t *f;
        apr_size_t n = 10;

        /* not APR's default flags, which delete the file on close */
        ck_assert_int_eq(apr_file_mktemp(&f, templ, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                         | APR_FOPEN_EXCL, unit_pool), APR_SUCCESS);
        ck_assert_int_eq(apr_file_write(f, "TZif2 nope", &n), APR_SUCCESS);
        ck_assert_int_eq(apr_file_name_get(&path, f), APR_SUCCESS);
        path = apr_pstrdup(unit_pool, path);
        apr_file_close(f);
        ck_assert_int_eq(cs_slots_zone_load(&z, unit_pool, tmp, strrchr(path, '/') + 1, &err),
                         APR_EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "not a tzdata file this code reads"));
        apr_file_remove(path, unit_pool);
    }
}
END_TEST

/* ---- capacity arithmetic ------------------------------------------------- */

START_TEST(test_capacity_is_points_not_orders)
{
    static const struct { int cap, taken, points, fits, left; } c[] = {
        { 10, 8, 3, 0, 2 },         /* a 3-point cart, 2 points left: no */
        { 10, 7, 3, 1, 3 },
        { 10, 0, 10, 1, 10 },
        { 10, 0, 11, 0, 10 },
        { 10, 10, 1, 0, 0 },
        { 10, 12, 1, 0, 0 },        /* over-taken (capacity lowered since) */
        { 10, 0, 0, 0, 10 },        /* a cart weighs at least a point */
        { 10, -1, 1, 0, 10 },
        { 0, 0, 1, 0, 0 },
        { INT_MAX, INT_MAX - 1, 2, 0, 1 },  /* no overflow */
        { INT_MAX, INT_MAX - 1, 1, 1, 1 },
        { INT_MAX, 0, INT_MAX, 1, INT_MAX },
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ck_assert_msg(cs_slots_fits(c[i].cap, c[i].taken, c[i].points) == c[i].fits,
                      "case %d fits", (int)i);
        ck_assert_msg(cs_slots_points_left(c[i].cap, c[i].taken) == c[i].left,
                      "case %d left", (int)i);
    }
}
END_TEST

/* ---- the plan ------------------------------------------------------------ */

START_TEST(test_asap_and_the_next_slots_on_an_ordinary_evening)
{
    /* Tue 2026-03-03 17:02 CST */
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 17, 2, CST));
    cs_slots_plan_t pl = plan(&r);
    int i;

    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);
    /* ready at now + 20 min, inside the 17:15 slot */
    ck_assert_int_eq(pl.asap.at, local_at(2026, 3, 3, 17, 22, CST));
    ck_assert_int_eq(pl.asap_slot.start.at, local_at(2026, 3, 3, 17, 15, CST));
    ck_assert_int_eq(pl.asap_slot.end, local_at(2026, 3, 3, 17, 30, CST));
    ck_assert_int_eq(pl.asap_minutes, 20);
    ck_assert_str_eq(pl.message, "Ready in about 20 minutes (5:22 PM)");
    ck_assert_str_eq(pl.order_by.label, "9:30 PM");
    ck_assert_str_eq(pl.asap.abbr, "CST");
    /* scheduled: 8 slots from the first that starts after the ready time */
    ck_assert_int_eq(pl.slots->nelts, 8);
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(slot(&pl, i)->start.at, local_at(2026, 3, 3, 17, 30 + 15 * i, CST));
        ck_assert_int_eq(slot(&pl, i)->points_left, 10);
    }
    ck_assert_str_eq(slot(&pl, 0)->start.label, "5:30 PM");
    ck_assert_str_eq(slot(&pl, 0)->start.phrase, "today at 5:30 PM");
    ck_assert_str_eq(slot(&pl, 0)->start.local_date, "2026-03-03");
    ck_assert_int_eq(slot(&pl, 0)->start.local_minute, 17 * 60 + 30);
    ck_assert_int_eq(slot(&pl, 0)->start.isodow, 2);
    ck_assert_int_eq(slot(&pl, 0)->start.utc_offset, CST);
}
END_TEST

START_TEST(test_full_slots_are_not_offered)
{
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 17, 2, CST));
    cs_slots_plan_t pl;

    taken(&r, local_at(2026, 3, 3, 17, 15, CST), 8);   /* 2 left: a 3-point cart won't fit */
    taken(&r, local_at(2026, 3, 3, 17, 30, CST), 4);
    taken(&r, local_at(2026, 3, 3, 17, 30, CST), 3);   /* 7 in all: 3 left, fits */
    taken(&r, local_at(2026, 3, 3, 17, 45, CST), 10);
    taken(&r, local_at(2026, 3, 3, 18, 0, CST), 9);
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);
    ck_assert_int_eq(pl.asap_slot.start.at, local_at(2026, 3, 3, 17, 30, CST));
    ck_assert_int_eq(pl.asap.at, local_at(2026, 3, 3, 17, 30, CST));
    ck_assert_int_eq(pl.asap_minutes, 28);
    ck_assert_int_eq(pl.asap_slot.points_left, 3);
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 3, 3, 17, 30, CST));
    ck_assert_int_eq(slot(&pl, 1)->start.at, local_at(2026, 3, 3, 18, 15, CST));
    /* a 1-point cart fits the 18:00 slot */
    r.cart_points = 1;
    pl = plan(&r);
    ck_assert_int_eq(pl.asap_slot.start.at, local_at(2026, 3, 3, 17, 15, CST));
    ck_assert_int_eq(slot(&pl, 1)->start.at, local_at(2026, 3, 3, 18, 0, CST));
}
END_TEST

START_TEST(test_a_cart_bigger_than_a_slot_is_sent_to_the_phone)
{
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 17, 2, CST));
    cs_slots_plan_t pl;

    r.cart_points = 11;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_TOO_BIG);
    ck_assert_int_eq(pl.slots->nelts, 0);
    ck_assert_str_eq(pl.message, "This order is larger than our kitchen can take online. "
                     "Please call us to order.");
}
END_TEST

START_TEST(test_fully_booked_until_closing)
{
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 20, 50, CST));
    cs_slots_plan_t pl;
    int m;

    for (m = 20 * 60 + 45; m < 22 * 60; m += 15) {
        taken(&r, local_at(2026, 3, 3, m / 60, m % 60, CST), 9);
    }
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_FULL);
    ck_assert_int_eq(pl.slots->nelts, 0);
    ck_assert(pl.reopens_known);
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 3, 4, 11, 0, CST));
    ck_assert_str_eq(pl.message, "We can't have a new order ready before closing. "
                     "Ordering reopens tomorrow at 11:00 AM.");

    /* lunch full, dinner free: choose a later time */
    r = req_at(local_at(2026, 3, 3, 13, 0, CST));
    r.hours = hours("Mon-Sun 11:00-14:00", "Mon-Sun 17:00-22:00", NULL, NULL);
    for (m = 13 * 60; m < 14 * 60; m += 15) {
        taken(&r, local_at(2026, 3, 3, m / 60, m % 60, CST), 10);
    }
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_FULL);
    ck_assert_str_eq(pl.message, "The kitchen is fully booked right now. "
                     "Choose a later pickup time below.");
    /* the kitchen opens at 17:00 and needs its 20 minutes: 17:30 first */
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 3, 3, 17, 30, CST));
}
END_TEST

START_TEST(test_last_order_before_closing)
{
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 21, 29, CST));
    cs_slots_plan_t pl = plan(&r);

    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);
    ck_assert_int_eq(pl.asap.at, local_at(2026, 3, 3, 21, 49, CST));
    ck_assert_int_eq(pl.asap_slot.start.at, local_at(2026, 3, 3, 21, 45, CST));
    ck_assert_int_eq(pl.order_by.at, local_at(2026, 3, 3, 21, 30, CST));
    ck_assert_int_eq(pl.slots->nelts, 0);          /* 22:00 is closing, no slot */

    r.now = local_at(2026, 3, 3, 21, 30, CST);
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_CLOSED);
    ck_assert_str_eq(pl.message, "Online ordering is closed. It reopens tomorrow at 11:00 AM.");
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 3, 4, 11, 0, CST));

    /* past the last order, ordering ahead offers tomorrow, not tonight's
     * last slots */
    r.now = local_at(2026, 3, 3, 21, 0, CST);
    r.last_order_min = 60;
    r.lead_min = 10;
    r.scheduled_when_closed = 1;
    r.days = 2;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_CLOSED);
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 3, 4, 11, 15, CST));
}
END_TEST

START_TEST(test_pause_now_or_add_minutes)
{
    apr_int64_t now = local_at(2026, 3, 3, 17, 2, CST);
    cs_slots_req_t r = req_at(now);
    cs_slots_plan_t pl;

    r.paused = 1;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_PAUSED);
    ck_assert(!pl.reopens_known);
    ck_assert_str_eq(pl.message, "Online ordering is paused for now.");
    ck_assert_int_eq(pl.slots->nelts, 0);

    r.paused_until = now + 45 * 60;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_PAUSED);
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 3, 3, 17, 47, CST));
    ck_assert_str_eq(pl.message, "Online ordering is paused. It reopens today at 5:47 PM.");

    /* paused into the last-order window: reopens with tomorrow's hours */
    r.paused_until = local_at(2026, 3, 3, 21, 45, CST);
    pl = plan(&r);
    ck_assert_str_eq(pl.message, "Online ordering is paused. It reopens tomorrow at 11:00 AM.");

    /* a pause that has run out is no pause */
    r.paused_until = now - 60;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);

    /* 15 more minutes on every quote */
    r.paused = 0;
    r.extra_min = 15;
    pl = plan(&r);
    ck_assert_int_eq(pl.asap_minutes, 35);
    ck_assert_int_eq(pl.asap.at, local_at(2026, 3, 3, 17, 37, CST));
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 3, 3, 17, 45, CST));
}
END_TEST

START_TEST(test_closed_says_when_ordering_reopens_across_holidays)
{
    /* Closed Mondays; Christmas (a Friday) is a holiday. */
    cs_slots_req_t r = req_at(local_at(2026, 12, 24, 22, 10, CST));
    cs_slots_plan_t pl;

    r.hours = hours("Tue-Sun 11:00-22:00", NULL, "2026-12-25", NULL);
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_CLOSED);
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 12, 26, 11, 0, CST));
    ck_assert_str_eq(pl.message, "Online ordering is closed. It reopens Saturday at 11:00 AM.");
    ck_assert_int_eq(pl.slots->nelts, 0);

    /* ordering ahead while closed, when the restaurant allows it */
    r.scheduled_when_closed = 1;
    r.days = 3;
    pl = plan(&r);
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 12, 26, 11, 30, CST));
    ck_assert_str_eq(slot(&pl, 0)->start.phrase, "Saturday at 11:30 AM");
    ck_assert_str_eq(pl.message, "Online ordering is closed. It reopens Saturday at 11:00 AM."
                     " You can order ahead for a pickup time below.");

    /* on the holiday itself */
    r = req_at(local_at(2026, 12, 25, 12, 0, CST));
    r.hours = hours("Tue-Sun 11:00-22:00", NULL, "2026-12-25", NULL);
    pl = plan(&r);
    ck_assert_str_eq(pl.message, "Online ordering is closed. It reopens tomorrow at 11:00 AM.");

    /* Sunday night before a closed Monday and a holiday Tuesday */
    r = req_at(local_at(2026, 12, 27, 23, 0, CST));
    r.hours = hours("Tue-Sun 11:00-22:00", NULL, "2026-12-29", NULL);
    pl = plan(&r);
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 12, 30, 11, 0, CST));
    ck_assert_str_eq(pl.reopens.phrase, "Wednesday at 11:00 AM");

    /* a long closure reads as a date */
    r.hours = hours("Tue-Sun 11:00-22:00", NULL, "2026-12-29", "2026-12-30", "2026-12-31",
                    "2027-01-01", "2027-01-02", "2027-01-03", NULL);
    pl = plan(&r);
    ck_assert_str_eq(pl.reopens.phrase, "on January 5 at 11:00 AM");
}
END_TEST

START_TEST(test_closed_for_the_night_reopens_after_spring_forward)
{
    /* Sat 2026-03-07 22:30 CST; Sunday 11:00 is CDT, an hour earlier in UTC */
    cs_slots_req_t r = req_at(local_at(2026, 3, 7, 22, 30, CST));
    cs_slots_plan_t pl = plan(&r);

    ck_assert_int_eq(pl.state, CS_SLOTS_CLOSED);
    ck_assert_int_eq(pl.reopens.at, local_at(2026, 3, 8, 11, 0, CDT));
    ck_assert_int_eq(pl.reopens.at, utc(2026, 3, 8, 16, 0));
    ck_assert_str_eq(pl.reopens.abbr, "CDT");
    ck_assert_str_eq(pl.message, "Online ordering is closed. It reopens tomorrow at 11:00 AM.");

    r.now = local_at(2026, 10, 31, 22, 30, CDT);        /* and after fall back */
    pl = plan(&r);
    ck_assert_int_eq(pl.reopens.at, utc(2026, 11, 1, 17, 0));
    ck_assert_str_eq(pl.reopens.label, "11:00 AM");
}
END_TEST

START_TEST(test_spring_forward_night_skips_the_missing_hour)
{
    /* A late-night kitchen: Sat 22:00 to Sun 04:00. From 23:50 CST, slots
     * run 00:00..01:45 CST, then 03:00..03:45 CDT: no 02:xx, and each
     * slot is 15 real minutes. */
    cs_slots_req_t r = req_at(local_at(2026, 3, 7, 23, 50, CST));
    cs_slots_plan_t pl;
    int i;

    r.hours = hours("Sat 22:00-24:00", "Sun 00:00-04:00", NULL, NULL);
    r.lead_min = 10;
    r.last_order_min = 0;
    r.days = 2;
    r.max_slots = 50;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);
    ck_assert_int_eq(pl.slots->nelts, 12);
    for (i = 0; i < 12; i++) {
        const cs_slot_t *s = slot(&pl, i);
        ck_assert_int_eq(s->start.at, utc(2026, 3, 8, 6, 0) + i * 900);
        ck_assert_int_eq(s->end - s->start.at, 900);
        ck_assert_msg(s->start.local_minute < 120 || s->start.local_minute >= 180,
                      "slot %d at local minute %d", i, s->start.local_minute);
    }
    ck_assert_str_eq(slot(&pl, 7)->start.label, "1:45 AM");
    ck_assert_str_eq(slot(&pl, 7)->start.abbr, "CST");
    ck_assert_str_eq(slot(&pl, 8)->start.label, "3:00 AM");
    ck_assert_str_eq(slot(&pl, 8)->start.abbr, "CDT");
    ck_assert_str_eq(slot(&pl, 8)->start.phrase, "tomorrow at 3:00 AM");
    ck_assert_str_eq(slot(&pl, 11)->start.local_date, "2026-03-08");
    ck_assert_int_eq(pl.order_by.at, local_at(2026, 3, 8, 4, 0, CDT));
}
END_TEST

START_TEST(test_fall_back_night_offers_the_repeated_hour_twice)
{
    /* Sun 2026-11-01 00:00-03:00: 01:00..01:45 happen in CDT, then in CST */
    cs_slots_req_t r = req_at(local_at(2026, 10, 31, 23, 50, CDT));
    cs_slots_plan_t pl;
    int i;

    r.hours = hours("Sun 00:00-03:00", NULL, NULL);
    r.lead_min = 10;
    r.last_order_min = 0;
    r.days = 2;
    r.max_slots = 50;
    r.scheduled_when_closed = 1;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_CLOSED);
    ck_assert_int_eq(pl.reopens.at, utc(2026, 11, 1, 5, 0));
    /* four real hours from 00:00 CDT; the kitchen's 10 minutes after
     * opening make 00:15 the first slot */
    ck_assert_int_eq(pl.slots->nelts, 15);
    for (i = 0; i < 15; i++) {
        ck_assert_int_eq(slot(&pl, i)->start.at, utc(2026, 11, 1, 5, 15) + i * 900);
        ck_assert_int_eq(slot(&pl, i)->end - slot(&pl, i)->start.at, 900);
    }
    ck_assert_str_eq(slot(&pl, 0)->start.label, "12:15 AM");
    ck_assert_str_eq(slot(&pl, 3)->start.label, "1:00 AM CDT");
    ck_assert_str_eq(slot(&pl, 6)->start.label, "1:45 AM CDT");
    ck_assert_str_eq(slot(&pl, 7)->start.label, "1:00 AM CST");
    ck_assert_int_eq(slot(&pl, 7)->start.local_minute, slot(&pl, 3)->start.local_minute);
    ck_assert_str_eq(slot(&pl, 7)->start.local_date, "2026-11-01");
    ck_assert_str_eq(slot(&pl, 11)->start.label, "2:00 AM");
    ck_assert_str_eq(slot(&pl, 14)->start.label, "2:45 AM");
    ck_assert_int_eq(slot(&pl, 14)->end, utc(2026, 11, 1, 9, 0));   /* 03:00 CST */
}
END_TEST

START_TEST(test_always_open_in_utc_and_a_loaded_zone)
{
    cs_slots_req_t r;
    cs_slots_plan_t pl;
    cs_slots_zone_t *ny = NULL;

    memset(&r, 0, sizeof(r));
    r.now = utc(2026, 6, 1, 12, 7);
    r.capacity = 5;
    pl = plan(&r);
    ck_assert_int_eq(pl.state, CS_SLOTS_OPEN);
    ck_assert_int_eq(pl.asap.at, r.now);
    ck_assert_int_eq(pl.asap_minutes, 1);
    ck_assert_str_eq(pl.message, "Ready in about 1 minute (12:07 PM)");
    ck_assert_int_eq(pl.order_by.at, 0);                /* never closes */
    ck_assert_int_eq(slot(&pl, 0)->start.at, utc(2026, 6, 1, 12, 15));

    ck_assert_int_eq(cs_slots_zone_load(&ny, unit_pool, NULL, "America/New_York", NULL),
                     APR_SUCCESS);
    r = req_at(local_at(2026, 6, 1, 12, 0, -4 * 3600));
    r.zone = ny;
    r.slot_min = 30;
    pl = plan(&r);
    ck_assert_int_eq(pl.asap_slot.start.at, local_at(2026, 6, 1, 12, 0, -4 * 3600));
    ck_assert_int_eq(slot(&pl, 0)->start.at, local_at(2026, 6, 1, 12, 30, -4 * 3600));
    ck_assert_str_eq(slot(&pl, 0)->start.abbr, "EDT");
}
END_TEST

START_TEST(test_requests_out_of_range_are_refused)
{
    cs_slots_req_t r = req_at(local_at(2026, 3, 3, 17, 2, CST));
    cs_slots_plan_t pl;
    const char *err;
    static const int bad_len[] = { 1, 4, 7, 45, 90, -15 };
    size_t i;

    for (i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
        r.slot_min = bad_len[i];
        ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_BADARG);
        ck_assert_str_eq(err, "the slot length must divide an hour (5 to 60 minutes)");
    }
    r.slot_min = 10;
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_SUCCESS);
    r.capacity = 0;
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_BADARG);
    r.capacity = 10;
    r.lead_min = -1;
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_BADARG);
    r.lead_min = 0;
    r.days = CS_SLOTS_MAX_DAYS + 1;
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_BADARG);
    r.days = CS_SLOTS_MAX_DAYS;
    r.max_slots = CS_SLOTS_MAX_COUNT;
    r.paused = 1;
    r.paused_until = r.now + 40 * 86400;                /* past the horizon: "for now" */
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_SUCCESS);
    ck_assert_str_eq(pl.message, "Online ordering is paused for now.");
    r.paused = 0;
    ck_assert_int_eq(cs_slots_plan(unit_pool, &r, &pl, &err), APR_SUCCESS);
    ck_assert_int_eq(pl.slots->nelts, CS_SLOTS_MAX_COUNT);
}
END_TEST

START_TEST(test_phrases_relative_to_today)
{
    const cs_slots_zone_t *z = central();
    apr_int64_t now = local_at(2026, 3, 3, 9, 0, CST);      /* Tuesday */
    cs_slots_when_t w;

    cs_slots_when(unit_pool, z, now, local_at(2026, 3, 3, 0, 0, CST), &w);
    ck_assert_str_eq(w.phrase, "today at 12:00 AM");
    cs_slots_when(unit_pool, z, now, local_at(2026, 3, 3, 12, 5, CST), &w);
    ck_assert_str_eq(w.phrase, "today at 12:05 PM");
    cs_slots_when(unit_pool, z, now, local_at(2026, 3, 4, 23, 59, CST), &w);
    ck_assert_str_eq(w.phrase, "tomorrow at 11:59 PM");
    cs_slots_when(unit_pool, z, now, local_at(2026, 3, 9, 11, 0, CDT), &w);
    ck_assert_str_eq(w.phrase, "Monday at 11:00 AM");
    cs_slots_when(unit_pool, z, now, local_at(2026, 3, 10, 11, 0, CDT), &w);
    ck_assert_str_eq(w.phrase, "on March 10 at 11:00 AM");
    ck_assert_int_eq(w.isodow, 2);
}
END_TEST

Suite *slots_suite(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("slots");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_us_rules_change_at_two_in_the_morning_local);
    tcase_add_test(tc, test_tzdata_files_keep_their_history);
    tcase_add_test(tc, test_other_rules_parse);
    tcase_add_test(tc, test_zone_names_cannot_leave_the_zone_folder);
    tcase_add_test(tc, test_capacity_is_points_not_orders);
    tcase_add_test(tc, test_asap_and_the_next_slots_on_an_ordinary_evening);
    tcase_add_test(tc, test_full_slots_are_not_offered);
    tcase_add_test(tc, test_a_cart_bigger_than_a_slot_is_sent_to_the_phone);
    tcase_add_test(tc, test_fully_booked_until_closing);
    tcase_add_test(tc, test_last_order_before_closing);
    tcase_add_test(tc, test_pause_now_or_add_minutes);
    tcase_add_test(tc, test_closed_says_when_ordering_reopens_across_holidays);
    tcase_add_test(tc, test_closed_for_the_night_reopens_after_spring_forward);
    tcase_add_test(tc, test_spring_forward_night_skips_the_missing_hour);
    tcase_add_test(tc, test_fall_back_night_offers_the_repeated_hour_twice);
    tcase_add_test(tc, test_always_open_in_utc_and_a_loaded_zone);
    tcase_add_test(tc, test_requests_out_of_range_are_refused);
    tcase_add_test(tc, test_phrases_relative_to_today);
    suite_add_tcase(s, tc);
    return s;
}
