/* cs_classify: the builtin classifier (generated model + rules), the
 * vertical hint, its extractors, tokenizer and JSON form. The sentences are written for these
 * tests, not taken from the training data. */
#include "unit.h"
#include "classify/cs_classify.h"
#include "classify/cs_classify_model.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <string.h>

static cs_classification_t *classify(const char *text)
{
    cs_classification_t *c = cs_classify_builtin(unit_pool, text);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* @p text as received by a client of @p vertical (NULL: unknown). */
static cs_classification_t *classify_for(const char *text, const char *vertical)
{
    cs_classify_opts_t opts = { .vertical = vertical };
    cs_classification_t *c = cs_classify_builtin_opts(unit_pool, text, &opts);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Every result is well formed, whatever the input. */
static void assert_valid(const cs_classification_t *c)
{
    int i;

    ck_assert_int_ge(cs_intent_index(c->intent), 0);
    ck_assert_int_ge(cs_urgency_index(c->urgency), 0);
    ck_assert_msg(c->confidence >= 0.0 && c->confidence <= 1.0,
                  "confidence %f out of range", c->confidence);
    ck_assert_msg(c->urgency_confidence >= 0.0 && c->urgency_confidence <= 1.0,
                  "urgency_confidence %f out of range", c->urgency_confidence);
    ck_assert_ptr_nonnull(c->lang);
    ck_assert(!strcmp(c->lang, "en") || !strcmp(c->lang, "es"));
    ck_assert_str_eq(c->backend, "builtin");
    ck_assert_ptr_null(c->fallback);
    ck_assert_ptr_nonnull(c->when);
    for (i = 0; i < c->when->nelts; i++) {
        ck_assert_ptr_nonnull(APR_ARRAY_IDX(c->when, i, const char *));
    }
}

#define ASSERT_INTENT(text, want) do {                                        \
        cs_classification_t *c_ = classify(text);                             \
        assert_valid(c_);                                                     \
        ck_assert_msg(!strcmp(c_->intent, (want)),                            \
                      "'%s': intent %s (%.2f), expected %s", (text),          \
                      c_->intent, c_->confidence, (want));                    \
    } while (0)

#define ASSERT_URGENCY(text, want) do {                                       \
        cs_classification_t *c_ = classify(text);                             \
        assert_valid(c_);                                                     \
        ck_assert_msg(!strcmp(c_->urgency, (want)),                           \
                      "'%s': urgency %s, expected %s", (text), c_->urgency,   \
                      (want));                                                \
    } while (0)

#define ASSERT_BUDGET(text, want) do {                                        \
        cs_classification_t *c_ = classify(text);                             \
        ck_assert_msg(c_->budget && !strcmp(c_->budget, (want)),              \
                      "'%s': budget '%s', expected '%s'", (text),             \
                      c_->budget ? c_->budget : "(null)", (want));            \
    } while (0)

#define ASSERT_NO_BUDGET(text) do {                                           \
        cs_classification_t *c_ = classify(text);                             \
        ck_assert_msg(c_->budget == NULL, "'%s': unexpected budget '%s'",     \
                      (text), c_->budget);                                    \
    } while (0)

#define ASSERT_SERVICE(text, want) do {                                       \
        cs_classification_t *c_ = classify(text);                             \
        ck_assert_msg(c_->service && !strcmp(c_->service, (want)),            \
                      "'%s': service '%s', expected '%s'", (text),            \
                      c_->service ? c_->service : "(null)", (want));          \
    } while (0)

/* The "when" list of @p text joined with " | ". */
static const char *when_of(const char *text)
{
    cs_classification_t *c = classify(text);
    const char *s = "";
    int i;

    for (i = 0; i < c->when->nelts; i++) {
        s = apr_pstrcat(unit_pool, s, i ? " | " : "",
                        APR_ARRAY_IDX(c->when, i, const char *), NULL);
    }
    return s;
}

#define ASSERT_WHEN(text, want) do {                                          \
        const char *w_ = when_of(text);                                       \
        ck_assert_msg(!strcmp(w_, (want)), "'%s': when '%s', expected '%s'",  \
                      (text), w_, (want));                                    \
    } while (0)

/* ---- intents --------------------------------------------------------------- */

