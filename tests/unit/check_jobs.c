/* cs_jobs' pure parts: the retry backoff, and the wake-up throttle that lets
 * one journal writer per gap send the NOTIFY (a commit that notifies holds
 * PostgreSQL's notification lock until it is flushed). */
#include "unit.h"
#include "db/cs_jobs.h"

START_TEST(wake_first_writer_notifies_then_quiet_for_the_gap)
{
    volatile apr_uint32_t last = 1000 - 10;

    ck_assert_int_eq(cs_jobs_wake_due(&last, 1000, 10), 1);
    ck_assert_uint_eq(last, 1000);
    /* Writers inside the gap leave it to the one that notified. */
    ck_assert_int_eq(cs_jobs_wake_due(&last, 1000, 10), 0);
    ck_assert_int_eq(cs_jobs_wake_due(&last, 1009, 10), 0);
    ck_assert_uint_eq(last, 1000);
    /* The gap is up: the next one notifies again. */
    ck_assert_int_eq(cs_jobs_wake_due(&last, 1010, 10), 1);
    ck_assert_uint_eq(last, 1010);
}
END_TEST

START_TEST(wake_across_the_millisecond_wrap)
{
    volatile apr_uint32_t last = 0xfffffffbu;     /* 5 ms before the wrap */

    ck_assert_int_eq(cs_jobs_wake_due(&last, 2, 10), 0);        /* 7 ms later */
    ck_assert_int_eq(cs_jobs_wake_due(&last, 5, 10), 1);        /* 10 ms later */
    ck_assert_uint_eq(last, 5);
}
END_TEST

START_TEST(wake_a_clock_that_stepped_back_still_notifies_once)
{
    /* Milliseconds before the stored mark read as a huge gap: notify and
     * take the new mark, rather than stay silent for 49 days. */
    volatile apr_uint32_t last = 5000;

    ck_assert_int_eq(cs_jobs_wake_due(&last, 4000, 10), 1);
    ck_assert_uint_eq(last, 4000);
    ck_assert_int_eq(cs_jobs_wake_due(&last, 4001, 10), 0);
}
END_TEST

START_TEST(backoff_doubles_to_its_cap_with_half_of_it_jitter)
{
    apr_interval_time_t base = apr_time_from_sec(10), cap = apr_time_from_sec(600);

    ck_assert_int_eq(cs_job_backoff(1, base, cap, 0), apr_time_from_sec(5));
    ck_assert_int_eq(cs_job_backoff(1, base, cap, 0.5), apr_time_from_msec(7500));
    ck_assert_int_eq(cs_job_backoff(3, base, cap, 0), apr_time_from_sec(20));
    /* 10 * 2^9 is far past the cap: capped, the jitter still spreads it. */
    ck_assert_int_eq(cs_job_backoff(10, base, cap, 0), apr_time_from_sec(300));
    ck_assert_int_le(cs_job_backoff(10, base, cap, 1.5), cap);
    ck_assert_int_ge(cs_job_backoff(10, base, cap, 1.5), apr_time_from_sec(599));
    ck_assert_int_eq(cs_job_backoff(2, base, cap, -1), apr_time_from_sec(10));
}
END_TEST

Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("jobs");

    tcase_add_test(tc, wake_first_writer_notifies_then_quiet_for_the_gap);
    tcase_add_test(tc, wake_across_the_millisecond_wrap);
    tcase_add_test(tc, wake_a_clock_that_stepped_back_still_notifies_once);
    tcase_add_test(tc, backoff_doubles_to_its_cap_with_half_of_it_jitter);
    suite_add_tcase(s, tc);
    return s;
}
