/* cs_hours: parsing weekly hours, holidays, open/closed and the evening key
 * of a closed period. Dates are real calendar dates so that the weekday
 * passed in matches (the week of Mon 2026-03-02 .. Sun 2026-03-08). */
#include "unit.h"
#include "domain/cs_hours.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <stdarg.h>

#define MON 1
#define TUE 2
#define WED 3
#define THU 4
#define FRI 5
#define SAT 6
#define SUN 7

#define HM(h, m) ((h) * 60 + (m))

/* Parse the NULL-terminated entries; *perr gets the error, if any. */
static apr_status_t parse_list(cs_hours_t **pout, const char **perr, ...)
{
    apr_array_header_t *arr = apr_array_make(unit_pool, 4, sizeof(const char *));
    const char *e;
    va_list ap;

    va_start(ap, perr);
    while ((e = va_arg(ap, const char *)) != NULL) {
        APR_ARRAY_PUSH(arr, const char *) = e;
    }
    va_end(ap);
    return cs_hours_parse(pout, unit_pool, arr, perr);
}

/* The usual small-office week: weekdays 08-17, Saturday morning. */
static cs_hours_t *office(void)
{
    cs_hours_t *h = NULL;
    const char *err = "unset";

    ck_assert_int_eq(parse_list(&h, &err, "Mon-Fri 08:00-17:00",
                                "Sat 09:00-13:00", "Sun closed", NULL),
                     APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(h);
    return h;
}

#define ASSERT_BAD(entry, want) do {                                         \
        cs_hours_t *h_ = (cs_hours_t *)1;                                    \
        const char *err_ = NULL;                                             \
        ck_assert_int_eq(parse_list(&h_, &err_, "Mon-Fri 08:00-17:00",       \
                                    (entry), NULL), APR_EINVAL);             \
        ck_assert_ptr_null(h_);                                              \
        ck_assert_ptr_nonnull(err_);                                         \
        ck_assert_str_eq(err_, (want));                                      \
    } while (0)

#define ASSERT_BAD_SHAPE(entry)                                              \
    ASSERT_BAD(entry, "expected DAYS HH:MM-HH:MM or DAYS closed, got '"      \
               entry "'")

#define ASSERT_OPEN(h, dow, min, date) do {                                  \
        const char *ev_ = "unset";                                           \
        ck_assert_int_eq(cs_hours_open((h), unit_pool, (dow), (min), (date), \
                                       &ev_), 1);                            \
        ck_assert_ptr_null(ev_);                                             \
    } while (0)

#define ASSERT_CLOSED(h, dow, min, date, evening) do {                       \
        const char *ev_ = NULL;                                              \
        ck_assert_int_eq(cs_hours_open((h), unit_pool, (dow), (min), (date), \
                                       &ev_), 0);                            \
        ck_assert_ptr_nonnull(ev_);                                          \
        ck_assert_str_eq(ev_, (evening));                                    \
    } while (0)

/* ---- parsing ------------------------------------------------------------- */