START_TEST(test_english_intents)
{
    ASSERT_INTENT("How much would you charge to pressure wash a two car driveway "
                  "and the front walk?", "quote_request");
    ASSERT_INTENT("Can I get an estimate for hauling away a broken treadmill and an "
                  "old dresser?", "quote_request");
    ASSERT_INTENT("Please book me for a haircut on Thursday at 4pm if you have an "
                  "opening.", "booking_request");
    ASSERT_INTENT("I'd like to schedule a deep cleaning for next Monday morning.",
                  "booking_request");
    ASSERT_INTENT("Do you guys have gluten free muffins?", "question");
    ASSERT_INTENT("What time do you close on Sundays?", "question");
    ASSERT_INTENT("The cleaners left the bathroom dirty and were rude to my mother. "
                  "Very disappointed with the service.", "complaint");
    ASSERT_INTENT("My order #5521 arrived missing two sandwiches and the drinks were "
                  "wrong.", "order_issue");
    ASSERT_INTENT("Are you hiring? I have three years of experience as a line cook "
                  "and can start next week.", "job_inquiry");
    ASSERT_INTENT("Just wanted to say thank you, the team did an amazing job on our "
                  "yard. Keep it up!", "other");
}
END_TEST

START_TEST(test_spanish_intents)
{
    ASSERT_INTENT("Cuánto me cobrarían por llevarse un colchón y una lavadora vieja?",
                  "quote_request");
    ASSERT_INTENT("Quisiera agendar una cita para corte de pelo el sábado a las 11.",
                  "booking_request");
    ASSERT_INTENT("¿A qué hora abren los domingos?", "question");
    ASSERT_INTENT("Los de la mudanza rayaron mi mesa y nadie me ha llamado, estoy muy "
                  "molesta.", "complaint");
    ASSERT_INTENT("Mi pedido llegó incompleto, faltan dos tamales y el café estaba frío.",
                  "order_issue");
    ASSERT_INTENT("Hola, ¿están contratando? Busco trabajo de medio tiempo en limpieza.",
                  "job_inquiry");
    ASSERT_INTENT("Préstamos rápidos sin revisión de crédito, aprobación inmediata: "
                  "prestamos-ya.biz", "spam");
}
END_TEST

START_TEST(test_spam_with_links_is_spam_and_low_urgency)
{
    static const char *const spam[] = {
        "Your account has been suspended! Verify your identity now at "
        "http://secure-verify-account.top/login",
        "Get 1st page of Google in 7 days, guaranteed SEO results. bit.ly/3seoNow",
        "URGENT!!! claim your free iPhone today: https://free-prize-winner.xyz",
        "Gana dinero desde casa con criptomonedas!!! Únete aquí: cripto-rapido.site",
        "Продвижение сайтов недорого! Пишите: http://seo-promo.ru",
    };
    size_t i;

    for (i = 0; i < sizeof(spam) / sizeof(spam[0]); i++) {
        cs_classification_t *c = classify(spam[i]);
        assert_valid(c);
        ck_assert_msg(!strcmp(c->intent, "spam"), "'%s': intent %s", spam[i], c->intent);
        ck_assert_msg(!strcmp(c->urgency, "low"), "'%s': urgency %s", spam[i], c->urgency);
        ck_assert_ptr_null(c->service);
        ck_assert_ptr_null(c->budget);
    }
}
END_TEST

START_TEST(test_mashed_keys_are_spam)
{
    ASSERT_INTENT("sdfg hjkl qwrt zxcv", "spam");
}
END_TEST

/* The ordinary mail of a business client: suppliers, partners, invoices,
 * payments, compliance questions. None of it may be hidden as spam,
 * whether or not the client's vertical is known. */
