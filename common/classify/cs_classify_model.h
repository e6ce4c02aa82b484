/**
 * @file cs_classify_model.h
 * @brief Internals of the builtin classifier, shared by the runtime
 * (cs_classify.c), the trainer (tools/classifier-train.c) and the generated
 * model tables (build/.../gen/cs_model_data.c).
 *
 * Nothing here references the generated tables: the feature code
 * (cs_classify_feat.c), the rules and extractors (cs_classify_rules.c) and
 * the scoring pipeline (cs_classify_core.c) take the model as a parameter,
 * so the trainer links them from the common library without the model and
 * evaluates exactly the code path the runtime uses. Only cs_classify.c
 * names the generated cs_clf_builtin_model.
 *
 * Everything is reentrant: all state lives in the caller's pool, the tables
 * are const.
 */
#ifndef CS_CLASSIFY_MODEL_H
#define CS_CLASSIFY_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "classify/cs_classify.h"

/** Bytes of a message the classifier looks at; the rest is ignored, so the
 * cost of one call is bounded whatever the input. */
#define CS_CLF_MAX_INPUT 32768

/** Most classes any head has (the intent head). */
#define CS_CLF_MAX_CLASSES 8

/* ---- text analysis ------------------------------------------------------- */

/** Token kinds. */
enum {
    CS_TOK_WORD = 0,   /**< letters, digits, '$' (digits kept as typed) */
    CS_TOK_URL,        /**< a link; text is "__url" */
    CS_TOK_EMAIL,      /**< an email address; text is "__email" */
    CS_TOK_PROFILE     /**< a link to a profile, portfolio, photos or a map
                            (LinkedIn, Instagram, Google Maps, ...);
                            text is "__profile_link" */
};

typedef struct {
    const char *text;  /**< lowercased, accent-folded, NUL-terminated */
    int kind;
    int short_url;     /**< CS_TOK_URL through a link shortener */
    apr_size_t start;  /**< byte range in the folded text */
    apr_size_t end;
} cs_clf_tok_t;

/** Counters the rules use. */
typedef struct {
    int letters;          /**< Latin letters (after folding) */
    int nonlatin;         /**< letters of other scripts (Cyrillic, CJK, ...) */
    int upper;            /**< uppercase Latin letters as typed */
    int digits;
    int urls;             /**< links, not counting profile links */
    int short_urls;
    int profile_links;
    int emails;
    int exclaims;         /**< '!' and U+00A1 */
    int questions;        /**< '?' and U+00BF */
    int inverted_q;       /**< U+00BF and U+00A1 (Spanish punctuation) */
    int spanish_letters;  /**< n-tilde, accented vowels as typed */
    int emoji;
    int invalid;          /**< bytes that were not valid UTF-8 */
} cs_clf_info_t;

/** A message after normalization and tokenization. */
typedef struct {
    const char *orig;      /**< the input (at most CS_CLF_MAX_INPUT bytes used) */
    apr_size_t orig_len;
    char *folded;          /**< lowercase, Latin accents stripped, NUL-terminated */
    apr_size_t folded_len;
    apr_size_t *map;       /**< folded offset -> offset in orig (folded_len + 1) */
    cs_clf_tok_t *toks;
    int ntoks;
    cs_clf_info_t info;
} cs_clf_doc_t;

/** Normalize and tokenize @p text (NULL is treated as ""). Never fails. */
cs_clf_doc_t *cs_clf_analyze(apr_pool_t *p, const char *text);

/** The original bytes behind folded range [start, end) of @p d, copied. */
const char *cs_clf_orig_span(apr_pool_t *p, const cs_clf_doc_t *d,
                             apr_size_t start, apr_size_t end);

/* ---- features ------------------------------------------------------------ */

/** Feature kinds, weighted separately. */
enum {
    CS_FK_WORD = 0,    /**< word unigrams */
    CS_FK_BIGRAM,      /**< word bigrams (with a start-of-text marker) */
    CS_FK_CHAR,        /**< character 3..5-grams of words, with boundaries */
    CS_FK_META,        /**< message shape: links, length, script, ... */
    CS_FK_N
};

