/* cs_channel: the reply-channel decision, one table row per rule. */
#include "unit.h"
#include "domain/cs_channel.h"

#include <string.h>

#define SMS   CS_CH_SMS
#define EMAIL CS_CH_EMAIL
#define NONE  CS_CH_NONE

/* Shorthands for the contact/provider facts. */
enum {
    PH = 1,         /* has_phone */
    EM = 2,         /* has_email */
    OPT = 4,        /* sms_opted_out */
    SMS_ON = 8,     /* sms_enabled */
    EM_ON = 16,     /* email_enabled */
    ALL = PH | EM | SMS_ON | EM_ON
};

static const struct row {
    const char *name;
    const char *last;
    int facts;
    const char *order;
    const char *override;
    cs_channel_t want;
    const char *reason;
} rows[] = {
    /* Rule 1: the override, when possible. */
    { "override sms", "email", ALL, NULL, "sms", SMS, "You chose SMS" },
    { "override email", "sms", ALL, NULL, "email", EMAIL, "You chose email" },
    { "override is case-blind", "sms", ALL, NULL, "EMAIL", EMAIL, "You chose email" },
    { "unknown override ignored", "sms", ALL, NULL, "fax", SMS,
      "They last wrote by SMS" },
    /* Rule 1 blocked: why not, then the other channel. */
    { "override sms, opted out", "sms", ALL | OPT, NULL, "sms", EMAIL,
      "You chose SMS, but they opted out of SMS (STOP), so email" },
    { "override sms, no phone", NULL, ALL & ~PH, NULL, "sms", EMAIL,
      "You chose SMS, but there is no phone number, so email" },
    { "override sms, sms off", NULL, ALL & ~SMS_ON, NULL, "sms", EMAIL,
      "You chose SMS, but SMS is not set up for this client, so email" },
    { "override email, no email", "email", ALL & ~EM, NULL, "email", SMS,
      "You chose email, but there is no email address, so SMS" },
    { "override email, email off", NULL, ALL & ~EM_ON, NULL, "email", SMS,
      "You chose email, but email is not set up for this client, so SMS" },
    /* ...falling back through the last channel even when the order omits it. */
    { "override blocked, last channel used", "email", ALL | OPT, "sms", "sms", EMAIL,
      "You chose SMS, but they opted out of SMS (STOP), so email" },
    /* ...and through the order, which may forbid the other channel. */
    { "override blocked, other not in order", NULL, ALL | OPT, "sms", "sms", NONE,
      "No way to reach them: they opted out of SMS (STOP) and email is not in "
      "the fallback order" },
    { "override blocked, other blocked too", NULL, PH | SMS_ON | OPT | EM, NULL,
      "sms", NONE,
      "No way to reach them: they opted out of SMS (STOP) and email is not set "
      "up for this client" },

    /* Rule 2: the customer's last channel. */
    { "last sms", "sms", ALL, "email sms", NULL, SMS, "They last wrote by SMS" },
    { "last voicemail", "voicemail", ALL, "email", NULL, SMS,
      "They last left a voicemail, so SMS" },
    { "last email", "email", ALL, NULL, NULL, EMAIL, "They last wrote by email" },
    { "last form", "form", ALL, NULL, NULL, EMAIL,
      "They last used the web form, so email" },
    { "last form, phone only", "form", ALL & ~EM, "email", NULL, SMS,
      "They last used the web form and left only a phone number, so SMS" },
    { "last is case-blind", "SMS", ALL, "email", NULL, SMS, "They last wrote by SMS" },
    /* Rule 2 blocked. */
    { "last sms, opted out", "sms", ALL | OPT, NULL, NULL, EMAIL,
      "They opted out of SMS (STOP), so email" },
    { "last voicemail, sms off", "voicemail", ALL & ~SMS_ON, NULL, NULL, EMAIL,
      "SMS is not set up for this client, so email" },
    { "last email, no email", "email", ALL & ~EM, NULL, NULL, SMS,
      "No email address; SMS instead" },
    { "last email, email off", "email", ALL & ~EM_ON, NULL, NULL, SMS,
      "Email is not set up for this client, so SMS" },
    { "last form, email off", "form", ALL & ~EM_ON, NULL, NULL, SMS,
      "Email is not set up for this client, so SMS" },
    { "last sms, no phone", "sms", ALL & ~PH, NULL, NULL, EMAIL,
      "No phone number; email instead" },

    /* Rule 3: the fallback order. */
    { "no hint, default order", NULL, ALL, NULL, NULL, SMS,
      "SMS comes first in the fallback order" },
    { "unknown last is no hint", "call", ALL, NULL, NULL, SMS,
      "SMS comes first in the fallback order" },
    { "order email first", NULL, ALL, "email sms", NULL, EMAIL,
      "Email comes first in the fallback order" },
    { "order with commas and case", NULL, ALL, " Email,SMS ", NULL, EMAIL,
      "Email comes first in the fallback order" },
    { "order of junk is the default", NULL, ALL, "pigeon fax", NULL, SMS,
      "SMS comes first in the fallback order" },
    { "empty order is the default", NULL, ALL, "", NULL, SMS,
      "SMS comes first in the fallback order" },
    { "order first blocked (no phone)", NULL, ALL & ~PH, NULL, NULL, EMAIL,
      "No phone number; email instead" },
    { "order first blocked (opted out)", NULL, ALL | OPT, NULL, NULL, EMAIL,
      "They opted out of SMS (STOP), so email" },
    { "order first blocked (no email)", NULL, ALL & ~EM, "email sms", NULL, SMS,
      "No email address; SMS instead" },
    { "order lists only email, sms unused", NULL, ALL & ~EM, "email", NULL, NONE,
      "No way to reach them: no email address and SMS is not in the fallback order" },
    { "order lists only sms", NULL, ALL & ~PH, "sms", NULL, NONE,
      "No way to reach them: no phone number and email is not in the fallback order" },

    /* Nothing possible. */
    { "no contact points", "form", SMS_ON | EM_ON, NULL, NULL, NONE,
      "No way to reach them: no phone or email on file" },
    { "no contact points, override", NULL, SMS_ON | EM_ON, NULL, "email", NONE,
      "No way to reach them: no phone or email on file" },
    { "opted out, no email", "sms", PH | OPT | SMS_ON | EM_ON, NULL, NULL, NONE,
      "No way to reach them: they opted out of SMS (STOP) and there is no email address" },
    { "no phone, email off", NULL, EM | SMS_ON, NULL, NULL, NONE,
      "No way to reach them: no phone number and email is not set up for this client" },
    { "sms off, no email", NULL, PH | EM_ON, NULL, NULL, NONE,
      "No way to reach them: SMS is not set up for this client and there is no "
      "email address" },
    { "no providers", "sms", PH | EM, NULL, NULL, NONE,
      "No way to reach them: neither SMS nor email is set up for this client" },
    { "sms off, email not listed", NULL, ALL & ~SMS_ON, "sms", NULL, NONE,
      "No way to reach them: SMS is not set up for this client and email is not "
      "in the fallback order" },
    { "email off, sms not listed", NULL, ALL & ~EM_ON, "email", NULL, NONE,
      "No way to reach them: email is not set up for this client and SMS is not "
      "in the fallback order" },
};