START_TEST(test_b2b_mail_is_not_spam)
{
    static const struct {
        const char *text, *vertical;
    } mail[] = {
        { "Hello, this is Nora from Hilltop Roasters, a small roastery across the river. "
          "We'd like to supply beans to your cafe and can bring a few sample bags and our "
          "wholesale price sheet on Thursday. Would the morning work for your manager?",
          "coffee_shop" },
        { "Hi, I own the bike shop next door. Would you be interested in a joint summer "
          "promotion: our customers get a free coffee with a tune-up and yours get 10% off "
          "rentals? Happy to talk this week.", "coffee_shop" },
        { "Good morning, please find attached invoice 4471 for the October linen "
          "deliveries, net 30 as agreed. Thanks, Paula - Riverside Linen Co.", "restaurant" },
        { "Remittance advice: our payment of $2,450.00 for invoice 318 was sent by ACH "
          "today. - Accounts Payable, Maple Grove Clinic", "cleaning" },
        { "Before we sign, can you confirm your team will sign our data processing "
          "agreement and that all data stays in US data centers?", "data_analytics" },
        { "Hi, this is Owen from Brightpath Design. We have two clients who need "
          "developers next quarter and would like to explore a partnership with your "
          "studio. Could we meet for lunch next week?", "web_dev" },
    };
    size_t i;

    for (i = 0; i < sizeof(mail) / sizeof(mail[0]); i++) {
        cs_classification_t *c = classify(mail[i].text);
        assert_valid(c);
        ck_assert_msg(strcmp(c->intent, "spam"), "'%s': spam", mail[i].text);
        c = classify_for(mail[i].text, mail[i].vertical);
        assert_valid(c);
        ck_assert_msg(strcmp(c->intent, "spam"), "'%s' (%s): spam", mail[i].text,
                      mail[i].vertical);
    }
    ASSERT_INTENT("Before we sign, can you confirm your team will sign our data processing "
                  "agreement and that all data stays in US data centers?", "question");
}
END_TEST

START_TEST(test_seo_spam_is_spam_for_every_vertical)
{
    static const char *const spam[] = {
        "Hi, I checked your website and it is not on the first page of Google. Our SEO "
        "experts guarantee page 1 rankings in 30 days with high quality backlinks. Reply "
        "for a free audit!",
        "We sell dofollow guest posts and backlinks on high DA sites. Boost your rankings "
        "fast, 100% guaranteed: seo-links-cheap.xyz",
    };
    static const char *const verticals[] = {
        NULL, "marketing_agency", "web_dev", "barber", "coffee_shop"
    };
    size_t i, k;

    for (i = 0; i < sizeof(spam) / sizeof(spam[0]); i++) {
        for (k = 0; k < sizeof(verticals) / sizeof(verticals[0]); k++) {
            cs_classification_t *c = classify_for(spam[i], verticals[k]);
            assert_valid(c);
            ck_assert_msg(!strcmp(c->intent, "spam"), "'%s' (%s): intent %s", spam[i],
                          verticals[k] ? verticals[k] : "no vertical", c->intent);
            ck_assert_str_eq(c->urgency, "low");
        }
    }
}
END_TEST

/* "SEO", "Google Ads" and "reviews" are a marketing agency's trade and a
 * barber's sales pitch: the same request is a lead for one and not the
 * other. */
START_TEST(test_vertical_hint_decides_a_borderline_case)
{
    const char *text = "Looking for help with SEO and Google Ads for our bakery. Can you "
                       "send your monthly rates?";
    cs_classification_t *agency = classify_for(text, "marketing_agency");
    cs_classification_t *barber = classify_for(text, "barber");

    assert_valid(agency);
    assert_valid(barber);
    ck_assert_str_eq(agency->intent, "quote_request");
    ck_assert_str_ne(agency->urgency, "low");
    ck_assert_str_eq(barber->intent, "spam");
    /* spelling of the name does not matter */
    ck_assert_str_eq(classify_for(text, "Marketing Agency")->intent, "quote_request");
    ck_assert_str_eq(classify_for(text, "marketing-agency")->intent, "quote_request");
}
END_TEST

/* No vertical, an unknown one and cs_classify_builtin answer alike. */
START_TEST(test_unknown_vertical_is_no_vertical)
{
    static const char *const texts[] = {
        "Looking for help with SEO and Google Ads for our bakery. Can you send your "
        "monthly rates?",
        "burst pipe flooding the kitchen, come today",
        "Verify your account: http://secure-login.top",
    };
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *plain = cs_classification_json(unit_pool, classify(texts[i]));
        ck_assert_str_eq(cs_classification_json(unit_pool, classify_for(texts[i], NULL)),
                         plain);
        ck_assert_str_eq(cs_classification_json(unit_pool, classify_for(texts[i],
                                                                        "florist")), plain);
        ck_assert_str_eq(cs_classification_json(unit_pool,
                                                cs_classify_builtin_opts(unit_pool, texts[i],
                                                                         NULL)), plain);
    }
    ck_assert_int_eq(cs_vertical_index("web_dev"), CS_VERTICAL_WEB_DEV);
    ck_assert_int_eq(cs_vertical_index("Coffee Shop"), CS_VERTICAL_COFFEE_SHOP);
    ck_assert_int_eq(cs_vertical_index("junk-hauler"), CS_VERTICAL_JUNK_REMOVAL);
    ck_assert_int_eq(cs_vertical_index("Taqueria"), CS_VERTICAL_RESTAURANT);
    ck_assert_int_eq(cs_vertical_index("coffee"), -1);
    ck_assert_int_eq(cs_vertical_index("web_dev_"), -1);
    ck_assert_int_eq(cs_vertical_index(""), -1);
    ck_assert_int_eq(cs_vertical_index(NULL), -1);
}
END_TEST

