/**
 * @file cs_channel.h
 * @brief The one place that decides how a reply reaches a customer: SMS or
 * email, or neither, with a sentence staff can read saying why.
 */
#ifndef CS_CHANNEL_H
#define CS_CHANNEL_H

/** A way to reach a customer. */
typedef enum {
    CS_CH_SMS,
    CS_CH_EMAIL,
    CS_CH_NONE      /**< no usable channel; the reason says what is missing */
} cs_channel_t;

/** What is known about the customer and the client's setup. */
typedef struct {
    /** Channel the customer last used: "sms", "voicemail", "form",
     * "email" (case-insensitive); anything else or NULL is no hint. */
    const char *last_inbound;
    int has_phone, has_email;       /**< contact points known */
    int sms_opted_out;              /**< the contact sent STOP */
    int sms_enabled, email_enabled; /**< provider configured for this client */
    /** Channels to fall back on, in order, separated by spaces or commas:
     * "sms email", "email". Unknown words are ignored; NULL, or no known
     * word, means "sms email". */
    const char *fallback_order;
    /** Staff's choice in the composer: "sms", "email" or NULL. */
    const char *override;
} cs_channel_input_t;

/** The decision. */
typedef struct {
    cs_channel_t channel;
    /** Why this channel, or why none, as a sentence for staff. Always a
     * static string (never NULL). */
    const char *reason;
} cs_channel_choice_t;

/**
 * Pick the reply channel.
 *
 * A channel is possible when its address is known (has_phone / has_email),
 * its provider is enabled for the client, and, for SMS, the contact has not
 * opted out. Then, first rule that gives a possible channel wins:
 *
 * 1. @c override ("sms"/"email"), when possible. When it is not, the reason
 *    says why ("You chose SMS, but they opted out of SMS (STOP), so email")
 *    and the choice continues with rules 2 and 3.
 * 2. The channel the customer last used: "sms" and "voicemail" mean SMS,
 *    "email" means email, "form" means email unless the form left only a
 *    phone number (has_phone && !has_email), then SMS.
 * 3. The first possible channel of @c fallback_order. Channels not listed
 *    there are never used by this rule (a client that configures "email"
 *    does not want unrequested texts), although rules 1 and 2 may still
 *    pick them.
 *
 * When a preferred channel (rule 1 or 2, or the first of the fallback
 * order) is blocked, the reason names the first blocker in this order: no
 * address, opted out, provider not set up. When nothing is possible the
 * channel is CS_CH_NONE and the reason lists what blocks each channel
 * ("No way to reach them: no phone or email on file").
 *
 * @param out receives the decision (nothing happens if NULL)
 * @param in  the facts; NULL gives CS_CH_NONE
 */
void cs_channel_choose(cs_channel_choice_t *out, const cs_channel_input_t *in);

#endif
