/**
 * @file cs_classify.h
 * @brief Message classification: intent, urgency, confidence and extracted
 * fields, from the builtin model (no network) or an LLM backend.
 *
 * The builtin model is multinomial naive Bayes over hashed word and
 * character n-gram features, trained at build time by tools/classifier-train
 * from common/classifier/examples.jsonl (plus exported staff corrections)
 * into generated C; rules on top handle what counting words cannot
 * (links and spam markers, urgency words, amounts, dates and times).
 */
#ifndef CS_CLASSIFY_H
#define CS_CLASSIFY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

/** Intent labels, in model order. */
#define CS_INTENTS { "quote_request", "booking_request", "question", "complaint", \
                     "order_issue", "job_inquiry", "spam", "other" }
#define CS_N_INTENTS 8
/** Urgency labels, in model order. */
#define CS_URGENCIES { "high", "normal", "low" }
#define CS_N_URGENCIES 3

typedef struct {
    const char *intent;           /**< one of CS_INTENTS */
    const char *urgency;          /**< one of CS_URGENCIES */
    double confidence;            /**< probability of the intent, 0..1 */
    double urgency_confidence;    /**< probability of the urgency, 0..1 */
    const char *service;          /**< requested service mentioned, or NULL */
    apr_array_header_t *when;     /**< const char *: dates/times mentioned */
    const char *budget;           /**< amount mentioned, e.g. "$500", or NULL */
    const char *lang;             /**< "en" or "es" (best guess) */
    const char *backend;          /**< "builtin" or "llm" */
    const char *fallback;         /**< why the LLM answer was not used, or NULL */
} cs_classification_t;

/** Classify @p text with the builtin model. Never fails on any input. */
cs_classification_t *cs_classify_builtin(apr_pool_t *p, const char *text);

/** The stored/serialized form: {"intent":..,"urgency":..,"confidence":..,
 * "urgency_confidence":..,"service":..,"when":[..],"budget":..,"lang":..,
 * "backend":..,"fallback":..} (absent optional fields are null). */
const char *cs_classification_json(apr_pool_t *p, const cs_classification_t *c);

/** Index of @p intent in CS_INTENTS, or -1. */
int cs_intent_index(const char *intent);
/** Index of @p urgency in CS_URGENCIES, or -1. */
int cs_urgency_index(const char *urgency);

#endif