/* ---- urgency --------------------------------------------------------------- */

/* A client's site, shop or dashboard going down is urgent, and never spam. */
START_TEST(test_outage_report_is_high_urgency)
{
    static const struct {
        const char *text, *vertical;
    } outages[] = {
        { "Our website is down since 8am and customers can't check out. Please call me "
          "as soon as possible.", "web_dev" },
        { "the sales dashboard is broken and our board meeting is in 2 hours, can someone "
          "fix it now?", "data_analytics" },
    };
    size_t i;

    for (i = 0; i < sizeof(outages) / sizeof(outages[0]); i++) {
        cs_classification_t *c = classify_for(outages[i].text, outages[i].vertical);
        assert_valid(c);
        ck_assert_msg(!strcmp(c->urgency, "high"), "'%s': urgency %s", outages[i].text,
                      c->urgency);
        ck_assert_msg(!strcmp(c->intent, "order_issue"), "'%s': intent %s",
                      outages[i].text, c->intent);
        ASSERT_URGENCY(outages[i].text, "high");
    }
}
END_TEST

START_TEST(test_spanish_urgent_is_high)
{
    ASSERT_URGENCY("Se cayó la página y no podemos cobrar en línea, es urgente, por favor "
                   "ayúdenos hoy.", "high");
    ASSERT_URGENCY("Urgente: se inundó la cocina del restaurante por una tubería rota, "
                   "necesitamos ayuda ahorita.", "high");
    ck_assert_str_eq(classify_for("Se cayó la página y no podemos cobrar en línea, es "
                                  "urgente, por favor ayúdenos hoy.", "web_dev")->urgency,
                     "high");
}
END_TEST

START_TEST(test_burst_pipe_is_high_urgency)
{
    ASSERT_URGENCY("burst pipe flooding the kitchen", "high");
    ASSERT_URGENCY("Help, burst pipe flooding the kitchen, water everywhere!", "high");
    ASSERT_URGENCY("se reventó un tubo y se está inundando la cocina, urgente", "high");
    ASSERT_URGENCY("I'm locked out of my shop and we open in 20 minutes, need someone "
                   "asap", "high");
}
END_TEST

START_TEST(test_calm_messages_are_low_urgency)
{
    ASSERT_URGENCY("No rush at all, but whenever you get a chance could you send prices "
                   "for gutter cleaning this fall?", "low");
    ASSERT_URGENCY("Sin prisa, solo quería saber cuánto cuesta podar dos árboles el "
                   "próximo invierno.", "low");
}
END_TEST

START_TEST(test_negated_urgency_is_not_high)
{
    cs_classification_t *c = classify("Not urgent at all, just curious what you charge "
                                      "for a fade sometime next month.");
    assert_valid(c);
    ck_assert_str_ne(c->urgency, "high");
}
END_TEST

/* ---- extraction ------------------------------------------------------------- */

START_TEST(test_budget_amounts_as_typed)
{
    ASSERT_BUDGET("can you do it for $500?", "$500");
    ASSERT_BUDGET("Moving a 2 bedroom apartment, I can spend about 500 dollars", "500 dollars");
    ASSERT_BUDGET("tengo 300 dólares para la mudanza", "300 dólares");
    ASSERT_BUDGET("our budget around 2k for the whole party", "2k");
    ASSERT_BUDGET("Budget is $1,200 max", "$1,200");
    ASSERT_BUDGET("presupuesto de 800 para el pastel", "800");
    ASSERT_BUDGET("we were quoted like three hundred bucks elsewhere", "three hundred bucks");
}
END_TEST

START_TEST(test_budget_ignores_counts_phones_and_times)
{
    ASSERT_NO_BUDGET("catering for 40 people on Saturday, call 555-201-3344");
    ASSERT_NO_BUDGET("2 bedroom apartment, 900 sq ft, 3rd floor");
    ASSERT_NO_BUDGET("can you come at 5?");
    ASSERT_NO_BUDGET("");
}
END_TEST