START_TEST(test_parse_accepts_the_documented_forms)
{
    cs_hours_t *h = NULL;
    const char *err = "unset";

    ck_assert_int_eq(parse_list(&h, &err, "Mon-Fri 08:00-17:00",
                                "Sat 09:00-13:00", "Sun closed",
                                "Mon,Wed 18:00-22:00", "fri-MON 00:00-24:00",
                                "  tue-wed,sat   07:30-07:45  ", NULL),
                     APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(h);
}
END_TEST

START_TEST(test_parse_rejects_bad_shapes_naming_the_entry)
{
    ASSERT_BAD_SHAPE("Mon 9-5");
    ASSERT_BAD_SHAPE("Mon 9:00-17:00");
    ASSERT_BAD_SHAPE("Mon 08:00-17:00 extra");
    ASSERT_BAD_SHAPE("Mon 08:00 - 17:00");
    ASSERT_BAD_SHAPE("Mon 08:00-17:0");
    ASSERT_BAD_SHAPE("Mon 08:00-17:000");
    ASSERT_BAD_SHAPE("Mon 08.00-17.00");
    ASSERT_BAD_SHAPE("Mon");
    ASSERT_BAD_SHAPE("08:00-17:00");
    ASSERT_BAD_SHAPE("");
    ASSERT_BAD_SHAPE("   ");
    ASSERT_BAD_SHAPE("Monday 08:00-17:00");
    ASSERT_BAD_SHAPE("Mo 08:00-17:00");
    ASSERT_BAD_SHAPE("Xyz 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon- 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon-Fr 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon, 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon,,Wed 08:00-17:00");
    ASSERT_BAD_SHAPE(",Mon 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon, Wed 08:00-17:00");
    ASSERT_BAD_SHAPE("Mon closedish");
    ASSERT_BAD_SHAPE("Mon open");
}
END_TEST

START_TEST(test_parse_rejects_out_of_range_times)
{
    ASSERT_BAD_SHAPE("Mon 08:60-17:00");
    ASSERT_BAD_SHAPE("Mon 25:00-26:00");
    ASSERT_BAD_SHAPE("Mon 08:00-24:01");
    ASSERT_BAD_SHAPE("Mon -1:00-17:00");
}
END_TEST

START_TEST(test_parse_rejects_overnight_and_empty_intervals)
{
    ASSERT_BAD("Fri 22:00-02:00",
               "expected the closing time after the opening time (no overnight "
               "intervals: split at 24:00), got 'Fri 22:00-02:00'");
    ASSERT_BAD("Mon 08:00-08:00",
               "expected the closing time after the opening time (no overnight "
               "intervals: split at 24:00), got 'Mon 08:00-08:00'");
}
END_TEST

START_TEST(test_parse_null_entry_is_rejected_and_perr_may_be_null)
{
    cs_hours_t *h = (cs_hours_t *)1;
    const char *err = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Mon 9-5", NULL), APR_EINVAL);
    ck_assert_ptr_null(h);

    {
        apr_array_header_t *arr = apr_array_make(unit_pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(arr, const char *) = NULL;
        ck_assert_int_eq(cs_hours_parse(&h, unit_pool, arr, &err), APR_EINVAL);
        ck_assert_str_eq(err, "expected DAYS HH:MM-HH:MM or DAYS closed, got ''");
    }
}
END_TEST

START_TEST(test_holiday_dates_are_validated)
{
    cs_hours_t *h = office();
    const char *err = "unset";

    ck_assert_int_eq(cs_hours_add_holiday(h, "2024-02-29", &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2000-02-29", &err), APR_SUCCESS);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-12-31", NULL), APR_SUCCESS);

    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-02-29", &err), APR_EINVAL);
    ck_assert_str_eq(err, "expected a date YYYY-MM-DD, got '2026-02-29'");
    ck_assert_int_eq(cs_hours_add_holiday(h, "1900-02-29", &err), APR_EINVAL);
    ck_assert_str_eq(err, "expected a date YYYY-MM-DD, got '1900-02-29'");
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-04-31", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-13-01", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-00-10", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-01-00", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "0000-01-01", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-1-01", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026/01/01", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-01-01 ", &err), APR_EINVAL);
    ck_assert_int_eq(cs_hours_add_holiday(h, "", &err), APR_EINVAL);
    ck_assert_str_eq(err, "expected a date YYYY-MM-DD, got ''");
    ck_assert_int_eq(cs_hours_add_holiday(h, NULL, &err), APR_EINVAL);
}
END_TEST

/* ---- open / closed ------------------------------------------------------- */

START_TEST(test_open_at_start_closed_at_end_boundary)
{
    cs_hours_t *h = office();

    ASSERT_CLOSED(h, TUE, HM(7, 59), "2026-03-03", "2026-03-02");
    ASSERT_OPEN(h, TUE, HM(8, 0), "2026-03-03");
    ASSERT_OPEN(h, TUE, HM(16, 59), "2026-03-03");
    ASSERT_CLOSED(h, TUE, HM(17, 0), "2026-03-03", "2026-03-03");
    ASSERT_OPEN(h, SAT, HM(12, 59), "2026-03-07");
    ASSERT_CLOSED(h, SAT, HM(13, 0), "2026-03-07", "2026-03-07");
}
END_TEST

START_TEST(test_several_intervals_a_day)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Mon-Fri 08:00-12:00",
                                "Mon-Fri 13:00-17:00", "Mon,Wed 18:00-22:00",
                                NULL), APR_SUCCESS);
    ASSERT_OPEN(h, MON, HM(11, 59), "2026-03-02");
    /* Lunch is a closed period of its own: keyed to today. */
    ASSERT_CLOSED(h, MON, HM(12, 0), "2026-03-02", "2026-03-02");
    ASSERT_CLOSED(h, MON, HM(12, 59), "2026-03-02", "2026-03-02");
    ASSERT_OPEN(h, MON, HM(13, 0), "2026-03-02");
    ASSERT_CLOSED(h, MON, HM(17, 30), "2026-03-02", "2026-03-02");
    ASSERT_OPEN(h, MON, HM(18, 0), "2026-03-02");
    ASSERT_OPEN(h, WED, HM(21, 59), "2026-03-04");
    ASSERT_CLOSED(h, WED, HM(22, 0), "2026-03-04", "2026-03-04");
    ASSERT_CLOSED(h, TUE, HM(18, 0), "2026-03-03", "2026-03-03");
    /* Tuesday morning belongs to Monday's late close. */
    ASSERT_CLOSED(h, TUE, HM(7, 0), "2026-03-03", "2026-03-02");
}
END_TEST

