/**
 * @file cs_twilio.h
 * @brief Twilio without the network: webhook signature checks
 * (X-Twilio-Signature), webhook bodies and their journal ids, opt-out
 * keywords, SMS segment counting, the TwiML documents we answer with, and
 * the form body / JSON answer of POST Messages.json and the list that finds
 * an earlier attempt. Pure functions over APR pools.
 *
 * The signature algorithm follows Twilio's SDKs (twilio-python
 * request_validator.py, twilio-node webhooks.ts).
 */
#ifndef CS_TWILIO_H
#define CS_TWILIO_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "http/cs_pair.h"
#include "http/cs_http.h"


/**
 * The string Twilio signs: @p url exactly as Twilio requested it, then for
 * every parameter name in byte order, name followed by value with no
 * separator. A name sent several times contributes each distinct value
 * once, values in byte order (the SDKs' sorted(set(values))).
 * @param params array of cs_pair_t, or NULL for none
 */
const char *cs_twilio_signing_string(apr_pool_t *p, const char *url,
                                     const apr_array_header_t *params);

/** base64(HMAC-SHA1(key = @p auth_token, cs_twilio_signing_string(...))),
 * the value Twilio puts in X-Twilio-Signature. */
const char *cs_twilio_signature(apr_pool_t *p, const char *auth_token,
                                const char *url,
                                const apr_array_header_t *params);

/**
 * Check a presented X-Twilio-Signature, in constant time per candidate.
 *
 * Like the SDKs, the signature may have been computed over @p url as given,
 * over it with the scheme's default port added when it has none
 * (":443" for https, ":80" otherwise), or with its port removed when it has
 * one; any of these matching is accepted.
 *
 * Form-encoded requests: pass the decoded parameters in @p params and
 * @p body NULL.
 *
 * application/json requests: pass @p params NULL and the raw body in
 * @p body / @p body_len. The URL's query must then carry
 * bodySHA256=<lowercase hex SHA-256 of the body> (Twilio adds it), the body
 * must hash to it, and the signature covers the URL alone. Passing both
 * @p params and @p body is a caller error and fails.
 *
 * @return 1 when valid, 0 otherwise (including any NULL/empty input).
 */
int cs_twilio_verify(apr_pool_t *p, const char *auth_token, const char *url,
                     const apr_array_header_t *params, const char *body,
                     apr_size_t body_len, const char *presented);

/** What an inbound SMS asks for, in carrier/Twilio keyword terms. */
typedef enum {
    CS_SMS_NONE,    /**< an ordinary message */
    CS_SMS_STOP,    /**< opt out of all further messages */
    CS_SMS_START,   /**< opt back in */
    CS_SMS_HELP     /**< asks who we are / how to opt out */
} cs_sms_keyword_t;

/**
 * Classify an inbound SMS body as an opt-out/opt-in/help keyword. The whole
 * message, trimmed of whitespace and compared case-insensitively (ASCII),
 * must be the keyword; "stop please" or "STOP." is an ordinary message,
 * as with Twilio's default handling.
 *
 * - STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE, and the
 *   Spanish PARAR: CS_SMS_STOP
 * - START, YES, UNSTOP: CS_SMS_START
 * - HELP, INFO, and the Spanish AYUDA: CS_SMS_HELP
 *
 * The English lists are Twilio's documented defaults; PARAR and AYUDA are
 * the common Spanish carrier keywords and are included because many of our
 * customers write in Spanish. NULL is CS_SMS_NONE.
 */
cs_sms_keyword_t cs_sms_keyword(const char *body);

/**
 * How many SMS segments @p utf8 takes.
 *
 * When every character is in the GSM 03.38 basic set or its extension table
 * the message is GSM-7: extension characters (form feed ^ { } \ [ ] ~ | and
 * the euro sign) cost two septets; one segment holds 160 septets, and a
 * concatenated message 153 per part. Otherwise it is UCS-2, counted in
 * UTF-16 code units (characters outside the BMP, such as most emoji, cost
 * two): 70 for one segment, 67 per part. In a concatenated message an
 * escape pair or a surrogate pair is never split across parts (handsets
 * and Twilio move it to the next part), so the count can exceed
 * ceil(units / 153) (or / 67). Invalid UTF-8 bytes count as U+FFFD (UCS-2).
 *
 * @param pencoding set to "GSM-7" or "UCS-2" (may be NULL)
 * @param pchars    set to the septets (GSM-7) or UTF-16 units (UCS-2)
 *                  counted (may be NULL)
 * @return segments; 0 for NULL or "" (which report "GSM-7" and 0)
 */
int cs_sms_segments(const char *utf8, const char **pencoding, int *pchars);

/** A TwiML document that does nothing: an empty <Response/> (with the XML
 * declaration). A static string. */
