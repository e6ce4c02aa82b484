/* Builtin classifier: the scoring pipeline over an explicit model (naive
 * Bayes heads, then the rules), the JSON form and label lookups. The
 * trainer runs this same code on its in-memory model for --eval. */
#include "classify/cs_classify_model.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <math.h>
#include <string.h>

static const char *const intents[] = CS_INTENTS;
static const char *const urgencies[] = CS_URGENCIES;
static const char *const verticals[] = CS_VERTICALS;

/* The label lists and the enums of cs_classify.h are one list. */
_Static_assert(sizeof(intents) / sizeof(intents[0]) == CS_N_INTENTS,
               "CS_INTENTS and cs_intent_t differ");
_Static_assert(sizeof(urgencies) / sizeof(urgencies[0]) == CS_N_URGENCIES,
               "CS_URGENCIES and cs_urgency_t differ");
_Static_assert(sizeof(verticals) / sizeof(verticals[0]) == CS_N_VERTICALS,
               "CS_VERTICALS and cs_vertical_t differ");
_Static_assert(CS_N_INTENTS <= CS_CLF_MAX_CLASSES && CS_N_URGENCIES <= CS_CLF_MAX_CLASSES,
               "a head has more classes than CS_CLF_MAX_CLASSES");

#define URG_MAX_SIGNALS  3.0

const cs_clf_rule_params_t cs_clf_rule_defaults = {
    .spam_free = 1.0,
    .spam_per_point = 3.0,
    .spam_none = 2.0,
    .urg_strong = 3.0,
    .urg_soon = 1.5,
    .urg_calm = 3.0,
    .spam_min_prob = 0.6,
};

int cs_intent_index(const char *intent)
{
    int i;
    for (i = 0; intent && i < CS_N_INTENTS; i++) {
        if (!strcmp(intent, intents[i])) {
            return i;
        }
    }
    return -1;
}

int cs_urgency_index(const char *urgency)
{
    int i;
    for (i = 0; urgency && i < CS_N_URGENCIES; i++) {
        if (!strcmp(urgency, urgencies[i])) {
            return i;
        }
    }
    return -1;
}

const char *cs_intent_name(cs_intent_t intent)
{
    return (int)intent >= 0 && intent < CS_N_INTENTS ? intents[intent]
                                                     : intents[CS_INTENT_OTHER];
}

const char *cs_urgency_name(cs_urgency_t urgency)
{
    return (int)urgency >= 0 && urgency < CS_N_URGENCIES ? urgencies[urgency]
                                                         : urgencies[CS_URGENCY_NORMAL];
}

/* Other names clients' sites go by. */
static const struct {
    const char *name;
    cs_vertical_t vertical;
} vertical_aliases[] = {
    { "cafe", CS_VERTICAL_COFFEE_SHOP }, { "pizzeria", CS_VERTICAL_RESTAURANT },
    { "taqueria", CS_VERTICAL_RESTAURANT }, { "junk_hauler", CS_VERTICAL_JUNK_REMOVAL },
    { "cleaning_company", CS_VERTICAL_CLEANING }, { "landscaper", CS_VERTICAL_LANDSCAPING },
    { "barbershop", CS_VERTICAL_BARBER }, { "web_studio", CS_VERTICAL_WEB_DEV },
};

/* @p s equals @p name with ASCII case ignored and '-' or ' ' for '_'. */
static int same_name(const char *s, const char *name)
{
    for (;; s++, name++) {
        char c = *s;
        if (c == '-' || c == ' ') {
            c = '_';
        }
        else if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != *name) {
            return 0;
        }
        if (!c) {
            return 1;
        }
    }
}

int cs_vertical_index(const char *vertical)
{
    size_t i;

    for (i = 0; vertical && i < CS_N_VERTICALS; i++) {
        if (same_name(vertical, verticals[i])) {
            return (int)i;
        }
    }
    for (i = 0; vertical && i < sizeof(vertical_aliases) / sizeof(vertical_aliases[0]); i++) {
        if (same_name(vertical, vertical_aliases[i].name)) {
            return vertical_aliases[i].vertical;
        }
    }
    return -1;
}