START_TEST(test_touching_and_overlapping_intervals_merge)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Mon 08:00-12:00", "Mon 12:00-15:00",
                                "Mon 14:00-17:00", "Mon 09:00-10:00", NULL),
                     APR_SUCCESS);
    ASSERT_OPEN(h, MON, HM(12, 0), "2026-03-02");
    ASSERT_OPEN(h, MON, HM(15, 30), "2026-03-02");
    ASSERT_CLOSED(h, MON, HM(17, 0), "2026-03-02", "2026-03-02");
}
END_TEST

START_TEST(test_wrap_around_day_range)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Fri-Mon 10:00-14:00", NULL),
                     APR_SUCCESS);
    ASSERT_OPEN(h, FRI, HM(10, 0), "2026-03-06");
    ASSERT_OPEN(h, SAT, HM(10, 0), "2026-03-07");
    ASSERT_OPEN(h, SUN, HM(10, 0), "2026-03-08");
    ASSERT_OPEN(h, MON, HM(10, 0), "2026-03-02");
    ASSERT_CLOSED(h, TUE, HM(10, 0), "2026-03-03", "2026-03-02");
    ASSERT_CLOSED(h, WED, HM(10, 0), "2026-03-04", "2026-03-02");
    ASSERT_CLOSED(h, THU, HM(10, 0), "2026-03-05", "2026-03-02");
    ASSERT_CLOSED(h, FRI, HM(9, 0), "2026-03-06", "2026-03-02");
}
END_TEST

START_TEST(test_day_names_any_case_and_lists_of_ranges)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "mon-TUE,Thu,SAT-sun 09:00-10:00",
                                NULL), APR_SUCCESS);
    ASSERT_OPEN(h, MON, HM(9, 0), "2026-03-02");
    ASSERT_OPEN(h, TUE, HM(9, 0), "2026-03-03");
    ASSERT_CLOSED(h, WED, HM(9, 0), "2026-03-04", "2026-03-03");
    ASSERT_OPEN(h, THU, HM(9, 0), "2026-03-05");
    ASSERT_CLOSED(h, FRI, HM(9, 0), "2026-03-06", "2026-03-05");
    ASSERT_OPEN(h, SAT, HM(9, 0), "2026-03-07");
    ASSERT_OPEN(h, SUN, HM(9, 0), "2026-03-08");
}
END_TEST

START_TEST(test_closed_wins_over_hours_in_any_order)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Sun closed", "Mon-Sun 09:00-17:00",
                                "Wed closed", NULL), APR_SUCCESS);
    ASSERT_OPEN(h, SAT, HM(9, 0), "2026-03-07");
    ASSERT_CLOSED(h, SUN, HM(9, 0), "2026-03-08", "2026-03-07");
    ASSERT_CLOSED(h, WED, HM(12, 0), "2026-03-04", "2026-03-03");
}
END_TEST

