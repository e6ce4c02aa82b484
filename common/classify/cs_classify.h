/**
 * @file cs_classify.h
 * @brief Message classification: intent, urgency, confidence and extracted
 * fields, from the builtin model (no network) or an LLM backend.
 *
 * The builtin model is multinomial naive Bayes over hashed word and
 * character n-gram features, trained at build time by tools/classifier-train
 * from common/classify/examples.jsonl (plus exported staff corrections)
 * into generated C; rules on top handle what counting words cannot
 * (links and spam markers, urgency words, amounts, dates and times). The
 * client's vertical, when known (cs_classify_builtin_opts), shifts the
 * priors and tells the spam rules which words are the client's own trade.
 * Under doubt a message stays out of the spam folder.
 */
#ifndef CS_CLASSIFY_H
#define CS_CLASSIFY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

/** Intents, in model order: the index of each label in CS_INTENTS. */
typedef enum {
    CS_INTENT_QUOTE_REQUEST = 0,
    CS_INTENT_BOOKING_REQUEST,
    CS_INTENT_QUESTION,
    CS_INTENT_COMPLAINT,
    CS_INTENT_ORDER_ISSUE,
    CS_INTENT_JOB_INQUIRY,
    CS_INTENT_SPAM,
    CS_INTENT_OTHER,
    CS_N_INTENTS
} cs_intent_t;

/** Intent labels, in cs_intent_t order. */
#define CS_INTENTS { "quote_request", "booking_request", "question", "complaint", \
                     "order_issue", "job_inquiry", "spam", "other" }

/** Urgency levels, in model order: the index of each label in CS_URGENCIES. */
typedef enum {
    CS_URGENCY_HIGH = 0,
    CS_URGENCY_NORMAL,
    CS_URGENCY_LOW,
    CS_N_URGENCIES
} cs_urgency_t;

/** Urgency labels, in cs_urgency_t order. */
#define CS_URGENCIES { "high", "normal", "low" }

/** The clients' lines of business the builtin model knows, in model order.
 * A vertical tells the classifier what ordinary mail looks like for that
 * client: "SEO" and "Google Ads" are leads for a marketing agency and
 * sales pitches for a barber, "wholesale" is an order for a coffee roaster. */
typedef enum {
    CS_VERTICAL_COFFEE_SHOP = 0,
    CS_VERTICAL_RESTAURANT,
    CS_VERTICAL_JUNK_REMOVAL,
    CS_VERTICAL_CLEANING,
    CS_VERTICAL_LANDSCAPING,
    CS_VERTICAL_BARBER,
    CS_VERTICAL_DATA_ANALYTICS,
    CS_VERTICAL_WEB_DEV,
    CS_VERTICAL_MARKETING_AGENCY,
    CS_N_VERTICALS
} cs_vertical_t;

/** Vertical names, in cs_vertical_t order (the "vertical" of examples). */
#define CS_VERTICALS { "coffee_shop", "restaurant", "junk_removal", "cleaning", \
                       "landscaping", "barber", "data_analytics", "web_dev", \
                       "marketing_agency" }

/** Options of a classification; a NULL pointer means all defaults. */
typedef struct {
    /** The client's vertical (a name cs_vertical_index knows), or NULL when
     * unknown. An unknown name counts as NULL. */
    const char *vertical;
} cs_classify_opts_t;

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

/** Classify @p text with the builtin model. Never fails on any input.
 * The same as cs_classify_builtin_opts with no options (vertical unknown). */
cs_classification_t *cs_classify_builtin(apr_pool_t *p, const char *text);

/** Classify @p text with the builtin model and @p opts (may be NULL): the
 * client's vertical shifts the intent and urgency priors and discounts the
 * spam evidence of words that are that vertical's own trade. Never fails. */
cs_classification_t *cs_classify_builtin_opts(apr_pool_t *p, const char *text,
                                              const cs_classify_opts_t *opts);

/** The stored/serialized form: {"intent":..,"urgency":..,"confidence":..,
 * "urgency_confidence":..,"service":..,"when":[..],"budget":..,"lang":..,
 * "backend":..,"fallback":..} (absent optional fields are null). */
const char *cs_classification_json(apr_pool_t *p, const cs_classification_t *c);

/** Index of @p intent in CS_INTENTS, or -1. */
int cs_intent_index(const char *intent);
/** Index of @p urgency in CS_URGENCIES, or -1. */
int cs_urgency_index(const char *urgency);
/** Index of @p vertical in CS_VERTICALS, or -1. Case does not matter, nor
 * '-' or ' ' for '_'; a few other names of the same trades are accepted
 * ("cafe", "pizzeria", "taqueria", "junk-hauler", "cleaning-company",
 * "landscaper", "barbershop", "web-studio"). */
int cs_vertical_index(const char *vertical);

/** Label of an intent or urgency level ("other" / "normal" if out of range). */
const char *cs_intent_name(cs_intent_t intent);
const char *cs_urgency_name(cs_urgency_t urgency);

#endif
