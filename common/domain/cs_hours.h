/**
 * @file cs_hours.h
 * @brief Weekly business hours and holidays: "is the business open now?"
 * and, when it is not, which closed period ("evening") now belongs to, so
 * an after-hours reply goes out at most once per conversation per evening.
 *
 * Time zones are the caller's business: Postgres converts now() to the
 * client's local time and passes the local weekday, minute of day and date
 * in. Everything here is wall-clock arithmetic on those values; dates are
 * counted as proleptic Gregorian days, with no DST or zone rules.
 */
#ifndef CS_HOURS_H
#define CS_HOURS_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_tables.h>

/** A parsed weekly schedule plus holidays (opaque; lives in its pool). */
typedef struct cs_hours_t cs_hours_t;

/**
 * Parse weekly hours. Each entry is "DAYS HH:MM-HH:MM" or "DAYS closed":
 * - DAYS is a comma-separated list of days or day ranges, English 3-letter
 *   names Mon..Sun in any case: "Mon", "Mon-Fri", "Mon,Wed", "Fri-Mon"
 *   (a range may wrap past Sunday), "Mon-Wed,Sat".
 * - Times are exactly HH:MM from 00:00 to 24:00, and the closing time
 *   must be after the opening time. There are no overnight intervals:
 *   "Fri 22:00-02:00" is rejected; write "Fri 22:00-24:00" and
 *   "Sat 00:00-02:00" instead.
 * - A day may have several intervals (several entries naming it);
 *   overlapping or touching intervals are merged.
 * - "closed" wins over any hours given for the same day, whatever the
 *   order, so "Mon-Sun 09:00-17:00", "Sun closed" means Sunday is closed.
 *   Days no entry names are closed too.
 *
 * With no entries at all (@p entries NULL or empty) the business is always
 * open, except on holidays.
 *
 * @param pout    The schedule, allocated in @p p; NULL on error.
 * @param p       Pool for the schedule and any error message.
 * @param entries Array of const char * entries, or NULL.
 * @param perr    On error, a message naming the bad entry, e.g.
 *                "expected DAYS HH:MM-HH:MM or DAYS closed, got 'Mon 9-5'";
 *                NULL on success. May be NULL.
 * @return APR_SUCCESS, or APR_EINVAL for a bad entry.
 */
apr_status_t cs_hours_parse(cs_hours_t **pout, apr_pool_t *p,
                            const apr_array_header_t *entries,
                            const char **perr);

/**
 * Add a holiday: a local date "YYYY-MM-DD" (year 0001-9999, a real
 * calendar date) on which the business is closed all day, whatever the
 * weekly hours say. Adding the same date twice is harmless.
 * @param perr On error, "expected a date YYYY-MM-DD, got '...'"; NULL on
 *             success. May be NULL.
 * @return APR_SUCCESS, or APR_EINVAL for a bad date.
 */
apr_status_t cs_hours_add_holiday(cs_hours_t *h, const char *date,
                                  const char **perr);

/**
 * Whether the business is open at a local time. An interval "08:00-17:00"
 * is open from 08:00 up to but not including 17:00.
 *
 * When closed, *pevening is set to the key of the closed period: the local
 * date ("YYYY-MM-DD", allocated in @p p) of the most recent closing moment
 * at or before now, looking back up to 8 days. So a message at 06:00
 * belongs to the previous evening, a whole closed Sunday (or a holiday) to
 * the last day that had hours, and a closing at 24:00 to the day it ends.
 * When no closing moment lies within 8 days (a week with no hours, or a
 * long run of holidays), the key is @p local_date itself.
 *
 * @param h          The schedule; NULL means always open.
 * @param p          Pool for *pevening.
 * @param isodow     Local ISO weekday of @p local_date, 1=Mon .. 7=Sun
 *                   (trusted as given; Postgres' extract(isodow)).
 * @param minute     Local minute of the day, 0..1439.
 * @param local_date Local date "YYYY-MM-DD".
 * @param pevening   Set to the evening key when closed, NULL when open.
 *                   May be NULL.
 * @return 1 when open, 0 when closed. Out-of-range or malformed arguments
 *         count as open (with *pevening NULL): failing open means no
 *         after-hours reply rather than a wrong one.
 */
int cs_hours_open(const cs_hours_t *h, apr_pool_t *p, int isodow, int minute,
                  const char *local_date, const char **pevening);

#endif