START_TEST(test_when_dates_and_times)
{
    ASSERT_WHEN("could you come next Tuesday at 10am?", "next Tuesday | at 10am");
    ASSERT_WHEN("the party is on 3/14 around 3:30 pm", "3/14 | around 3:30 pm");
    ASSERT_WHEN("el 14 de marzo a las 3", "14 de marzo | a las 3");
    ASSERT_WHEN("pasado mañana al mediodía", "pasado mañana | mediodía");
    ASSERT_WHEN("hoy o mañana en la tarde", "hoy | mañana en la tarde");
    ASSERT_WHEN("tomorrow at noon works", "tomorrow | noon");
    ASSERT_WHEN("tonight if possible", "tonight");
    ASSERT_WHEN("a las 10 de la mañana", "a las 10 de la mañana");
    ASSERT_WHEN("el sábado", "sábado");
    ASSERT_WHEN("for June 8th please", "June 8th");
    ASSERT_WHEN("call me at 555-201-3344, open 24/7 right?", "");
    ASSERT_WHEN("for 40 people at 5 locations", "");
}
END_TEST

START_TEST(test_service_gazetteer)
{
    ASSERT_SERVICE("how much to haul away an old couch this saturday?", "couch removal");
    ASSERT_SERVICE("¿Pueden llevarse un sillón viejo?", "couch removal");
    ASSERT_SERVICE("need a deep clean before my in-laws visit", "deep cleaning");
    ASSERT_SERVICE("limpieza profunda de un departamento", "deep cleaning");
    ASSERT_SERVICE("move-out cleaning for a 1br", "move-out cleaning");
    ASSERT_SERVICE("can I get a skin fade at 3?", "fade");
    ASSERT_SERVICE("just a beard trim", "beard trim");
    ASSERT_SERVICE("corte de pelo para mi hijo", "haircut");
    ASSERT_SERVICE("catering for 60 guests", "catering");
    ASSERT_SERVICE("quiero un pastel de tres leches", "cake");
    ASSERT_SERVICE("the kitchen drain is clogged again", "drain cleaning");
    ASSERT_SERVICE("weekly lawn mowing", "lawn mowing");
    ASSERT_SERVICE("full interior and exterior detail on my truck", "detailing");
    ASSERT_SERVICE("we have a bunch of junk in the garage", "junk removal");
    {
        cs_classification_t *c = classify("what time do you open?");
        ck_assert_ptr_null(c->service);
    }
}
END_TEST

START_TEST(test_lang_guess)
{
    ck_assert_str_eq(classify("Hi, do you have any openings this week?")->lang, "en");
    ck_assert_str_eq(classify("Hola, ¿tienen espacio esta semana para una limpieza?")->lang,
                     "es");
    ck_assert_str_eq(classify("necesito q me corten el pelo")->lang, "es");
    ck_assert_str_eq(classify("")->lang, "en");
}
END_TEST

/* ---- robustness --------------------------------------------------------------- */

START_TEST(test_empty_and_null_input)
{
    cs_classification_t *c = classify("");
    assert_valid(c);
    ck_assert_str_eq(c->intent, "other");
    ck_assert_int_eq(c->when->nelts, 0);
    ck_assert_ptr_null(c->budget);
    ck_assert_ptr_null(c->service);
    assert_valid(classify(NULL));
    assert_valid(classify("   \t\r\n  "));
    assert_valid(classify("?!.,;:-_()[]{}"));
    assert_valid(classify("12345 678 90"));
}
END_TEST

START_TEST(test_invalid_utf8_and_binary_input)
{
    char bin[256];
    int i;

    /* every byte value but NUL, in order and reversed */
    for (i = 1; i < 256; i++) {
        bin[i - 1] = (char)i;
    }
    bin[255] = '\0';
    assert_valid(classify(bin));
    for (i = 0; i < 255; i++) {
        bin[i] = (char)(255 - i);
    }
    assert_valid(classify(bin));
    assert_valid(classify("caf\xc3"));                   /* truncated sequence */
    assert_valid(classify("\xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80"));
    assert_valid(classify("\xff\xfe\xfd $ \x80\x80 http:// www. @ .com"));
    assert_valid(classify("🔥🔥🔥 😘 🙏"));
    assert_valid(classify("日本語のテキストだけです"));
}
END_TEST

