/**
 * @file cs_time.h
 * @brief One reader of the ISO 8601 / RFC 3339 date-times providers send
 * (Square, Toast, Cal.com, Jobber): "2024-05-01T15:00:00Z", with or
 * without a fraction, "z", "+hh:mm" or "+hhmm"; no zone means UTC.
 */
#ifndef CS_TIME_H
#define CS_TIME_H

#include <apr_time.h>
#include <apr_errno.h>

/** @p iso into microseconds since the epoch (1970..9999). APR_EINVAL for
 * anything else, with *pout 0. */
apr_status_t cs_time_parse_iso8601(apr_time_t *pout, const char *iso);

#endif
