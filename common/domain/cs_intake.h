/**
 * @file cs_intake.h
 * @brief What a site form may send us, and the submission we store.
 *
 * The glue in mod_consult_intake turns a urlencoded or JSON body into an
 * ordered list of name/value pairs; everything after that (limits, field
 * conventions, validation, the raw-fields document) lives here so unit
 * tests exercise it without a server.
 */
#ifndef CS_INTAKE_H
#define CS_INTAKE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "base/cs_json.h"
#include "http/cs_pair.h"

#define CS_INTAKE_MAX_FIELDS      64
#define CS_INTAKE_MAX_KEY_LEN     64
#define CS_INTAKE_MAX_VALUE_LEN   10000
#define CS_INTAKE_MAX_MESSAGE_LEN 5000
#define CS_INTAKE_MAX_NAME_LEN    200


/** A validation problem, named by the field a person would fix. */
typedef struct {
    const char *field;
    const char *message;
} cs_field_error_t;

/** A submission ready to store. Optional fields are NULL when absent. */
typedef struct {
    const char *name;
    const char *email;     /**< normalized */
    const char *phone;     /**< normalized */
    const char *message;   /**< trimmed */
    const char *fields_json; /**< every field as sent, a JSON object */
    const char *service;   /**< "service" field, trimmed */
    const char *preferred_time; /**< "preferred_time" field, trimmed */
    const char *token;     /**< the form token field's value, or NULL */
    int honeypot_tripped;  /**< the honeypot field was filled in */
} cs_submission_t;

/** Per-vhost field conventions for cs_intake_build_ex. */
typedef struct {
    const char *region;      /**< phone region for E.164 (NULL: digits only) */
    const char *honeypot;    /**< honeypot field name, NULL for none */
    const char *token_field; /**< form token field: read, kept out of fields_json */
} cs_intake_opts_t;

/** A new, empty pair list. */
apr_array_header_t *cs_pairs_make(apr_pool_t *p);

/** Append a pair (pointers are kept, not copied). */
void cs_pairs_add(apr_array_header_t *pairs, const char *key,
                  const char *value, apr_size_t value_len);

/**
 * Turn a JSON request body into pairs. The body must be one object whose
 * members are strings, numbers, booleans or null (null members are
 * skipped); nested objects and arrays are refused.
 * @return APR_SUCCESS, or APR_EINVAL with one entry in @p errors.
 */
apr_status_t cs_intake_pairs_from_json(apr_array_header_t **pout,
                                       apr_pool_t *p, const char *body,
                                       apr_size_t len,
                                       apr_array_header_t *errors);

/**
 * Validate pairs and build the submission: a message is required, and at
 * least one valid way to reach the sender (email or phone). A value that
 * is present but malformed is an error even if the other one is fine.
 * @param errors array of cs_field_error_t receiving every problem found.
 * @return APR_SUCCESS, or APR_EINVAL with @p errors filled.
 */
apr_status_t cs_intake_build(cs_submission_t **pout, apr_pool_t *p,
                             const apr_array_header_t *pairs,
                             apr_array_header_t *errors);

/** cs_intake_build with per-vhost conventions: phones become E.164 for
 * @p opts->region, the honeypot and form token are picked out. */
apr_status_t cs_intake_build_ex(cs_submission_t **pout, apr_pool_t *p,
                                const apr_array_header_t *pairs,
                                const cs_intake_opts_t *opts,
                                apr_array_header_t *errors);

/** What the edge knows about a post besides its fields. */
typedef struct {
    const char *ip;                  /**< the sender's address */
    const char *user_agent;          /**< may be NULL */
    const char *referer;             /**< may be NULL */
    const char *key;                 /**< idempotency key, NULL for none */
    const apr_array_header_t *spam;  /**< const char * reasons ([a-z_]) */
    int files;                       /**< attachments stored with the row */
} cs_intake_edge_t;

/**
 * The journal row of a post (journal-first intake): the submission and the
 * edge's verdicts as one JSON object, read back by consult_intake_drain
 * (sql/functions/20_consult_intake_drain.sql), which names the same keys:
 * name, email, phone, message, fields (the object as sent), service,
 * preferred_time, ip, user_agent, referer, key, spam, reasons, files.
 * Absent values are left out.
 */
const char *cs_intake_journal_json(apr_pool_t *p, const cs_submission_t *sub,
                                   const cs_intake_edge_t *edge);

/** A new error list for the functions above. */
apr_array_header_t *cs_field_errors_make(apr_pool_t *p);

/** The JSON body for a 400: {"error":..., "field":..., "message":..., "errors":[...]}. */
const char *cs_field_errors_json(apr_pool_t *p, const apr_array_header_t *errors);

#endif
