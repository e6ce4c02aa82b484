/**
 * @file cs_pair.h
 * @brief One received form field: the one pair type for every module that
 * reads a form (core's cs_read_form, intake, the dashboard, Twilio's
 * signed webhooks).
 */
#ifndef CS_PAIR_H
#define CS_PAIR_H

#include <apr.h>

/** One field as received, already URL-decoded (value not yet trimmed;
 * NUL-terminated, value_len bytes). A NULL value counts as "". */
typedef struct {
    const char *key;
    const char *value;
    apr_size_t value_len;
} cs_pair_t;

#endif