START_TEST(test_channel_table)
{
    const struct row *r = &rows[_i];
    cs_channel_input_t in;
    cs_channel_choice_t out = { CS_CH_NONE, NULL };

    memset(&in, 0, sizeof(in));
    in.last_inbound = r->last;
    in.has_phone = !!(r->facts & PH);
    in.has_email = !!(r->facts & EM);
    in.sms_opted_out = !!(r->facts & OPT);
    in.sms_enabled = !!(r->facts & SMS_ON);
    in.email_enabled = !!(r->facts & EM_ON);
    in.fallback_order = r->order;
    in.override = r->override;
    cs_channel_choose(&out, &in);
    ck_assert_msg(out.channel == r->want, "%s: channel %d, want %d",
                  r->name, (int)out.channel, (int)r->want);
    ck_assert_ptr_nonnull(out.reason);
    ck_assert_msg(strcmp(out.reason, r->reason) == 0, "%s: reason \"%s\", want \"%s\"",
                  r->name, out.reason, r->reason);
}
END_TEST

START_TEST(test_channel_null_input_is_none_with_reason)
{
    cs_channel_choice_t out = { CS_CH_SMS, NULL };

    cs_channel_choose(&out, NULL);
    ck_assert_int_eq(out.channel, CS_CH_NONE);
    ck_assert_ptr_nonnull(out.reason);
    cs_channel_choose(NULL, NULL);   /* must not crash */
}
END_TEST

/* Every combination of facts, hints and overrides yields a reason, and the
 * chosen channel is always a possible one. */
START_TEST(test_channel_exhaustive_invariants)
{
    static const char *const lasts[] = { NULL, "sms", "voicemail", "form", "email", "x" };
    static const char *const orders[] = { NULL, "sms", "email", "email sms", "sms email" };
    static const char *const overrides[] = { NULL, "sms", "email" };
    int facts;
    size_t a, b, c;

    for (facts = 0; facts < 32; facts++) {
        for (a = 0; a < sizeof(lasts) / sizeof(lasts[0]); a++) {
            for (b = 0; b < sizeof(orders) / sizeof(orders[0]); b++) {
                for (c = 0; c < sizeof(overrides) / sizeof(overrides[0]); c++) {
                    cs_channel_input_t in;
                    cs_channel_choice_t out;

                    memset(&in, 0, sizeof(in));
                    in.last_inbound = lasts[a];
                    in.has_phone = !!(facts & PH);
                    in.has_email = !!(facts & EM);
                    in.sms_opted_out = !!(facts & OPT);
                    in.sms_enabled = !!(facts & SMS_ON);
                    in.email_enabled = !!(facts & EM_ON);
                    in.fallback_order = orders[b];
                    in.override = overrides[c];
                    cs_channel_choose(&out, &in);
                    ck_assert_ptr_nonnull(out.reason);
                    ck_assert(*out.reason);
                    if (out.channel == CS_CH_SMS) {
                        ck_assert(in.has_phone && in.sms_enabled && !in.sms_opted_out);
                    }
                    else if (out.channel == CS_CH_EMAIL) {
                        ck_assert(in.has_email && in.email_enabled);
                    }
                    else {
                        ck_assert_int_eq(out.channel, CS_CH_NONE);
                        ck_assert(strncmp(out.reason, "No way to reach them: ", 22) == 0);
                    }
                }
            }
        }
    }
}
END_TEST

Suite *channel_suite(void)
{
    Suite *s = suite_create("cs_channel");
    TCase *tc = tcase_create("choose");

    tcase_add_loop_test(tc, test_channel_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
    tcase_add_test(tc, test_channel_null_input_is_none_with_reason);
    tcase_add_test(tc, test_channel_exhaustive_invariants);
    suite_add_tcase(s, tc);
    return s;
}