START_TEST(test_no_entries_is_always_open_except_holidays)
{
    cs_hours_t *h = NULL;
    const char *err = "unset";

    ck_assert_int_eq(cs_hours_parse(&h, unit_pool, NULL, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ASSERT_OPEN(h, SUN, 0, "2026-03-08");
    ASSERT_OPEN(h, WED, HM(23, 59), "2026-03-04");

    ck_assert_int_eq(cs_hours_parse(&h, unit_pool,
                                    apr_array_make(unit_pool, 1, sizeof(char *)),
                                    &err), APR_SUCCESS);
    ASSERT_OPEN(h, THU, HM(3, 0), "2026-03-05");
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-03-05", NULL), APR_SUCCESS);
    /* Closed since midnight: the period started at Wednesday's 24:00. */
    ASSERT_CLOSED(h, THU, HM(3, 0), "2026-03-05", "2026-03-04");
    ASSERT_OPEN(h, FRI, 0, "2026-03-06");
}
END_TEST

START_TEST(test_null_schedule_and_bad_arguments_count_as_open)
{
    cs_hours_t *h = office();
    const char *ev = "unset";

    ck_assert_int_eq(cs_hours_open(NULL, unit_pool, SUN, HM(3, 0), "2026-03-08",
                                   &ev), 1);
    ck_assert_ptr_null(ev);
    ASSERT_OPEN(h, 0, HM(3, 0), "2026-03-08");
    ASSERT_OPEN(h, 8, HM(3, 0), "2026-03-08");
    ASSERT_OPEN(h, SUN, -1, "2026-03-08");
    ASSERT_OPEN(h, SUN, 1440, "2026-03-08");
    ASSERT_OPEN(h, SUN, HM(3, 0), "2026-02-30");
    ASSERT_OPEN(h, SUN, HM(3, 0), NULL);
    /* pevening is optional. */
    ck_assert_int_eq(cs_hours_open(h, unit_pool, SUN, HM(3, 0), "2026-03-08",
                                   NULL), 0);
}
END_TEST

/* ---- evening keys -------------------------------------------------------- */

START_TEST(test_evening_key_after_closing_is_today)
{
    ASSERT_CLOSED(office(), TUE, HM(18, 0), "2026-03-03", "2026-03-03");
    ASSERT_CLOSED(office(), TUE, HM(23, 59), "2026-03-03", "2026-03-03");
}
END_TEST

START_TEST(test_evening_key_early_morning_is_previous_evening)
{
    ASSERT_CLOSED(office(), WED, HM(6, 0), "2026-03-04", "2026-03-03");
    ASSERT_CLOSED(office(), WED, 0, "2026-03-04", "2026-03-03");
}
END_TEST

START_TEST(test_evening_key_closed_sunday_is_saturday)
{
    ASSERT_CLOSED(office(), SUN, HM(12, 0), "2026-03-08", "2026-03-07");
}
END_TEST

START_TEST(test_evening_key_monday_morning_after_closed_weekend_is_saturday)
{
    cs_hours_t *h = NULL;

    ASSERT_CLOSED(office(), MON, HM(7, 0), "2026-03-09", "2026-03-07");
    /* A fully closed weekend goes back to Friday. */
    ck_assert_int_eq(parse_list(&h, NULL, "Mon-Fri 08:00-17:00", NULL),
                     APR_SUCCESS);
    ASSERT_CLOSED(h, SAT, HM(12, 0), "2026-03-07", "2026-03-06");
    ASSERT_CLOSED(h, MON, HM(7, 0), "2026-03-09", "2026-03-06");
}
END_TEST

START_TEST(test_evening_key_holiday_thursday_is_wednesday)
{
    cs_hours_t *h = office();

    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-03-05", NULL), APR_SUCCESS);
    ASSERT_CLOSED(h, THU, HM(12, 0), "2026-03-05", "2026-03-04");
    ASSERT_CLOSED(h, THU, HM(18, 0), "2026-03-05", "2026-03-04");
    ASSERT_CLOSED(h, FRI, HM(7, 0), "2026-03-06", "2026-03-04");
    ASSERT_OPEN(h, FRI, HM(8, 0), "2026-03-06");
    /* The same weekday in other weeks is unaffected. */
    ASSERT_OPEN(h, THU, HM(12, 0), "2026-03-12");
}
END_TEST

START_TEST(test_evening_key_closing_at_midnight_is_that_day)
{
    cs_hours_t *h = NULL;

    ck_assert_int_eq(parse_list(&h, NULL, "Fri 18:00-24:00", NULL),
                     APR_SUCCESS);
    ASSERT_OPEN(h, FRI, HM(23, 59), "2026-03-06");
    ASSERT_CLOSED(h, SAT, 0, "2026-03-07", "2026-03-06");
    ASSERT_CLOSED(h, FRI, HM(17, 0), "2026-03-06", "2026-02-27");
}
END_TEST

START_TEST(test_evening_key_crosses_month_and_year_boundaries)
{
    cs_hours_t *h = office();

    /* Sunday 2026-03-01 -> Saturday 2026-02-28. */
    ASSERT_CLOSED(h, SUN, HM(12, 0), "2026-03-01", "2026-02-28");
    /* Friday 2024-03-01 early -> Thursday 2024-02-29 (leap year). */
    ASSERT_CLOSED(h, FRI, HM(6, 0), "2024-03-01", "2024-02-29");
    /* Friday 2027-01-01 early -> Thursday 2026-12-31. */
    ASSERT_CLOSED(h, FRI, HM(6, 0), "2027-01-01", "2026-12-31");
    /* A New Year holiday on a Thursday -> Wednesday 2025-12-31. */
    ck_assert_int_eq(cs_hours_add_holiday(h, "2026-01-01", NULL), APR_SUCCESS);
    ASSERT_CLOSED(h, THU, HM(12, 0), "2026-01-01", "2025-12-31");
    /* Monday 2025-12-29 early, after the weekend -> Saturday 2025-12-27. */
    ASSERT_CLOSED(h, MON, HM(7, 0), "2025-12-29", "2025-12-27");
}
END_TEST

START_TEST(test_evening_key_without_hours_in_reach_is_today)
{
    cs_hours_t *h = NULL;
    int i;

    ck_assert_int_eq(parse_list(&h, NULL, "Mon-Sun closed", NULL), APR_SUCCESS);
    ASSERT_CLOSED(h, WED, HM(12, 0), "2026-03-04", "2026-03-04");

    /* Nine holidays in a row hide every closing within the 8-day reach. */
    h = office();
    for (i = 1; i <= 9; i++) {
        char date[11];
        apr_snprintf(date, sizeof(date), "2026-03-%02d", i);
        ck_assert_int_eq(cs_hours_add_holiday(h, date, NULL), APR_SUCCESS);
    }
    ASSERT_CLOSED(h, MON, HM(12, 0), "2026-03-09", "2026-03-09");
    /* With eight, Saturday 2026-02-28 is just in reach. */
    ASSERT_CLOSED(h, SUN, HM(12, 0), "2026-03-08", "2026-02-28");
}
END_TEST

Suite *hours_suite(void)
{
    Suite *s = suite_create("cs_hours");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_parse_accepts_the_documented_forms);
    tcase_add_test(tc, test_parse_rejects_bad_shapes_naming_the_entry);
    tcase_add_test(tc, test_parse_rejects_out_of_range_times);
    tcase_add_test(tc, test_parse_rejects_overnight_and_empty_intervals);
    tcase_add_test(tc, test_parse_null_entry_is_rejected_and_perr_may_be_null);
    tcase_add_test(tc, test_holiday_dates_are_validated);
    suite_add_tcase(s, tc);

    tc = tcase_create("open");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_open_at_start_closed_at_end_boundary);
    tcase_add_test(tc, test_several_intervals_a_day);
    tcase_add_test(tc, test_touching_and_overlapping_intervals_merge);
    tcase_add_test(tc, test_wrap_around_day_range);
    tcase_add_test(tc, test_day_names_any_case_and_lists_of_ranges);
    tcase_add_test(tc, test_closed_wins_over_hours_in_any_order);
    tcase_add_test(tc, test_no_entries_is_always_open_except_holidays);
    tcase_add_test(tc, test_null_schedule_and_bad_arguments_count_as_open);
    suite_add_tcase(s, tc);

    tc = tcase_create("evening");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_evening_key_after_closing_is_today);
    tcase_add_test(tc, test_evening_key_early_morning_is_previous_evening);
    tcase_add_test(tc, test_evening_key_closed_sunday_is_saturday);
    tcase_add_test(tc, test_evening_key_monday_morning_after_closed_weekend_is_saturday);
    tcase_add_test(tc, test_evening_key_holiday_thursday_is_wednesday);
    tcase_add_test(tc, test_evening_key_closing_at_midnight_is_that_day);
    tcase_add_test(tc, test_evening_key_crosses_month_and_year_boundaries);
    tcase_add_test(tc, test_evening_key_without_hours_in_reach_is_today);
    suite_add_tcase(s, tc);

    return s;
}
