#include "domain/cs_channel.h"

#include <string.h>
#include <strings.h>

/* Why a channel cannot be used; the order is the order blockers are
 * reported in (what the customer gave us before what we set up). */
typedef enum {
    B_OK,
    B_NO_ADDRESS,
    B_OPTED_OUT,    /* SMS only */
    B_DISABLED,
    B_NOT_LISTED    /* possible, but not in the fallback order */
} blocker_t;

/* Every reason is a static string (the struct has no pool), assembled
 * from these pieces at compile time. */
#define SMS_NO_ADDR   "no phone number"
#define SMS_OPTED     "they opted out of SMS (STOP)"
#define SMS_OFF       "SMS is not set up for this client"
#define SMS_UNLISTED  "SMS is not in the fallback order"
#define MAIL_NO_ADDR  "no email address"
#define MAIL_OFF      "email is not set up for this client"
#define MAIL_UNLISTED "email is not in the fallback order"
#define NOWAY         "No way to reach them: "

/* The preferred channel (from the customer's last message or the fallback
 * order) is blocked, the other one is used. Noun phrases read as
 * "X; Y instead", sentences as "X, so y". Indexed [channel][blocker]. */
static const char *const blocked_then_other[2][4] = {
    { NULL, "No phone number; email instead",
      "They opted out of SMS (STOP), so email",
      "SMS is not set up for this client, so email" },
    { NULL, "No email address; SMS instead", NULL,
      "Email is not set up for this client, so SMS" },
};

/* Staff's override is blocked, the other channel is used. */
static const char *const override_then_other[2][4] = {
    { NULL, "You chose SMS, but there is " SMS_NO_ADDR ", so email",
      "You chose SMS, but " SMS_OPTED ", so email",
      "You chose SMS, but " SMS_OFF ", so email" },
    { NULL, "You chose email, but there is " MAIL_NO_ADDR ", so SMS", NULL,
      "You chose email, but " MAIL_OFF ", so SMS" },
};

/* Nothing possible: [sms blocker][email blocker]. Both "not listed" cannot
 * happen (the fallback order always names at least one channel). */
static const char *const none_reason[5][5] = {
    [B_NO_ADDRESS] = {
        [B_NO_ADDRESS] = NOWAY "no phone or email on file",
        [B_DISABLED]   = NOWAY SMS_NO_ADDR " and " MAIL_OFF,
        [B_NOT_LISTED] = NOWAY SMS_NO_ADDR " and " MAIL_UNLISTED,
    },
    [B_OPTED_OUT] = {
        [B_NO_ADDRESS] = NOWAY SMS_OPTED " and there is " MAIL_NO_ADDR,
        [B_DISABLED]   = NOWAY SMS_OPTED " and " MAIL_OFF,
        [B_NOT_LISTED] = NOWAY SMS_OPTED " and " MAIL_UNLISTED,
    },
    [B_DISABLED] = {
        [B_NO_ADDRESS] = NOWAY SMS_OFF " and there is " MAIL_NO_ADDR,
        [B_DISABLED]   = NOWAY "neither SMS nor email is set up for this client",
        [B_NOT_LISTED] = NOWAY SMS_OFF " and " MAIL_UNLISTED,
    },
    [B_NOT_LISTED] = {
        [B_NO_ADDRESS] = NOWAY MAIL_NO_ADDR " and " SMS_UNLISTED,
        [B_DISABLED]   = NOWAY MAIL_OFF " and " SMS_UNLISTED,
    },
};

static blocker_t blocker(const cs_channel_input_t *in, cs_channel_t ch)
{
    if (ch == CS_CH_SMS) {
        return !in->has_phone ? B_NO_ADDRESS
             : in->sms_opted_out ? B_OPTED_OUT
             : !in->sms_enabled ? B_DISABLED : B_OK;
    }
    return !in->has_email ? B_NO_ADDRESS
         : !in->email_enabled ? B_DISABLED : B_OK;
}

static cs_channel_t channel_named(const char *s, size_t len)
{
    if (len == 3 && strncasecmp(s, "sms", 3) == 0) {
        return CS_CH_SMS;
    }
    if (len == 5 && strncasecmp(s, "email", 5) == 0) {
        return CS_CH_EMAIL;
    }
    return CS_CH_NONE;
}