const char *cs_twiml_empty(void);

/** TwiML that replies to an inbound SMS with @p text (XML-escaped; control
 * characters XML 1.0 cannot carry are dropped). NULL text gives an empty
 * message element. */
const char *cs_twiml_message(apr_pool_t *p, const char *text);

/**
 * Voicemail TwiML: <Say>greeting</Say> then
 * <Record action maxLength recordingStatusCallback transcribe="true"
 * transcribeCallback/>. Text and attribute values are XML-escaped.
 * A NULL argument omits its part: no <Say> without @p greeting; no
 * transcribe="true" without @p transcribe_cb_url (transcription is billed,
 * so it is only asked for when someone listens for it); @p max_length <= 0
 * leaves Twilio's default (3600 s).
 */
const char *cs_twiml_voicemail(apr_pool_t *p, const char *greeting,
                               const char *action_url,
                               const char *recording_cb_url,
                               const char *transcribe_cb_url, int max_length);

/**
 * Read Twilio's JSON answer to POST Messages.json.
 *
 * A Message resource fills *psid and *pstatus (and, when its error_code is
 * set, *pcode and *pmessage from error_code / error_message). An error
 * document {"code": 21211, "message": "...", "more_info": ..., "status": 400}
 * fills *pcode and *pmessage. Outputs not found are NULL / 0; any output
 * pointer may be NULL.
 *
 * @return APR_SUCCESS when a non-empty string "sid" was found, APR_EINVAL
 *         otherwise (error document, not JSON, not an object).
 */
apr_status_t cs_twilio_parse_message_response(apr_pool_t *p, const char *json,
                                              apr_size_t len,
                                              const char **psid,
                                              const char **pstatus, int *pcode,
                                              const char **pmessage);

/** What cs_twilio_find_in_list concluded about an earlier attempt. */
typedef enum {
    CS_TWILIO_LIST_UNREADABLE = -1, /**< the answer is not a Messages.json page */
    CS_TWILIO_LIST_NONE = 0,        /**< Twilio has no message that can be it: send */
    CS_TWILIO_LIST_FOUND = 1,       /**< exactly one, and only we can own it: *psid */
    CS_TWILIO_LIST_UNSURE = 2       /**< maybe sent, but not provably as which SID */
} cs_twilio_list_t;

/**
 * The SIDs of the messages in Twilio's answer to GET Messages.json (a
 * {"messages": [...]} page) that could be an attempt of ours begun at
 * @p since: the body is @p body, and date_created (RFC 2822) is not more
 * than a minute before @p since (a message without a readable date counts).
 * In page order (newest first), into *psids (const char *).
 *
 * @return CS_TWILIO_LIST_FOUND when there is at least one,
 *         CS_TWILIO_LIST_NONE when none, CS_TWILIO_LIST_UNREADABLE
 *         when the answer is not such a page (*psids NULL).
 */
cs_twilio_list_t cs_twilio_list_matches(apr_pool_t *p, const char *json, apr_size_t len,
                                        const char *body, apr_time_t since,
                                        apr_array_header_t **psids);

/**
 * Find our earlier attempt in a Messages.json page, or say that it cannot
 * be told apart.
 *
 * Twilio's Message resource echoes nothing of ours but the text (not the
 * StatusCallback URL, which carries our message id), and Messages.json has
 * no idempotency key, so two texts with the same words to the same number
 * look alike. A match (cs_twilio_list_matches) is therefore only adopted
 * when nothing else can own it:
 *
 * - a match whose SID is in @p taken (SIDs already stored on other messages
 *   of ours) is someone else's and is skipped;
 * - no match left: CS_TWILIO_LIST_NONE, the attempt never reached Twilio;
 * - exactly one left and @p rivals is 0: CS_TWILIO_LIST_FOUND, *psid;
 * - more than one left, or any @p rivals (other messages of ours with the
 *   same text to the same number whose attempts in the same window Twilio
 *   never confirmed, so that the match may be theirs): CS_TWILIO_LIST_UNSURE.
 *   Sending again could text the customer twice and adopting could steal
 *   another message's SID; the caller leaves it to Twilio's status
 *   callback (which names our message) or to a person.
 *
 * @param taken const char * SIDs, or NULL for none
 * @return a cs_twilio_list_t; *psid is set only with CS_TWILIO_LIST_FOUND.
 */
cs_twilio_list_t cs_twilio_find_in_list(apr_pool_t *p, const char *json, apr_size_t len,
                                        const char *body, apr_time_t since,
                                        const apr_array_header_t *taken, int rivals,
                                        const char **psid);