/** How token counts become the feature vector; baked into the model. */
typedef struct {
    unsigned int bucket_bits;      /**< 2^bits hashed buckets */
    double kind_weight[CS_FK_N];   /**< multiplier per feature kind */
    int sublinear;                 /**< use 1 + ln(count) instead of count */
    double norm;                   /**< > 0: scale the vector to this L2 norm */
} cs_clf_featcfg_t;

/** One (bucket, kind) with its occurrence count in a message. */
typedef struct {
    uint32_t bucket;
    uint32_t kind;
    double count;
} cs_clf_raw_t;

/** One bucket's value in a message's feature vector. */
typedef struct {
    uint32_t bucket;
    double value;
} cs_clf_feat_t;

/** 32-bit FNV-1a of @p len bytes, continuing from @p h (start: 2166136261). */
uint32_t cs_clf_fnv1a(uint32_t h, const void *data, size_t len);

/** Counted features of @p d, sorted by (bucket, kind). Returns the count. */
int cs_clf_raw_features(apr_pool_t *p, const cs_clf_doc_t *d,
                        unsigned int bucket_bits, cs_clf_raw_t **out);

/** The feature vector from raw counts, sorted by bucket. Returns the count. */
int cs_clf_vectorize(apr_pool_t *p, const cs_clf_raw_t *raw, int nraw,
                     const cs_clf_featcfg_t *cfg, cs_clf_feat_t **out);

/* ---- model --------------------------------------------------------------- */

/** One naive Bayes head:
 * score_c = (prior_c + scale * sum_b x_b w[b][c]) / temp + bias_c.
 * w holds ln P(bucket | class), centered per bucket (which leaves the
 * softmax unchanged) and quantized. */
typedef struct {
    int n_classes;
    const int16_t *w;                  /**< [bucket * n_classes + class] */
    double scale;
    double prior[CS_CLF_MAX_CLASSES];  /**< ln P(class) */
    double temp;                       /**< softmax temperature (calibration) */
    double bias[CS_CLF_MAX_CLASSES];   /**< added to the tempered scores: a
                                            decision threshold per class,
                                            chosen by cross-validation */
} cs_clf_head_t;

/** A binary linear scorer (spam vs not: logistic regression on the same
 * features): log-odds = intercept + scale * sum_b x_b w[b]; the runtime adds
 * weight * log-odds to the tempered spam score. w NULL or weight 0: unused. */
typedef struct {
    const int16_t *w;        /**< [bucket] */
    double scale;
    double intercept;
    double weight;
} cs_clf_linear_t;

/** What the client's vertical changes in the heads: log-prior offsets
 * ln P(class | vertical) - ln P(class), estimated from the training examples
 * that name their vertical and shrunk toward 0 (no change), added to the
 * tempered scores. A vertical without examples has all zeros. */
typedef struct {
    double intent[CS_N_VERTICALS][CS_CLF_MAX_CLASSES];
    double urgency[CS_N_VERTICALS][CS_CLF_MAX_CLASSES];
    int n_examples[CS_N_VERTICALS];   /**< training examples of each vertical */
} cs_clf_vertical_prior_t;

typedef struct {
    cs_clf_featcfg_t feat;
    cs_clf_linear_t spam;    /**< second opinion on spam, combined by weight */
    cs_clf_head_t intent;    /**< classes in cs_intent_t order */
    cs_clf_head_t urgency;   /**< classes in cs_urgency_t order */
    cs_clf_vertical_prior_t vertical;
    int n_train;             /**< training examples (corrections included) */
    int n_corrections;
} cs_clf_model_t;

/** The model generated by tools/classifier-train (only in MODEL_LIB). */
extern const cs_clf_model_t cs_clf_builtin_model;

/** Probabilities of @p head's classes for feature vector @p x into @p prob;
 * @p logit (may be NULL) receives the tempered scores. */
void cs_clf_head_predict(const cs_clf_head_t *head, unsigned int bucket_bits,
                         const cs_clf_feat_t *x, int nx, double *prob,
                         double *logit);

/** Log-odds of a binary linear scorer for feature vector @p x (0 when
 * the scorer is unused). */
double cs_clf_linear_score(const cs_clf_linear_t *l, unsigned int bucket_bits,
                           const cs_clf_feat_t *x, int nx);