START_TEST(test_huge_input)
{
    /* 1 MB of words, a 200 KB token without separators, many links */
    const char *words = unit_repeat(unit_pool, "please call about the leak today $5 ", 30000);
    const char *token = unit_repeat(unit_pool, "abcdefghij", 20000);
    const char *links = unit_repeat(unit_pool, "http://a.co/x ", 5000);
    const char *digits = unit_repeat(unit_pool, "1/2 3:4 ", 10000);

    assert_valid(classify(words));
    assert_valid(classify(token));
    assert_valid(classify(links));
    assert_valid(classify(digits));
}
END_TEST

START_TEST(test_confidence_is_a_probability)
{
    static const char *const texts[] = {
        "hi", "ok", "$$$", "Tuesday", "www.example.com", "a@b.co",
        "How much for a cake for 20 people?", "necesito ayuda urgente",
    };
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_valid(classify(texts[i]));
    }
}
END_TEST

typedef struct {
    const char *text;
    const char *json;
} job_t;

static void *APR_THREAD_FUNC classify_thread(apr_thread_t *t, void *data)
{
    job_t *jobs = data;
    apr_pool_t *p;
    int round, i;

    apr_pool_create(&p, NULL);
    for (round = 0; round < 20; round++) {
        for (i = 0; jobs[i].text; i++) {
            const char *j = cs_classification_json(p, cs_classify_builtin(p, jobs[i].text));
            if (strcmp(j, jobs[i].json)) {
                apr_pool_destroy(p);
                apr_thread_exit(t, APR_EGENERAL);
                return NULL;
            }
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(test_concurrent_calls_agree)
{
    job_t jobs[] = {
        { "burst pipe flooding the kitchen, come today", NULL },
        { "Cuánto cuesta un pastel para 30 personas el sábado? tengo 500 pesos", NULL },
        { "Verify your account: http://secure-login.top", NULL },
        { "Do you sell gift cards?", NULL },
        { NULL, NULL }
    };
    apr_thread_t *th[4];
    apr_status_t rv;
    int i;

    for (i = 0; jobs[i].text; i++) {
        jobs[i].json = cs_classification_json(unit_pool,
                                              cs_classify_builtin(unit_pool, jobs[i].text));
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, classify_thread, jobs, unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_join(&rv, th[i]), APR_SUCCESS);
        ck_assert_int_eq(rv, APR_SUCCESS);
    }
}
END_TEST

/* ---- tokenizer ---------------------------------------------------------------- */

START_TEST(test_tokenizer_folds_case_and_accents)
{
    cs_clf_doc_t *d = cs_clf_analyze(unit_pool, "MAÑANA Café ÜBER señor don't $500");
    const char *want[] = { "manana", "cafe", "uber", "senor", "dont", "$500" };
    int i;

    ck_assert_int_eq(d->ntoks, 6);
    for (i = 0; i < 6; i++) {
        ck_assert_str_eq(d->toks[i].text, want[i]);
        ck_assert_int_eq(d->toks[i].kind, CS_TOK_WORD);
    }
    /* spans map back to the text as typed */
    ck_assert_str_eq(cs_clf_orig_span(unit_pool, d, d->toks[0].start, d->toks[0].end),
                     "MAÑANA");
    ck_assert_str_eq(cs_clf_orig_span(unit_pool, d, d->toks[1].start, d->toks[1].end),
                     "Café");
}
END_TEST

START_TEST(test_tokenizer_links_and_addresses)
{
    cs_clf_doc_t *d = cs_clf_analyze(unit_pool,
        "see bit.ly/abc, https://Example.com/x?y=1 and www.shop.net; mail me at "
        "ann@example.org. Photos: instagram.com/ann (3.5 stars, e.g. fine)");

    ck_assert_int_eq(d->info.urls, 3);
    ck_assert_int_eq(d->info.short_urls, 1);
    ck_assert_int_eq(d->info.emails, 1);
    ck_assert_int_eq(d->info.profile_links, 1);
}
END_TEST

START_TEST(test_features_are_deterministic_and_bounded)
{
    const char *text = "Necesito una limpieza profunda mañana, urgente!!";
    cs_clf_raw_t *r1, *r2;
    int n1, n2, i;

    n1 = cs_clf_raw_features(unit_pool, cs_clf_analyze(unit_pool, text), 16, &r1);
    n2 = cs_clf_raw_features(unit_pool, cs_clf_analyze(unit_pool, text), 16, &r2);
    ck_assert_int_gt(n1, 0);
    ck_assert_int_eq(n1, n2);
    for (i = 0; i < n1; i++) {
        ck_assert_uint_eq(r1[i].bucket, r2[i].bucket);
        ck_assert_uint_eq(r1[i].kind, r2[i].kind);
        ck_assert_uint_lt(r1[i].bucket, 1u << 16);
        ck_assert(r1[i].count == r2[i].count);
    }
    ck_assert_uint_eq(cs_clf_fnv1a(2166136261u, "a", 1), 0xe40c292cu);
}
END_TEST

/* ---- JSON and labels -------------------------------------------------------------- */

START_TEST(test_json_shape)
{
    cs_classification_t *c = classify("Can you haul away a couch next Tuesday at 10am? "
                                      "Budget $150");
    const char *s = cs_classification_json(unit_pool, c), *err = NULL;
    static const char *const keys[] = {
        "intent", "urgency", "confidence", "urgency_confidence", "service", "when",
        "budget", "lang", "backend", "fallback"
    };
    cs_json_t *j;
    json_object *o, *v;
    size_t i;

    ck_assert_int_eq(cs_json_parse(&j, unit_pool, s, strlen(s), &err), APR_SUCCESS);
    o = cs_json_raw(j);
    ck_assert_int_eq(json_object_object_length(o), 10);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ck_assert_msg(json_object_object_get_ex(o, keys[i], &v), "missing %s", keys[i]);
    }
    ck_assert_str_eq(cs_json_get_str(j, "intent"), c->intent);
    ck_assert_str_eq(cs_json_get_str(j, "urgency"), c->urgency);
    ck_assert_str_eq(cs_json_get_str(j, "service"), "couch removal");
    ck_assert_str_eq(cs_json_get_str(j, "budget"), "$150");
    ck_assert_str_eq(cs_json_get_str(j, "backend"), "builtin");
    json_object_object_get_ex(o, "confidence", &v);
    ck_assert(json_object_is_type(v, json_type_double));
    ck_assert(json_object_get_double(v) >= 0.0 && json_object_get_double(v) <= 1.0);
    json_object_object_get_ex(o, "when", &v);
    ck_assert(json_object_is_type(v, json_type_array));
    ck_assert_int_eq(json_object_array_length(v), 2);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "next Tuesday");
    json_object_object_get_ex(o, "fallback", &v);
    ck_assert_ptr_null(v);   /* JSON null */
    /* probabilities are short decimals, not 17 digits */
    ck_assert_msg(strlen(s) < 400, "%s", s);
}
END_TEST