/* The fallback order as up to two distinct channels; returns how many. */
static int parse_order(const char *s, cs_channel_t order[2])
{
    int n = 0;

    while (s && *s && n < 2) {
        size_t len;
        cs_channel_t ch;

        s += strspn(s, " \t,;");
        len = strcspn(s, " \t,;");
        ch = channel_named(s, len);
        if (ch != CS_CH_NONE && !(n == 1 && order[0] == ch)) {
            order[n++] = ch;
        }
        s += len;
    }
    if (n == 0) {
        order[0] = CS_CH_SMS;
        order[1] = CS_CH_EMAIL;
        n = 2;
    }
    return n;
}

/* The channel the customer's last message points at, with the sentence to
 * use if it is possible; CS_CH_NONE when there is no hint. */
static cs_channel_t last_channel(const cs_channel_input_t *in,
                                 const char **preason)
{
    const char *l = in->last_inbound;

    if (!l) {
        return CS_CH_NONE;
    }
    if (strcasecmp(l, "sms") == 0) {
        *preason = "They last wrote by SMS";
        return CS_CH_SMS;
    }
    if (strcasecmp(l, "voicemail") == 0) {
        *preason = "They last left a voicemail, so SMS";
        return CS_CH_SMS;
    }
    if (strcasecmp(l, "email") == 0) {
        *preason = "They last wrote by email";
        return CS_CH_EMAIL;
    }
    if (strcasecmp(l, "form") == 0) {
        /* A form that gave only a phone number asks to be called or texted
         * back; the email address would be no use anyway. */
        if (in->has_phone && !in->has_email) {
            *preason = "They last used the web form and left only a phone number, so SMS";
            return CS_CH_SMS;
        }
        *preason = "They last used the web form, so email";
        return CS_CH_EMAIL;
    }
    return CS_CH_NONE;
}

void cs_channel_choose(cs_channel_choice_t *out, const cs_channel_input_t *in)
{
    cs_channel_t order[2], pref = CS_CH_NONE, ch;
    const char *pref_reason = NULL;
    blocker_t bs, be;
    int n, i, listed[2] = { 0, 0 };

    if (!out) {
        return;
    }
    out->channel = CS_CH_NONE;
    if (!in) {
        out->reason = "No way to reach them: nothing is known about this contact";
        return;
    }

    /* 1. Staff's choice. */
    if (in->override) {
        ch = channel_named(in->override, strlen(in->override));
        if (ch != CS_CH_NONE) {
            if (blocker(in, ch) == B_OK) {
                out->channel = ch;
                out->reason = ch == CS_CH_SMS ? "You chose SMS" : "You chose email";
                return;
            }
            /* With two channels, any fallback is the other one, so the
             * sentence can be fixed now; rules 2 and 3 decide whether it
             * is allowed. */
            pref = ch;
            pref_reason = override_then_other[ch][blocker(in, ch)];
        }
    }

    /* 2. The channel they last used. */
    {
        const char *why = NULL;

        ch = last_channel(in, &why);
        if (ch != CS_CH_NONE) {
            if (blocker(in, ch) == B_OK) {
                out->channel = ch;
                out->reason = pref_reason ? pref_reason : why;
                return;
            }
            if (pref == CS_CH_NONE) {
                pref = ch;
                pref_reason = blocked_then_other[ch][blocker(in, ch)];
            }
        }
    }

    /* 3. The fallback order. */
    n = parse_order(in->fallback_order, order);
    for (i = 0; i < n; i++) {
        listed[order[i]] = 1;
    }
    for (i = 0; i < n; i++) {
        ch = order[i];
        if (blocker(in, ch) == B_OK) {
            out->channel = ch;
            if (pref_reason) {
                out->reason = pref_reason;
            }
            else if (i == 0) {
                out->reason = ch == CS_CH_SMS
                    ? "SMS comes first in the fallback order"
                    : "Email comes first in the fallback order";
            }
            else {
                out->reason = blocked_then_other[order[0]][blocker(in, order[0])];
            }
            return;
        }
    }

    /* Nothing: say what stands in the way of each channel. */
    bs = blocker(in, CS_CH_SMS);
    be = blocker(in, CS_CH_EMAIL);
    if (bs == B_OK && !listed[CS_CH_SMS]) {
        bs = B_NOT_LISTED;
    }
    if (be == B_OK && !listed[CS_CH_EMAIL]) {
        be = B_NOT_LISTED;
    }
    out->reason = none_reason[bs][be];
    if (!out->reason) {   /* not reachable; never hand out NULL */
        out->reason = NOWAY "no usable channel";
    }
}