/** Softmax of @p n scores in place. */
void cs_clf_softmax(double *v, int n);

/** Rule evidence about one message (cs_clf_signals). */
typedef struct {
    double spam;          /**< cs_clf_spam_score */
    double strong, soon, calm;   /**< cs_clf_urgency_signals */
    int has_letters;      /**< any letter at all */
    int urls;
} cs_clf_signals_t;

/** The rule evidence of @p d for a client of @p vertical (a cs_vertical_t,
 * or -1 when unknown). */
void cs_clf_signals(const cs_clf_doc_t *d, int vertical, cs_clf_signals_t *s);

/** Add the vertical's prior offsets to tempered intent and urgency scores
 * (either may be NULL); nothing for @p vertical -1. */
void cs_clf_vertical_shift(const cs_clf_vertical_prior_t *vp, int vertical,
                           double *intent_logit, double *urgency_logit);

/** Labels and probabilities after the rules. */
typedef struct {
    int intent;
    int urgency;
    double intent_prob[CS_CLF_MAX_CLASSES];
    double urgency_prob[CS_CLF_MAX_CLASSES];
} cs_clf_decision_t;

/** How much rule evidence moves the tempered log-odds. */
typedef struct {
    double spam_free;        /**< spam evidence up to this is ignored */
    double spam_per_point;   /**< log-odds added to spam per point above it */
    double spam_none;        /**< log-odds taken from spam without any evidence */
    double urg_strong;       /**< added to high per strong urgency signal */
    double urg_soon;         /**< added to high per "today"/"tonight" signal */
    double urg_calm;         /**< added to low per calm signal */
    double spam_min_prob;    /**< spam needs at least this probability; an
                                  uncertain message gets its best other
                                  intent (it stays in the inbox) */
} cs_clf_rule_params_t;

/** The values the runtime uses (cross-validated inside the train split). */
extern const cs_clf_rule_params_t cs_clf_rule_defaults;

/** cs_clf_decide with explicit rule weights (for tuning). */
void cs_clf_decide_with(const cs_clf_rule_params_t *rp, const cs_clf_signals_t *s,
                        const double *intent_logit, const double *urgency_logit,
                        cs_clf_decision_t *out);

/** Combine the heads' tempered scores (as cs_clf_head_predict's @p logit)
 * with the rule evidence: spam evidence raises spam, urgency words raise
 * high, calm words raise low; spam below spam_min_prob is not spam; spam is
 * low urgency. */
void cs_clf_decide(const cs_clf_signals_t *s, const double *intent_logit,
                   const double *urgency_logit, cs_clf_decision_t *out);

/** The whole pipeline (model, rules, extraction) with an explicit model,
 * for a client of @p vertical (a cs_vertical_t, or -1 when unknown). */
cs_classification_t *cs_clf_classify(apr_pool_t *p, const cs_clf_model_t *m,
                                     const char *text, int vertical);

/* ---- rules and extraction (cs_classify_rules.c) -------------------------- */

/** Evidence of spam from links, vocabulary and scripts; 0 for none. Words
 * that are the trade of @p vertical (a cs_vertical_t, or -1 when unknown)
 * are no evidence for its clients ("SEO" to a marketing agency). */
double cs_clf_spam_score(const cs_clf_doc_t *d, int vertical);

/** Urgency evidence: @p strong (emergencies, "urgent", "asap"), @p soon
 * (today, tonight, "hoy"), @p calm ("no rush", "sin prisa"). */
void cs_clf_urgency_signals(const cs_clf_doc_t *d, double *strong,
                            double *soon, double *calm);

/** Amount mentioned ("$500", "300 dólares", "2k"), as typed, or NULL. */
const char *cs_clf_extract_budget(apr_pool_t *p, const cs_clf_doc_t *d);

/** Dates and times mentioned, as typed, in order (const char *). */
apr_array_header_t *cs_clf_extract_when(apr_pool_t *p, const cs_clf_doc_t *d);

/** Canonical (English) name of the first service mentioned, or NULL. */
const char *cs_clf_extract_service(const cs_clf_doc_t *d);

/** "es" or "en". */
const char *cs_clf_guess_lang(const cs_clf_doc_t *d);

#endif