START_TEST(test_json_absent_fields_are_null)
{
    cs_classification_t c;
    const char *s;

    memset(&c, 0, sizeof(c));
    c.intent = "question";
    c.urgency = "normal";
    c.confidence = 0.5;
    c.urgency_confidence = 2.0;     /* clamped */
    c.lang = "en";
    c.backend = "llm";
    c.fallback = "said \"hi\"";
    s = cs_classification_json(unit_pool, &c);
    ck_assert_str_eq(s, "{\"intent\":\"question\",\"urgency\":\"normal\",\"confidence\":0.5,"
                        "\"urgency_confidence\":1.0,\"service\":null,\"when\":null,"
                        "\"budget\":null,\"lang\":\"en\",\"backend\":\"llm\","
                        "\"fallback\":\"said \\\"hi\\\"\"}");
}
END_TEST

START_TEST(test_label_indexes)
{
    static const char *const intents[] = CS_INTENTS;
    static const char *const urgencies[] = CS_URGENCIES;
    int i;

    for (i = 0; i < CS_N_INTENTS; i++) {
        ck_assert_int_eq(cs_intent_index(intents[i]), i);
    }
    for (i = 0; i < CS_N_URGENCIES; i++) {
        ck_assert_int_eq(cs_urgency_index(urgencies[i]), i);
    }
    ck_assert_int_eq(cs_intent_index("Spam"), -1);
    ck_assert_int_eq(cs_intent_index(""), -1);
    ck_assert_int_eq(cs_intent_index(NULL), -1);
    ck_assert_int_eq(cs_urgency_index("urgent"), -1);
    ck_assert_int_eq(cs_urgency_index(NULL), -1);
    /* the enums name the same positions */
    ck_assert_int_eq(cs_intent_index("spam"), CS_INTENT_SPAM);
    ck_assert_int_eq(cs_intent_index("other"), CS_INTENT_OTHER);
    ck_assert_int_eq(cs_urgency_index("high"), CS_URGENCY_HIGH);
    ck_assert_int_eq(cs_urgency_index("low"), CS_URGENCY_LOW);
    ck_assert_str_eq(cs_intent_name(CS_INTENT_ORDER_ISSUE), "order_issue");
    ck_assert_str_eq(cs_urgency_name(CS_URGENCY_NORMAL), "normal");
    ck_assert_str_eq(cs_intent_name((cs_intent_t)99), "other");
}
END_TEST