/**
 * The application/x-www-form-urlencoded body of POST Messages.json:
 * To, then From (or MessagingServiceSid when @p from starts with "MG", a
 * Messaging Service SID), Body, and StatusCallback when non-NULL. NULL
 * @p to, @p from or @p body omit their field. Space is '+', everything but
 * ALPHA / DIGIT / "-._~" is %XX (so "+1503..." is sent as "%2B1503...").
 */
const char *cs_twilio_message_form(apr_pool_t *p, const char *to,
                                   const char *from, const char *body,
                                   const char *status_callback);

/**
 * Our delivery_status for a MessageStatus of a status callback: delivered
 * (and read), sent, undelivered, failed (and canceled), sending; anything
 * else (queued, accepted, scheduled...) is "queued". NULL is "queued".
 */
const char *cs_twilio_delivery_status(const char *message_status);

/* ---- webhooks, as journaled -------------------------------------------- */

/**
 * Decode an application/x-www-form-urlencoded body into its fields, in
 * order, as httpd's ap_parse_form_data does: fields split on '&', name and
 * value on the first '=', '+' is a space, %XX a byte (a '%' without two
 * hex digits after it stays as it is), a field without '=' has the value
 * "", empty fields are skipped. The handler verifies what this returns and
 * journals the raw body; the job that reads the journal decodes the same
 * bytes with it, so both see the same fields.
 *
 * @param ppairs set to an array of cs_pair_t (NUL-terminated copies)
 * @return APR_SUCCESS; APR_EINVAL when there are more than @p max_fields
 *         fields (*ppairs NULL).
 */
apr_status_t cs_twilio_parse_form(apr_pool_t *p, const char *body, apr_size_t len,
                                  int max_fields, apr_array_header_t **ppairs);

/** The value of the first field named @p name in @p params (cs_pair_t),
 * or NULL. */
const char *cs_twilio_param(const apr_array_header_t *params, const char *name);

/** The signed webhooks we journal, one per endpoint. */
typedef enum {
    CS_TWILIO_EV_NONE = 0,
    CS_TWILIO_EV_SMS,             /**< /twilio/sms */
    CS_TWILIO_EV_CALL,            /**< /twilio/voice */
    CS_TWILIO_EV_RECORDING,       /**< /twilio/voice/recording */
    CS_TWILIO_EV_TRANSCRIPTION,   /**< /twilio/voice/transcription */
    CS_TWILIO_EV_STATUS           /**< /twilio/status?m=ID */
} cs_twilio_event_t;

/**
 * The journal's event id of a webhook: the same for every redelivery of
 * one event and different for different events, naming its kind first:
 *
 * - "sms:" MessageSid
 * - "call:" CallSid
 * - "recording:" CallSid ":" RecordingSid (":-" without one)
 * - "transcription:" CallSid ":" TranscriptionSid (without one, the
 *   TranscriptionStatus, else "-")
 * - "status:" @p message_id ":" MessageSid ":" MessageStatus (our message
 *   id from the StatusCallback URL: Twilio echoes it nowhere else)
 *
 * SIDs must be 1-64 letters and digits, statuses 1-32 of [a-z_-], the
 * message id 1-18 digits.
 * @return the id, or NULL when a field it needs is missing or malformed.
 */
const char *cs_twilio_event_id(apr_pool_t *p, cs_twilio_event_t kind,
                               const apr_array_header_t *params,
                               const char *message_id);

/**
 * Read an event id made by cs_twilio_event_id back: its kind, and in
 * *pref the CallSid (call, recording, transcription), the MessageSid (sms)
 * or our message id (status).
 * @return the kind, CS_TWILIO_EV_NONE when @p event_id is none of ours.
 */
cs_twilio_event_t cs_twilio_event_parse(apr_pool_t *p, const char *event_id,
                                        const char **pref);

/* ---- requests (the provider shape: built here, sent by the module) ----- */

/** A client's Twilio account, from its vhost's directives. */
typedef struct {
    const char *api_base;             /**< https://api.twilio.com */
    const char *account_sid;
    const char *auth_token;           /**< basic-auth password, never logged */
    apr_interval_time_t timeout;      /**< 0: cs_http's default */
} cs_twilio_account_t;

/** Fill @p req with POST .../Accounts/{sid}/Messages.json sending @p body
 * from @p from to @p to (status_callback may be NULL). */
void cs_twilio_build_send(cs_http_req_t *req, apr_pool_t *p,
                          const cs_twilio_account_t *a, const char *to,
                          const char *from, const char *body,
                          const char *status_callback);

/** Fill @p req with GET .../Messages.json?To=&From=&PageSize=50: the newest
 * messages between two numbers, sent or not yet (no DateSent filter, which
 * would hide queued ones). Read with cs_twilio_find_in_list. */
void cs_twilio_build_list(cs_http_req_t *req, apr_pool_t *p,
                          const cs_twilio_account_t *a, const char *to,
                          const char *from);

#endif