static int argmax(const double *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

static double clamp01(double v)
{
    if (!(v >= 0.0)) {     /* also NaN */
        return 0.0;
    }
    return v > 1.0 ? 1.0 : v;
}

static double capped(double v)
{
    return v > URG_MAX_SIGNALS ? URG_MAX_SIGNALS : v;
}

void cs_clf_signals(const cs_clf_doc_t *d, int vertical, cs_clf_signals_t *s)
{
    int t;

    memset(s, 0, sizeof(*s));
    s->spam = cs_clf_spam_score(d, vertical);
    cs_clf_urgency_signals(d, &s->strong, &s->soon, &s->calm);
    s->urls = d->info.urls;
    for (t = 0; t < d->ntoks && !s->has_letters; t++) {
        const char *c = d->toks[t].text;
        if (d->toks[t].kind != CS_TOK_WORD) {
            continue;
        }
        for (; *c && !s->has_letters; c++) {
            s->has_letters = (*c >= 'a' && *c <= 'z') || (unsigned char)*c >= 0x80;
        }
    }
}

void cs_clf_decide_with(const cs_clf_rule_params_t *rp, const cs_clf_signals_t *s,
                        const double *intent_logit, const double *urgency_logit,
                        cs_clf_decision_t *out)
{
    double *ip = out->intent_prob, *up = out->urgency_prob;

    /* Intent: naive Bayes, then spam evidence. */
    memcpy(ip, intent_logit, CS_N_INTENTS * sizeof(*ip));
    if (s->spam > rp->spam_free) {
        ip[CS_INTENT_SPAM] += rp->spam_per_point * (s->spam - rp->spam_free);
    }
    else if (s->spam <= 0.0) {
        ip[CS_INTENT_SPAM] -= rp->spam_none;
    }
    if (!s->has_letters && s->urls == 0) {
        ip[CS_INTENT_OTHER] += 4.0;   /* nothing to read: empty, digits, junk */
    }
    cs_clf_softmax(ip, CS_N_INTENTS);
    out->intent = argmax(ip, CS_N_INTENTS);
    /* Hiding a real message costs more than showing a junk one: when spam
     * is not clearly likely, the message keeps its best other intent. */
    if (out->intent == CS_INTENT_SPAM && ip[CS_INTENT_SPAM] < rp->spam_min_prob) {
        double keep = ip[CS_INTENT_SPAM];
        ip[CS_INTENT_SPAM] = -1.0;
        out->intent = argmax(ip, CS_N_INTENTS);
        ip[CS_INTENT_SPAM] = keep;
    }

    /* Urgency: naive Bayes, then urgency words; spam is never urgent. */
    memcpy(up, urgency_logit, CS_N_URGENCIES * sizeof(*up));
    up[CS_URGENCY_HIGH] += rp->urg_strong * capped(s->strong)
                           + rp->urg_soon * capped(s->soon);
    up[CS_URGENCY_LOW] += rp->urg_calm * capped(s->calm);
    cs_clf_softmax(up, CS_N_URGENCIES);
    out->urgency = argmax(up, CS_N_URGENCIES);
    if (out->intent == CS_INTENT_SPAM) {
        out->urgency = CS_URGENCY_LOW;
        if (up[CS_URGENCY_LOW] < ip[CS_INTENT_SPAM]) {
            up[CS_URGENCY_LOW] = ip[CS_INTENT_SPAM];
        }
    }
}

void cs_clf_vertical_shift(const cs_clf_vertical_prior_t *vp, int vertical,
                           double *intent_logit, double *urgency_logit)
{
    int k;

    if (vertical < 0 || vertical >= CS_N_VERTICALS) {
        return;
    }
    for (k = 0; intent_logit && k < CS_N_INTENTS; k++) {
        intent_logit[k] += vp->intent[vertical][k];
    }
    for (k = 0; urgency_logit && k < CS_N_URGENCIES; k++) {
        urgency_logit[k] += vp->urgency[vertical][k];
    }
}

void cs_clf_decide(const cs_clf_signals_t *s, const double *intent_logit,
                   const double *urgency_logit, cs_clf_decision_t *out)
{
    cs_clf_decide_with(&cs_clf_rule_defaults, s, intent_logit, urgency_logit, out);
}

cs_classification_t *cs_clf_classify(apr_pool_t *p, const cs_clf_model_t *m,
                                     const char *text, int vertical)
{
    cs_classification_t *c = apr_pcalloc(p, sizeof(*c));
    cs_clf_doc_t *d = cs_clf_analyze(p, text);
    cs_clf_raw_t *raw;
    cs_clf_feat_t *x;
    cs_clf_signals_t sig;
    cs_clf_decision_t dec;
    double ip[CS_CLF_MAX_CLASSES], il[CS_CLF_MAX_CLASSES];
    double up[CS_CLF_MAX_CLASSES], ul[CS_CLF_MAX_CLASSES];
    int nraw, nx, spam;

    nraw = cs_clf_raw_features(p, d, m->feat.bucket_bits, &raw);
    nx = cs_clf_vectorize(p, raw, nraw, &m->feat, &x);
    cs_clf_head_predict(&m->intent, m->feat.bucket_bits, x, nx, ip, il);
    if (m->spam.w && m->spam.weight != 0.0) {
        il[CS_INTENT_SPAM] += m->spam.weight
                              * cs_clf_linear_score(&m->spam, m->feat.bucket_bits, x, nx);
    }
    cs_clf_head_predict(&m->urgency, m->feat.bucket_bits, x, nx, up, ul);
    cs_clf_vertical_shift(&m->vertical, vertical, il, ul);
    cs_clf_signals(d, vertical, &sig);
    cs_clf_decide(&sig, il, ul, &dec);
    spam = dec.intent == CS_INTENT_SPAM;

    c->intent = cs_intent_name((cs_intent_t)dec.intent);
    c->confidence = clamp01(dec.intent_prob[dec.intent]);
    c->urgency = cs_urgency_name((cs_urgency_t)dec.urgency);
    c->urgency_confidence = clamp01(dec.urgency_prob[dec.urgency]);
    c->service = spam ? NULL : cs_clf_extract_service(d);
    c->when = cs_clf_extract_when(p, d);
    c->budget = spam ? NULL : cs_clf_extract_budget(p, d);
    c->lang = cs_clf_guess_lang(d);
    c->backend = "builtin";
    c->fallback = NULL;
    return c;
}

/* A probability with four decimals, not json-c's 17 significant digits. */
static void set_prob(cs_json_t *o, const char *key, double v)
{
    char buf[32];
    apr_size_t n;

    v = clamp01(v);
    apr_snprintf(buf, sizeof(buf), "%.4f", v);
    n = strlen(buf);
    while (n > 3 && buf[n - 1] == '0') {
        buf[--n] = '\0';
    }
    json_object_object_add(cs_json_raw(o), key, json_object_new_double_s(v, buf));
}

const char *cs_classification_json(apr_pool_t *p, const cs_classification_t *c)
{
    cs_json_t *o = cs_json_object(p);

    cs_json_set_str(o, "intent", c->intent);
    cs_json_set_str(o, "urgency", c->urgency);
    set_prob(o, "confidence", c->confidence);
    set_prob(o, "urgency_confidence", c->urgency_confidence);
    cs_json_set_str(o, "service", c->service);
    if (c->when) {
        cs_json_t *a = cs_json_array(p);
        int i;
        for (i = 0; i < c->when->nelts; i++) {
            const char *w = APR_ARRAY_IDX(c->when, i, const char *);
            if (w) {
                json_object_array_add(cs_json_raw(a), json_object_new_string(w));
            }
        }
        cs_json_set_obj(o, "when", a);
    }
    else {
        cs_json_set_str(o, "when", NULL);
    }
    cs_json_set_str(o, "budget", c->budget);
    cs_json_set_str(o, "lang", c->lang);
    cs_json_set_str(o, "backend", c->backend);
    cs_json_set_str(o, "fallback", c->fallback);
    return cs_json_dump(o, p);
}