START_TEST(test_head_bias_shifts_tempered_scores)
{
    /* A tiny head: two buckets, two classes; the bias is added after the
     * temperature, so it is a decision threshold in log-odds. */
    static const int16_t w[] = { 10, -10, -10, 10 };
    cs_clf_head_t h;
    cs_clf_feat_t x[1] = { { 0, 1.0 } };
    double prob[CS_CLF_MAX_CLASSES], logit[CS_CLF_MAX_CLASSES];
    double prob2[CS_CLF_MAX_CLASSES], logit2[CS_CLF_MAX_CLASSES];

    memset(&h, 0, sizeof(h));
    h.n_classes = 2;
    h.w = w;
    h.scale = 0.1;
    h.temp = 2.0;
    cs_clf_head_predict(&h, 8, x, 1, prob, logit);
    ck_assert(logit[0] > logit[1]);
    ck_assert(prob[0] > prob[1]);
    h.bias[1] = 3.0;
    cs_clf_head_predict(&h, 8, x, 1, prob2, logit2);
    ck_assert_double_eq_tol(logit2[0], logit[0], 1e-12);
    ck_assert_double_eq_tol(logit2[1], logit[1] + 3.0, 1e-12);
    ck_assert(prob2[1] > prob2[0]);
    ck_assert_double_eq_tol(prob2[0] + prob2[1], 1.0, 1e-12);
    /* The builtin model's bias is finite whatever the training chose. */
    ck_assert(cs_clf_builtin_model.intent.bias[CS_INTENT_SPAM] > -10.0
              && cs_clf_builtin_model.intent.bias[CS_INTENT_SPAM] < 10.0);
}
END_TEST

Suite *classify_suite(void)
{
    Suite *s = suite_create("cs_classify");
    TCase *tc;

    tc = tcase_create("intent");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_english_intents);
    tcase_add_test(tc, test_spanish_intents);
    tcase_add_test(tc, test_spam_with_links_is_spam_and_low_urgency);
    tcase_add_test(tc, test_mashed_keys_are_spam);
    tcase_add_test(tc, test_head_bias_shifts_tempered_scores);
    tcase_add_test(tc, test_b2b_mail_is_not_spam);
    tcase_add_test(tc, test_seo_spam_is_spam_for_every_vertical);
    tcase_add_test(tc, test_vertical_hint_decides_a_borderline_case);
    tcase_add_test(tc, test_unknown_vertical_is_no_vertical);
    suite_add_tcase(s, tc);

    tc = tcase_create("urgency");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_burst_pipe_is_high_urgency);
    tcase_add_test(tc, test_calm_messages_are_low_urgency);
    tcase_add_test(tc, test_negated_urgency_is_not_high);
    tcase_add_test(tc, test_outage_report_is_high_urgency);
    tcase_add_test(tc, test_spanish_urgent_is_high);
    suite_add_tcase(s, tc);

    tc = tcase_create("extraction");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_budget_amounts_as_typed);
    tcase_add_test(tc, test_budget_ignores_counts_phones_and_times);
    tcase_add_test(tc, test_when_dates_and_times);
    tcase_add_test(tc, test_service_gazetteer);
    tcase_add_test(tc, test_lang_guess);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_empty_and_null_input);
    tcase_add_test(tc, test_invalid_utf8_and_binary_input);
    tcase_add_test(tc, test_huge_input);
    tcase_add_test(tc, test_confidence_is_a_probability);
    tcase_add_test(tc, test_concurrent_calls_agree);
    suite_add_tcase(s, tc);

    tc = tcase_create("tokenizer");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_tokenizer_folds_case_and_accents);
    tcase_add_test(tc, test_tokenizer_links_and_addresses);
    tcase_add_test(tc, test_features_are_deterministic_and_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_json_shape);
    tcase_add_test(tc, test_json_absent_fields_are_null);
    tcase_add_test(tc, test_label_indexes);
    suite_add_tcase(s, tc);

    return s;
}
