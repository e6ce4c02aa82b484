/* Builtin classifier: what counting words cannot do. Spam and urgency
 * evidence from links and phrases, and extraction of the amount, the dates
 * and times and the service a message mentions. Works on the folded tokens
 * of cs_clf_analyze (lowercase, accents stripped), so one pattern covers
 * "mañana", "Manana" and "MAÑANA". No model tables here. */
#include "classify/cs_classify_model.h"

#include <apr_strings.h>
#include <string.h>

/* ---- phrase patterns ------------------------------------------------------ */

/* Patterns are words separated by single spaces, matched against
 * consecutive word tokens: "w*" matches any word starting with w, "_" any
 * one word, "~" skips zero to three words. */

#define GAP_MAX 3

static int word_match(const char *pw, apr_size_t pn, const char *tok)
{
    if (pn == 1 && pw[0] == '_') {
        return 1;
    }
    if (pn > 1 && pw[pn - 1] == '*') {
        return strncmp(tok, pw, pn - 1) == 0;
    }
    return strlen(tok) == pn && memcmp(tok, pw, pn) == 0;
}

/* Tokens [i, end) matched by @p pat: returns end, or -1. */
static int match_rec(const cs_clf_doc_t *d, int i, const char *pat, int depth)
{
    const char *e;
    apr_size_t n;

    while (*pat == ' ') {
        pat++;
    }
    if (!*pat) {
        return i;
    }
    /* A literal word (the common case) cannot match a token that starts
     * with another letter: decided before the pattern word is measured,
     * since every pattern is tried at every token. */
    if (pat[0] != '~' && pat[0] != '_'
        && (i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD || d->toks[i].text[0] != pat[0])) {
        return -1;
    }
    e = strchr(pat, ' ');
    n = e ? (apr_size_t)(e - pat) : strlen(pat);
    if (n == 1 && pat[0] == '~') {
        int g;
        if (depth > 4) {
            return -1;
        }
        for (g = 0; g <= GAP_MAX && i + g <= d->ntoks; g++) {
            int r = match_rec(d, i + g, pat + n, depth + 1);
            if (r >= 0) {
                return r;
            }
            if (i + g < d->ntoks && d->toks[i + g].kind != CS_TOK_WORD) {
                break;
            }
        }
        return -1;
    }
    if (i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD
        || !word_match(pat, n, d->toks[i].text)) {
        return -1;
    }
    return match_rec(d, i + 1, pat + n, depth);
}

/* The first-letter test of match_rec inlined here too: most calls are a
 * pattern tried at a token it cannot match. */
static inline int match_at(const cs_clf_doc_t *d, int i, const char *pat)
{
    if (pat[0] && pat[0] != ' ' && pat[0] != '~' && pat[0] != '_'
        && (i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD || d->toks[i].text[0] != pat[0])) {
        return -1;
    }
    return match_rec(d, i, pat, 0);
}

/* First token index where @p pat matches at or after @p from, or -1. */
static int find_from(const cs_clf_doc_t *d, const char *pat, int from, int *pend)
{
    int i;
    for (i = from; i < d->ntoks; i++) {
        int e = match_at(d, i, pat);
        if (e > i) {
            if (pend) {
                *pend = e;
            }
            return i;
        }
    }
    return -1;
}

static int tok_is(const cs_clf_doc_t *d, int i, const char *w)
{
    return i >= 0 && i < d->ntoks && d->toks[i].kind == CS_TOK_WORD
        && strcmp(d->toks[i].text, w) == 0;
}

static int tok_in(const cs_clf_doc_t *d, int i, const char *const *list)
{
    if (i < 0 || i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD) {
        return 0;
    }
    for (; *list; list++) {
        if (strcmp(d->toks[i].text, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const char *pat;
    double weight;
} weighted_t;

/* A NULL-terminated list of patterns. */
#define PATS(...) (const char *const[]){ __VA_ARGS__, NULL }

/* ---- spam ----------------------------------------------------------------- */

static const weighted_t spam_phrases[] = {
    /* search, listings, reviews, ads */
    { "seo", 2 }, { "backlink*", 2 }, { "first page of google", 2 },
    { "page 1 of google", 2 }, { "page one of google", 2 }, { "1st page", 1.5 },
    { "page 1", 1 }, { "top of google", 1.5 }, { "rank 1", 1.5 },
    { "google ranking*", 1.5 }, { "rank* ~ google", 1.5 }, { "ranking*", 1 },
    { "rank your", 1.5 }, { "rank ~ website", 1.5 }, { "organic traffic", 2 },
    { "website traffic", 1.5 }, { "traffic to your", 1.5 }, { "guest post*", 2 },
    { "sponsored post*", 2 }, { "link exchange", 2 }, { "dofollow", 2 },
    { "domain authority", 2 }, { "web design agency", 2 }, { "web design services", 1.5 },
    { "website redesign", 1.5 }, { "redesign your", 1.5 }, { "redesign it", 1 },
    { "your website", 0.5 }, { "your site", 0.5 },
    { "lead generation", 2 }, { "leads", 1.5 }, { "per lead", 2 }, { "more customers", 1 },
    { "more clients", 1 }, { "more jobs", 1 }, { "followers", 1.5 }, { "influencer", 1.5 },
    { "reviews", 1 }, { "5 star reviews", 1.5 }, { "negative reviews", 1.5 },
    { "google business", 1.5 }, { "business profile", 1.5 }, { "google maps", 1 },
    { "google partner", 2 }, { "google ads", 1 }, { "facebook ads", 1.5 },
    { "listing", 0.5 }, { "directory", 1.5 }, { "delisted", 2 }, { "chatbot", 1.5 },
    { "booking software", 1.5 }, { "online ordering", 0.5 }, { "mobile app", 1 },
    { "schedule a demo", 2 }, { "free trial", 1.5 }, { "free audit", 2 },
    { "free consultation", 1 }, { "posicionamiento", 1.5 }, { "posicionar*", 1.5 },
    { "primera pagina", 2 }, { "marketing", 0.5 }, { "publicidad", 1 }, { "anuncios", 1 },
    { "redes sociales", 1 }, { "seguidores", 1.5 }, { "prospectos", 1.5 },
    { "pagina web", 0.5 }, { "sitio web", 0.5 }, { "trafico", 1 }, { "visitas", 0.5 },
    { "mi negocio", 1 }, { "perfil de google", 1.5 }, { "directorio", 1.5 },
    { "agende una demostracion", 2 }, { "consulta gratis", 1 }, { "auditoria", 1.5 },
    /* money, loans, investments */
    { "crypto*", 2 }, { "cripto*", 2 }, { "bitcoin*", 2 }, { "btc", 2 },
    { "usdt", 2 }, { "ethereum", 2 }, { "nft*", 1.5 }, { "airdrop", 2 },
    { "forex", 2 }, { "trading", 1 }, { "investment*", 1.5 }, { "inversion*", 1.5 },
    { "invierta", 1.5 }, { "invierte", 1.5 }, { "invertir", 1 }, { "invirtiendo", 1.5 },
    { "passive income", 2 }, { "make money", 2 }, { "make $*", 1.5 }, { "earn", 1 },
    { "per day", 0.5 }, { "per week", 0.5 }, { "from home", 1 }, { "desde casa", 1 },
    { "double your", 1.5 }, { "loan*", 1.5 }, { "prestamo*", 1.5 }, { "line of credit", 2 },
    { "pre approved", 2 }, { "preapproved", 2 }, { "pre aprobado", 2 }, { "preaprobado", 2 },
    { "funding", 1.5 }, { "financiamiento", 1.5 }, { "cash advance", 2 },
    { "merchant*", 1.5 }, { "processing fees", 1.5 }, { "processing rates", 1.5 },
    { "credit check", 1.5 }, { "revision de credito", 1.5 }, { "credit repair", 2 },
    { "retention credit", 2 }, { "retencion de empleados", 2 }, { "ganancias", 1 },
    { "gana dinero", 2 }, { "gane", 1 }, { "dinero facil", 2 }, { "rendimientos", 1.5 },
    { "guaranteed returns", 2 }, { "win rate", 2 }, { "stock picks", 2 },
    { "we buy houses", 2 }, { "selling your business", 1.5 }, { "all cash", 1 },
    { "casino*", 2 }, { "slot machine*", 2 }, { "online slots", 2 }, { "free spins", 2 }, { "giros gratis", 2 },
    { "bonus", 1 }, { "bono", 1 }, { "apuesta*", 1.5 }, { "betting", 1.5 },
    { "jackpot", 2 }, { "lottery", 2 }, { "loteria", 2 },
    /* prizes, phishing, fake invoices, authorities */
    { "congratulations", 1.5 }, { "felicidades ~ ganad*", 2 }, { "you ~ won", 2 },
    { "been selected", 2 }, { "sido seleccionado", 2 }, { "winner*", 1.5 },
    { "ganaste", 2 }, { "gano un", 1.5 }, { "has ganado", 2 }, { "ha ganado", 2 },
    { "ganador*", 1.5 }, { "premio", 1 }, { "prize", 1.5 }, { "reward", 1.5 },
    { "claim your", 2 }, { "claim now", 2 }, { "claim here", 2 }, { "to claim", 1 },
    { "unclaimed", 2 }, { "reclame", 1.5 }, { "reclamar su", 1.5 }, { "reclama tu", 1.5 }, { "free gift", 2 }, { "free iphone", 2 },
    { "free ipad", 2 }, { "gift card ~ free", 1.5 }, { "iphone gratis", 2 },
    { "click here", 2 }, { "click the link", 2 }, { "click below", 2 }, { "click now", 2 },
    { "click to", 1.5 }, { "haz clic", 2 }, { "haga clic", 2 }, { "clic aqui", 2 },
    { "da clic", 2 }, { "verify", 1.5 }, { "verifique", 1.5 }, { "verifica", 1 },
    { "verification", 1.5 }, { "suspend*", 1.5 }, { "locked", 0.5 }, { "bloquead*", 1 },
    { "log in to", 1 }, { "log in with", 1 }, { "login", 0.5 }, { "sign in to", 1 }, { "password", 1 },
    { "unusual activity", 2 }, { "suspicious activity", 2 }, { "confirm your identity", 2 },
    { "update your information", 2 }, { "update payment", 2 }, { "datos bancarios", 2 },
    { "bank account", 1.5 }, { "cuenta bancaria", 1.5 }, { "final notice", 2 },
    { "final reminder", 2 }, { "expiring", 1.5 }, { "expire*", 0.5 }, { "invoice", 0.5 },
    { "factura", 0.5 }, { "past due", 1.5 }, { "vencid*", 1 }, { "outstanding payment", 2 },
    { "payment due", 1.5 }, { "renewal", 0.5 }, { "registration", 1 }, { "mandatory", 1.5 },
    { "obligatorio", 1.5 }, { "avoid penalties", 2 }, { "penalt*", 1 }, { "multa*", 1 },
    { "recargos", 1 }, { "irs", 2 }, { "social security", 2 }, { "lawsuit", 1.5 },
    { "oficina de impuestos", 2 }, { "demanda", 1 }, { "disconnected", 1.5 },
    { "press one", 2 }, { "press 1", 2 }, { "press nine", 2 }, { "marque uno", 2 },
    { "oprima", 1.5 }, { "automated message", 2 }, { "package ~ on hold", 2 },
    { "paquete ~ retenido", 2 }, { "pdf", 0.5 }, { "zip", 0.5 }, { "docusign*", 1.5 },
    { "limited time", 1.5 }, { "limited spots", 1.5 }, { "act now", 2 },
    { "oferta limitada", 2 }, { "only today", 1 }, { "solo hoy", 1 },
    { "special discount", 1.5 }, { "cheap", 1 }, { "cheapest", 1 }, { "barato", 0.5 },
    { "unsubscribe", 2 }, { "opt out", 1.5 }, { "reply stop", 2 }, { "text stop", 2 },
    { "responde stop", 2 }, { "reply yes", 1.5 }, { "reply with", 1 }, { "reply for", 1.5 },
    { "text _ to", 0.5 }, { "whatsapp", 1.5 }, { "telegram", 1.5 },
    /* advance fee, overpayment and romance scams */
    { "dear sir*", 1.5 }, { "sir madam", 2 }, { "dear business owner", 2 },
    { "business owner*", 1 }, { "dear owner", 1.5 }, { "hello owner", 1.5 },
    { "dear merchant", 2 }, { "dear webmaster", 2 }, { "webmaster", 1.5 },
    { "dear friend", 2 }, { "hello dear", 2 }, { "dear valued", 2 }, { "kindly", 1.5 },
    { "estimado propietario", 2 }, { "hola dueno", 1.5 }, { "are you the owner", 1.5 },
    { "is this the owner", 1.5 }, { "barrister", 2 }, { "inheritance", 2 },
    { "herencia", 1.5 }, { "next of kin", 2 }, { "beneficiary", 1.5 }, { "consignment", 2 },
    { "million*", 1.5 }, { "millones", 1.5 }, { "confidential", 1 }, { "confidencial", 1 },
    { "transaction", 1 }, { "business proposal", 1.5 }, { "propuesta de negocio", 1.5 },
    { "partnership", 1 }, { "money order", 2 }, { "cheque*", 0.5 }, { "certified check", 2 },
    { "send ~ extra", 1.5 }, { "extra ~ driver", 2 }, { "my driver", 1.5 }, { "mi chofer", 1.5 }, { "chofer", 0.5 },
    { "deposit it", 1.5 }, { "depositelo", 1.5 }, { "deposit*", 0.5 }, { "el resto", 1 }, { "out of the country", 1 },
    { "fuera del pais", 1 }, { "en el extranjero", 1 }, { "wire transfer", 1.5 },
    { "hot singles", 3 }, { "dating", 1.5 }, { "lonely", 1.5 }, { "widow", 1 },
    { "guapo", 1.5 }, { "guapa", 1.5 }, { "be your friend", 2 }, { "onlyfans", 3 },
    { "sexy", 2 }, { "hot videos", 3 }, { "adult videos", 3 }, { "adult content", 2 },
    { "xxx", 3 },
    /* products nobody asked for */
    { "viagra", 3 }, { "cialis", 3 }, { "pharmacy", 1.5 }, { "farmacia", 1 },
    { "no prescription", 2 }, { "sin receta", 2 }, { "no rx", 2 }, { "weight loss", 1.5 },
    { "lose ~ lbs", 1.5 }, { "loose ~ lbs", 1.5 }, { "weird trick", 2 }, { "keto", 1 },
    { "bajar ~ kilos", 1.5 }, { "producto milagro", 2 }, { "manufacturer", 1.5 },
    { "fabricante*", 1.5 }, { "wholesale", 1.5 }, { "mayoreo", 1.5 }, { "moq", 2 },
    { "pedido minimo ~ piezas", 2 }, { "piezas", 0.5 }, { "catalog*", 1 }, { "base de datos", 1.5 }, { "offshore", 1.5 },
    { "we offer", 1 }, { "we provide", 1 }, { "ofrecemos", 1 }, { "le ofrecemos", 1 },
    { "le ofrezco", 1 }, { "our agency", 1 }, { "agencia", 0.5 }, { "packages from", 1.5 },
    { "plans from", 1.5 }, { "starting at", 1 }, { "desde $*", 0.5 }, { "per month", 0.5 },
    { "al mes", 0.5 }, { "mo", 0.5 }, { "100 guaranteed", 2 }, { "guaranteed", 1 },
    { "garantizad*", 1 }, { "$$$", 2 }, { "$$", 1 }, { "test", 0.5 },
    /* more of the usual: deliveries and accounts that need "updating",
     * warranties, utilities, tech support, tolls, government */
    { "delivery failed", 2 }, { "failed delivery", 2 }, { "redelivery", 0.5 },
    { "customs fee", 2 }, { "shipment ~ on hold", 2 }, { "tracking number", 1 },
    { "parcel", 1 }, { "toll*", 1 }, { "ezpass", 1.5 }, { "e zpass", 1.5 },
    { "apple id", 2 }, { "paypal", 1.5 }, { "netflix", 1.5 }, { "amazon", 1 },
    { "zelle", 0.5 }, { "cash app", 1 }, { "venmo", 0.5 }, { "itunes", 1.5 },
    { "buy ~ gift cards", 2 }, { "car warranty", 2 }, { "extended warranty", 2 },
    { "auto warranty", 2 }, { "student loan*", 2 }, { "loan forgiveness", 2 },
    { "medicare", 1.5 }, { "health insurance", 1 }, { "solar panels", 1.5 },
    { "solar", 1 }, { "energy audit", 1.5 }, { "electricity", 1 }, { "disconnect*", 1 },
    { "tech support", 1.5 }, { "your computer", 1.5 }, { "virus", 1 }, { "microsoft", 1 },
    { "warrant", 1.5 }, { "arrest", 1.5 }, { "legal action", 1.5 }, { "accion legal", 1.5 },
    { "deportation", 1.5 }, { "sweepstakes", 2 }, { "sorteo", 1.5 }, { "rifa", 1 },
    { "timeshare", 2 }, { "free cruise", 2 }, { "crucero", 1.5 }, { "vacation package", 1.5 },
    { "unclaimed", 2 }, { "refund of", 1 }, { "you are owed", 2 }, { "owed a refund", 2 },
    { "reembolso", 0.5 }, { "cupon*", 0.5 }, { "promo code", 1 }, { "coupon", 0.5 },
    { "discount", 0.5 }, { "descuento", 0.5 }, { "exclusive offer", 2 }, { "exclusive", 0.5 },
    { "opportunity", 1 }, { "oportunidad", 1 }, { "side hustle", 2 }, { "extra income", 2 },
    { "ingresos extra", 2 }, { "work from your phone", 2 }, { "desde su celular", 1.5 },
    { "desde tu celular", 1.5 }, { "no experience needed", 1.5 }, { "sin experiencia", 0.5 },
    { "data entry", 1 }, { "commission*", 0.5 }, { "affiliate", 1.5 }, { "mlm", 2 },
    { "sign up now", 2 }, { "register now", 2 }, { "registrese", 1.5 }, { "registrate", 1.5 },
    { "join now", 1.5 }, { "join our", 1 }, { "unete", 1 }, { "visit our", 0.5 },
    { "check out this", 1 }, { "enlace", 0.5 }, { "link below", 1.5 }, { "following link", 1.5 },
    { "siguiente enlace", 1.5 }, { "este enlace", 1 }, { "visite", 0.5 },
    /* selling to the business */
    { "local seo", 2 }, { "gmb", 2 }, { "citations", 1.5 }, { "ppc", 1.5 }, { "adwords", 2 },
    { "social media management", 2 }, { "manage your social media", 2 },
    { "content writing", 1.5 }, { "copywriting", 1.5 }, { "blog post*", 1 }, { "video ads", 1.5 },
    { "web development", 1.5 }, { "web developer*", 1 }, { "wordpress", 1 }, { "shopify", 1 },
    { "web hosting", 1.5 }, { "domain", 1 }, { "dominio", 1 }, { "ssl", 1 }, { "mobile friendly", 1.5 },
    { "app development", 1.5 }, { "developers", 1 }, { "outsourc*", 1.5 },
    { "virtual assistant*", 1.5 }, { "asistente virtual", 1.5 }, { "bookkeeping", 1 },
    { "cold calling", 1.5 }, { "llamadas en frio", 1.5 }, { "appointment setting", 2 },
    { "book more", 1 }, { "more bookings", 1 }, { "more sales", 1 }, { "grow your", 1.5 },
    { "boost your", 1.5 }, { "increase your", 1 }, { "aumente sus", 1.5 }, { "aumenta tus", 1.5 },
    { "haga crecer", 1.5 }, { "crecer su negocio", 1.5 }, { "mas clientes", 1 },
    { "nuevos clientes", 1 }, { "your business", 0.5 }, { "su negocio", 0.5 },
    { "business listing", 1.5 }, { "yelp", 0.5 }, { "tripadvisor", 0.5 },
    { "we help", 1 }, { "we can help you", 1 }, { "we specialize", 1 }, { "our team can", 1 },
    { "i noticed", 1 }, { "we noticed", 1 }, { "notamos", 1 }, { "vimos que", 0.5 },
    { "came across", 1 }, { "i came across your", 1.5 }, { "quick call", 1 },
    { "15 minute call", 1.5 }, { "calendly", 2 }, { "book a call", 1.5 }, { "agende una llamada", 1.5 },
    { "no obligation", 1 }, { "sin compromiso", 1 }, { "no upfront", 1.5 },
    { "sin costo inicial", 1.5 }, { "risk free", 1.5 }, { "payment processing", 1.5 },
    { "credit card processing", 2 }, { "terminal", 0.5 }, { "pos system", 1 },
    { "supplier", 0.5 }, { "proveedor*", 0.5 }, { "distributor", 0.5 }, { "bulk", 0.5 },
    { "price list", 0.5 }, { "lista de precios", 0.5 }, { "sample*", 0.5 },
    { "investor*", 1 }, { "buyers", 1 }, { "acquire", 1 }, { "compradores", 1 },
    { "claim", 1 }, { "free $*", 1.5 }, { "limited supply", 1.5 }, { "attached file", 1.5 },
    { "attached document", 1.5 }, { "see attached", 1 }, { "archivo adjunto", 1.5 },
    { "small fee", 1.5 }, { "feature your", 1.5 }, { "lead program", 2 },
    { "customers looking for", 1 }, { "aplicacion movil", 1.5 }, { "apps", 1 },
    { "articulo invitado", 2 }, { "publicar un articulo", 1.5 }, { "su blog", 1 },
    { "your blog", 1 }, { "e commerce", 1.5 }, { "ecommerce", 1.5 }, { "sell ~ online", 1 },
    { "free mockup", 1.5 }, { "not you", 1.5 }, { "pending", 0.5 }, { "payment of $*", 1 },
    { "dating app", 2 }, { "factura vencida", 1.5 },
    /* fake customers (overpayment scams) */
    { "i am deaf", 2 }, { "hearing impaired", 2 }, { "soy sordo", 2 }, { "my assistant", 1 },
    { "my shipper", 2 }, { "shipping agent", 2 }, { "pick up agent", 2 }, { "courier", 1 },
    { "cashier* check", 2 }, { "cheque de caja", 2 }, { "cheque certificado", 2 },
    { "mi agente", 1.5 }, { "transportista", 1 }, { "out of town", 0.5 },
    { "kindly get back", 2 }, { "your best price", 1 }, { "god bless", 1 },
    { "credit card ~ extra", 1.5 }, { "overpay*", 2 }, { "pay ~ extra", 1 },
    /* sales openers */
    { "hope this finds you", 1.5 }, { "hope this email finds you", 1.5 },
    { "hope you are doing well", 1 }, { "hope youre doing well", 1 },
    { "who handles your", 1.5 }, { "in charge of your", 1.5 }, { "decision maker", 1.5 },
    { "partner with you", 1 }, { "collaboration", 1 }, { "collab", 1 }, { "sponsorship", 1 },
    { "dear customer", 1.5 }, { "estimado cliente", 1.5 }, { "valued customer", 2 },
    /* jobs nobody applied for */
    { "work remotely", 1 }, { "remote position", 1.5 }, { "flexible hours", 0.5 },
    { "earn up to", 2 }, { "gana hasta", 2 }, { "per hour from home", 2 },
    /* threats, deadlines, prizes */
    { "final warning", 2 }, { "last warning", 2 }, { "ultimo aviso", 2 }, { "aviso final", 2 },
    { "will be closed", 1.5 }, { "sera cerrada", 1.5 }, { "suspendid*", 1.5 },
    { "cancelad* ~ cuenta", 1 }, { "survey", 0.5 }, { "encuesta", 0.5 }, { "act fast", 1.5 },
    { "dont miss", 1 }, { "last chance", 1.5 }, { "ultima oportunidad", 1.5 },
    { "expires today", 1.5 }, { "100 free", 2 }, { "no cost", 1 }, { "sin costo", 0.5 },
    { "totalmente gratis", 1.5 }, { "as seen on", 1.5 }, { "miracle", 1.5 }, { "milagro", 1 },
    { "doctors hate", 2 }, { "reply yes", 1.5 }, { "text yes", 1.5 }, { "responda si", 1.5 },
    { "wechat", 1.5 }, { "skype", 1 }, { "mining", 1 }, { "mineria", 1.5 }, { "profit*", 1 },
    { "returns", 0.5 }, { "signals", 1 }, { "funds", 1 }, { "fondos", 1 },
    { "transferencia", 0.5 }, { "beneficiario", 1.5 }, { "hookup", 2 }, { "escort*", 2 },
    { "nudes", 3 }, { "chicas", 1 }, { "girls", 1 }, { "pills", 1.5 }, { "pastillas", 1 },
    { "meds", 1.5 }, { "medications", 1 }, { "sorte*", 1.5 }, { "reclamar", 1 },
    /* "a complaint was filed against your business, see the document" */
    { "complaint ~ filed against", 2 }, { "filed ~ complaint against your", 2 },
    { "complaint against your business", 2 }, { "better business bureau", 1.5 },
    { "bbb", 1 }, { "view the complaint", 2 }, { "complaint ~ attached", 1.5 },
    { "complaint case", 1.5 }, { "chargeback", 1 }, { "queja ~ contra su negocio", 2 },
    { "demanda ~ contra su", 1.5 }, { "case number", 1 }, { "numero de caso", 1 },
    /* the "wrong number, let's be friends" opener */
    { "nice to meet you", 1 }, { "be friends", 1.5 }, { "got your number from", 1 },
    { "mucho gusto en conocerte", 1 }, { "ser amigos", 1.5 },
    { "llame ya", 1 }, { "call now", 1 }, { "refund the difference", 2 },
    { "more than the total", 1.5 }, { "the difference to", 1 }, { "la diferencia a", 1 },
    { "add me on", 1.5 }, { "agregame", 1 }, { "snap", 0.5 }, { "wanna chat", 1.5 },
    { "hey beautiful", 1.5 }, { "hola guapa", 1.5 }, { "your pic", 1 }, { "tu foto", 1 },
    { NULL, 0 }
};

/* Job seekers describe themselves in words solicitations also use ("I offer
 * ...", "experience"); their own vocabulary takes some evidence back. */
static const weighted_t job_seeker_phrases[] = {
    { "looking for work", 1 }, { "looking for a job", 1 }, { "looking for a position", 1 },
    { "are you hiring", 1 }, { "you hiring", 1 }, { "hiring", 0.5 }, { "resume", 1 },
    { "my experience", 0.5 }, { "years of experience", 1 }, { "apply", 0.5 },
    { "application", 0.5 }, { "interview*", 1 }, { "busco trabajo", 1 },
    { "buscando trabajo", 1 }, { "estan contratando", 1 }, { "contratando", 0.5 },
    { "vacante*", 1 }, { "curriculum", 1 }, { "solicitud", 0.5 }, { "entrevista", 1 },
    { "tengo experiencia", 1 }, { "need work", 1 }, { "necesito trabajo", 1 },
    { "portfolio", 1 }, { "portafolio", 1 }, { "my work", 0.5 }, { "mi trabajo", 0.5 },
    { "openings", 1 }, { "position", 0.5 }, { "puesto", 1 }, { "shifts", 1 },
    { "turnos", 1 }, { "part time", 0.5 }, { "full time", 0.5 }, { "medio tiempo", 0.5 },
    { NULL, 0 }
};

/* Buyers name what they want and ask its price ("what would that cost",
 * "send us a proposal"), in words that pitches also use ("SEO", "your
 * website"); their own vocabulary takes some evidence back. */
static const weighted_t buyer_phrases[] = {
    { "what do you charge", 1 }, { "what would ~ cost", 1 }, { "how much do you charge", 1 },
    { "how much would ~ cost", 1 }, { "what do ~ cost", 1 }, { "your rates", 1 },
    { "your packages", 1 }, { "your fees", 1 }, { "your pricing", 0.5 },
    { "send ~ proposal", 1 }, { "a proposal", 0.5 }, { "a quote", 0.5 }, { "an estimate", 0.5 },
    { "looking for help", 1 }, { "need help with", 1 }, { "can you help us", 1 },
    { "help us with", 1 }, { "we need", 0.5 }, { "we want", 0.5 }, { "we would like", 0.5 },
    { "our business", 0.5 }, { "our website", 0.5 }, { "our site", 0.5 }, { "our store", 0.5 },
    { "our shop", 0.5 }, { "our practice", 0.5 }, { "our account", 0.5 },
    { "cuanto cobran", 1 }, { "cuanto cuesta", 1 }, { "cuanto costaria", 1 },
    { "cotizacion", 1 }, { "presupuesto", 0.5 }, { "necesitamos", 0.5 }, { "queremos", 0.5 },
    { "nuestro negocio", 0.5 }, { "nuestra pagina", 0.5 }, { "nuestra tienda", 0.5 },
    { NULL, 0 }
};

/* Common SMS abbreviations without vowels, which are not keyboard mashing. */
static const char *const vowelless_ok[] = {
    "pls", "plz", "thx", "thnx", "tnx", "tmrw", "tmr", "ppl", "hrs", "hr", "mins",
    "msg", "txt", "brb", "sms", "hwy", "blvd", "st", "dr", "jr", "sr", "mr", "mrs",
    "ms", "dm", "lbs", "pm", "nvm", "idk", "ty", "bc", "cd", "dvd", "tv", "ac",
    "hvac", "pst", "cst", "est", "mst", "xl", "xxl", "qt", "pt", "ft", "sq", "yd",
    "hmm", "mmm", "mm", "shh", "psst", "grr", "brr", "pfft", "nth", "rd", "th", "ct",
    "ln", "wy", "nyc", "sf", "bbq", "cpr", "crm", "gps", "sw", "nw", "ne", "se",
    NULL
};

/* Keyboard mashing ("gjh fghfgh"): mostly words without any vowel. */
static int looks_mashed(const cs_clf_doc_t *d)
{
    int i, words = 0, mashed = 0;

    for (i = 0; i < d->ntoks; i++) {
        const char *s = d->toks[i].text, *c;
        int letters = 1, vowel = 0;
        if (d->toks[i].kind != CS_TOK_WORD || strlen(s) < 3) {
            continue;
        }
        for (c = s; *c; c++) {
            letters &= *c >= 'a' && *c <= 'z';
            vowel |= strchr("aeiouy", *c) != NULL;
        }
        if (!letters) {
            continue;
        }
        words++;
        mashed += !vowel && !tok_in(d, i, vowelless_ok);
    }
    return mashed >= 2 && mashed * 2 >= words;
}

/* Top-level domains that mostly host throwaway and scam sites. */
static const char *const cheap_tlds[] = {
    "top", "xyz", "vip", "site", "online", "club", "shop", "store", "live", "click",
    "icu", "buzz", "loan", "win", "bid", "ru", "cn", "tk", "ml", "ga", "cf", "gq",
    "pw", "info", "biz", "work", "fun", "space", "website", NULL
};

/* Words phishing hosts are made of. */
static const char *const phishy_host_words[] = {
    "secure", "verify", "verif", "login", "signin", "account", "claim", "free",
    "promo", "bonus", "gift", "prize", "winner", "reward", "refund", "update",
    "billing", "support", "track", "delivery", "resolution", "confirm", "unlock",
    "wallet", "casino", "crypto", "cripto", "premio", "gratis", "seguro", "pago",
    "multa", "entrega", "sale", "outlet", "discount", "cheap", "deal", NULL
};

/* [*host, *host_end) of a link token. */
static void url_host(const cs_clf_doc_t *d, const cs_clf_tok_t *t, const char **hs,
                     const char **he)
{
    const char *f = d->folded + t->start, *e = d->folded + t->end, *h;

    for (h = f; h + 3 <= e; h++) {
        if (h[0] == ':' && h[1] == '/' && h[2] == '/') {
            break;
        }
    }
    h = h + 3 <= e ? h + 3 : f;
    if (e - h > 4 && !memcmp(h, "www.", 4)) {
        h += 4;
    }
    *hs = h;
    while (h < e && *h != '/' && *h != '?' && *h != '#' && *h != ':') {
        h++;
    }
    *he = h;
}

/* Evidence from one link: a cheap top-level domain, a host stitched together
 * from phishing words or many hyphens. */
static double url_score(const cs_clf_doc_t *d, const cs_clf_tok_t *t)
{
    const char *h, *he, *dot;
    const char *const *w;
    char host[128];
    apr_size_t n;
    double score = 0.0;
    int hyphens = 0, words = 0;

    url_host(d, t, &h, &he);
    n = (apr_size_t)(he - h);
    if (n == 0 || n >= sizeof(host)) {
        return 0.0;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    dot = strrchr(host, '.');
    if (dot) {
        for (w = cheap_tlds; *w; w++) {
            if (!strcmp(dot + 1, *w)) {
                score += 1.0;
                break;
            }
        }
    }
    for (h = host; *h; h++) {
        hyphens += *h == '-';
    }
    for (w = phishy_host_words; *w; w++) {
        words += strstr(host, *w) != NULL;
    }
    if (hyphens >= 2) {
        score += 0.5;
    }
    if (words) {
        score += words >= 2 ? 1.0 : 0.5;
    }
    return score;
}

/* Spam vocabulary that is a vertical's own trade: for its clients these
 * words are what leads, suppliers and customers write, so they count for
 * nothing. Entries are spam_phrases patterns, spelled exactly as there. */
#define SUPPLY_TRADE "supplier", "proveedor*", "distributor", "bulk", "price list", \
                     "lista de precios", "sample*", "catalog*", "wholesale", "mayoreo", \
                     "invoice", "factura", "partnership", "collaboration", "collab", \
                     "sponsorship"
#define WEB_TRADE    "your website", "your site", "pagina web", "sitio web", "domain", \
                     "dominio", "ssl", "web hosting", "wordpress", "shopify", \
                     "e commerce", "ecommerce", "sell ~ online", "online ordering", \
                     "mobile friendly", "mobile app", "apps", "aplicacion movil", \
                     "booking software", "chatbot", "login", "log in to", "password", \
                     "renewal", "expire*", "expiring", "pending", "listing"

static const char *const *const vertical_trade[CS_N_VERTICALS] = {
    [CS_VERTICAL_COFFEE_SHOP] = PATS(SUPPLY_TRADE, "online ordering", "coupon",
        "discount", "descuento", "bonus"),
    [CS_VERTICAL_RESTAURANT] = PATS(SUPPLY_TRADE, "online ordering", "deposit*",
        "coupon", "discount", "descuento"),
    [CS_VERTICAL_JUNK_REMOVAL] = PATS(SUPPLY_TRADE),
    [CS_VERTICAL_CLEANING] = PATS(SUPPLY_TRADE),
    [CS_VERTICAL_LANDSCAPING] = PATS(SUPPLY_TRADE),
    [CS_VERTICAL_BARBER] = PATS(SUPPLY_TRADE),
    [CS_VERTICAL_DATA_ANALYTICS] = PATS(SUPPLY_TRADE, "base de datos", "confidential",
        "confidencial", "transaction", "login", "log in to", "password", "developers",
        "web development", "domain", "ssl", "renewal", "expire*", "pending",
        "outsourc*", "verification"),
    [CS_VERTICAL_WEB_DEV] = PATS(SUPPLY_TRADE, WEB_TRADE, "web design agency",
        "web design services", "website redesign", "redesign your", "redesign it",
        "web development", "web developer*", "app development", "developers",
        "free mockup", "verification", "verify"),
    [CS_VERTICAL_MARKETING_AGENCY] = PATS(SUPPLY_TRADE, WEB_TRADE, "seo", "local seo",
        "google ranking*", "rank* ~ google", "ranking*", "rank your", "organic traffic",
        "website traffic", "traffic to your", "lead generation", "leads", "more customers",
        "more clients", "more sales", "more bookings", "book more", "followers",
        "influencer", "reviews", "5 star reviews", "negative reviews", "google business",
        "business profile", "google maps", "google ads", "facebook ads", "video ads",
        "marketing", "publicidad", "anuncios", "redes sociales", "seguidores",
        "prospectos", "trafico", "visitas", "posicionamiento", "posicionar*", "gmb",
        "citations", "ppc", "adwords", "social media management",
        "manage your social media", "content writing", "copywriting", "blog post*",
        "grow your", "boost your", "increase your", "aumente sus", "aumenta tus",
        "haga crecer", "crecer su negocio", "mas clientes", "nuevos clientes",
        "your business", "su negocio", "mi negocio", "business listing", "yelp",
        "tripadvisor", "our agency", "agencia", "perfil de google", "directory",
        "directorio", "survey", "encuesta", "promo code", "coupon", "discount",
        "descuento", "affiliate"),
};

static int is_trade(int vertical, const char *pat)
{
    const char *const *t;

    if (vertical < 0 || vertical >= CS_N_VERTICALS || !vertical_trade[vertical]) {
        return 0;
    }
    for (t = vertical_trade[vertical]; *t; t++) {
        if (!strcmp(*t, pat)) {
            return 1;
        }
    }
    return 0;
}

double cs_clf_spam_score(const cs_clf_doc_t *d, int vertical)
{
    const cs_clf_info_t *in = &d->info;
    const weighted_t *w;
    double score = 0.0, vocab = 0.0, links = 0.0;
    int i;

    /* A link in a message to a small business is unusual by itself (links
     * to profiles, portfolios and photos are tokens of their own). */
    for (i = 0; i < d->ntoks; i++) {
        if (d->toks[i].kind == CS_TOK_URL) {
            double u = 1.0 + url_score(d, &d->toks[i]);
            links = u > links ? u : links;
        }
    }
    score += links;
    if (in->short_urls) {
        score += 2.0;
    }
    if (in->urls >= 2) {
        score += 1.0;
    }
    if (in->urls >= 3) {
        score += 1.0;
    }
    if (in->nonlatin > 3 && in->nonlatin * 3 > in->letters) {
        score += in->urls ? 3.0 : 1.0;
    }
    for (w = spam_phrases; w->pat; w++) {
        if (find_from(d, w->pat, 0, NULL) >= 0 && !is_trade(vertical, w->pat)) {
            vocab += w->weight;
        }
    }
    if (looks_mashed(d)) {
        vocab += 5.0;   /* no reader: decisive on its own */
    }
    {
        double job = 0.0;
        for (w = job_seeker_phrases; w->pat; w++) {
            if (find_from(d, w->pat, 0, NULL) >= 0) {
                job += w->weight;
            }
        }
        vocab -= job > 2.0 ? 2.0 : job;
        for (job = 0.0, w = buyer_phrases; w->pat; w++) {
            if (find_from(d, w->pat, 0, NULL) >= 0) {
                job += w->weight;
            }
        }
        vocab -= job > 2.5 ? 2.5 : job;
        if (vocab < 0.0) {
            vocab = 0.0;
        }
    }
    if (vocab > 6.0) {
        vocab = 6.0;
    }
    /* Vocabulary with a link is much stronger evidence than either alone. */
    if (in->urls && vocab > 0.0) {
        score += 1.0;
    }
    return score + vocab;
}

/* ---- urgency -------------------------------------------------------------- */

static const weighted_t urgent_strong[] = {
    { "emergenc*", 1 }, { "urgent*", 1 }, { "urgencia", 1 }, { "urge", 1 },
    { "asap", 1 }, { "a s a p", 1 }, { "as soon as possible", 1 },
    { "lo antes posible", 1 }, { "lo mas pronto posible", 1 }, { "cuanto antes", 1 },
    { "right away", 1 }, { "right now", 1 }, { "immediately", 1 },
    { "inmediat*", 1 }, { "ahora mismo", 1 }, { "ahorita", 1 }, { "hoy mismo", 1 },
    { "flood*", 1 }, { "inund*", 1 }, { "burst*", 1 }, { "revent*", 1 },
    { "pipe* broke*", 1 }, { "broke* ~ pipe*", 1 }, { "se rompio ~ tubo*", 1 },
    { "se rompio ~ tuberia*", 1 }, { "leak*", 1 }, { "fuga*", 1 }, { "gotea*", 1 },
    { "overflow*", 1 }, { "desbord*", 1 }, { "locked out", 1 },
    { "lock* myself out", 1 }, { "lock* ourselves out", 1 }, { "backed up", 1 },
    { "backing up", 1 }, { "sewage", 1 }, { "aguas negras", 1 }, { "agua negra", 1 },
    { "no heat", 1 }, { "no hot water", 1 }, { "no water", 1 }, { "sin agua", 1 },
    { "sin calefaccion", 1 }, { "water everywhere", 1 },
    { "agua por todos lados", 1 }, { "smell* gas", 1 }, { "gas smell", 1 },
    { "gas leak", 1 }, { "olor a gas", 1 }, { "on fire", 1 }, { "smoke", 1 },
    { "same day", 1 }, { "mismo dia", 1 }, { "last minute", 1 },
    { "ultimo momento", 1 }, { "ultima hora", 1 }, { "cancel* on us", 1 },
    { "bailed", 1 }, { "no show*", 1 }, { "didnt show", 1 }, { "no se presento", 1 },
    { "no llego", 1 }, { "need ~ now", 1 }, { "come now", 1 }, { "come out now", 1 },
    { "vengan ya", 1 }, { "venir ya", 1 }, { "never showed", 1 }, { "nobody showed", 1 },
    { "no one showed", 1 }, { "didnt show up", 1 }, { "hasnt arrived", 1 },
    { "has not arrived", 1 }, { "nothing has arrived", 1 }, { "no ha llegado", 1 },
    { "nunca llego", 1 }, { "nadie llego", 1 }, { "nadie vino", 1 },
    { "food poisoning", 1 }, { "got sick", 1 }, { "enfermamos", 1 }, { "vomit*", 1 },
    { "pouring", 1 }, { "starts in ~ minutes", 1 }, { "in ~ minutes", 0.5 },
    { "empieza en ~ minutos", 1 }, { "no power", 1 }, { "sin luz", 1 },
    { "no ac", 1 }, { "sin aire", 1 },
    /* systems a client runs on: sites, shops, dashboards, reports */
    { "is down", 1 }, { "site* ~ down", 1 }, { "went down", 1 }, { "are down", 1 },
    { "outage*", 1 }, { "hacked", 1 }, { "not loading", 1 }, { "wont load", 1 },
    { "crash*", 1 }, { "cant pay", 1 }, { "cant check out", 1 }, { "cant checkout", 1 },
    { "not secure", 1 }, { "exposed", 1 }, { "breach*", 1 }, { "error", 0.5 },
    { "pagina ~ caida", 1 }, { "sitio ~ caido", 1 }, { "se cayo", 1 }, { "esta caid*", 1 },
    { "no carga", 1 }, { "dejo de funcionar", 0.5 }, { "no funciona", 0.5 },
    /* deadlines measured in hours, things breaking now */
    { "within the hour", 1 }, { "in an hour", 1 }, { "in ~ hours", 0.5 },
    { "en una hora", 1 }, { "en ~ horas", 0.5 }, { "due today", 1 }, { "vence hoy", 1 },
    { "broke down", 1 }, { "power line*", 1 }, { "gushing", 1 }, { "a chorros", 1 },
    { "allergic reaction", 1 }, { "reaccion alergica", 1 }, { "left my", 0.5 },
    { "stuck", 0.5 }, { "in ~ min", 0.5 }, { "in ~ mins", 0.5 }, { "in ~ hrs", 0.5 },
    { "en ~ minutos", 0.5 }, { "fell through", 1 }, { "nos cancelo", 1 },
    { "nos cancelaron", 1 }, { "people waiting", 1 }, { "personas esperando", 1 },
    { "havent arrived", 1 }, { "no llega", 1 }, { "moved up", 0.5 },
    { "adelantaron", 0.5 },
    { NULL, 0 }
};

static const weighted_t urgent_soon[] = {
    { "today", 1 }, { "tonight", 1 }, { "this afternoon", 1 }, { "this evening", 1 },
    { "this morning", 1 }, { "hoy", 1 }, { "esta noche", 1 }, { "esta tarde", 1 },
    { "esta manana", 1 }, { "now", 0.5 }, { "tomorrow", 0.5 }, { "tmrw", 0.5 },
    { "tmr", 0.5 }, { "first thing", 0.5 }, { "manana temprano", 0.5 },
    { NULL, 0 }
};

static const weighted_t calm_phrases[] = {
    { "no rush", 1 }, { "no hurry", 1 }, { "not in a rush", 1 },
    { "not in a hurry", 1 }, { "in no rush", 1 }, { "in no hurry", 1 },
    { "no apuro", 1 }, { "sin apuro", 1 }, { "sin prisa", 1 }, { "no hay prisa", 1 },
    { "no hay apuro", 1 }, { "not urgent", 1 }, { "no es urgente", 1 },
    { "nada urgente", 1 }, { "not an emergency", 1 }, { "no emergency", 1 },
    { "no urgency", 1 }, { "whenever", 1 }, { "cuando puedan", 1 },
    { "cuando pueda", 1 }, { "cuando tengan", 1 }, { "just curious", 1 },
    { "curious", 0.5 }, { "curiosidad", 1 }, { "no pressure", 1 },
    { "someday", 1 }, { "eventually", 1 }, { "next year", 1 },
    { "proximo ano", 1 }, { "planning ahead", 1 }, { "down the road", 1 },
    { "not until", 1 }, { "next spring", 1 }, { "next summer", 1 },
    { "next fall", 1 }, { "next winter", 1 }, { "later in the year", 1 },
    { "proxima primavera", 1 }, { "proximo verano", 1 }, { "proximo otono", 1 },
    { "proximo invierno", 1 }, { "sometime", 0.5 }, { "at some point", 1 },
    { "no corre prisa", 1 }, { "con calma", 1 }, { "just wondering", 0.5 },
    { "no big deal", 1 }, { "no biggie", 1 }, { "not a big deal", 1 },
    { "nada grave", 1 }, { "no pasa nada", 1 }, { "heads up", 0.5 }, { "fyi", 0.5 },
    { "just wanted to say", 1 }, { "just wanted to let you know", 1 },
    { "just saying", 1 }, { "solo queria decir*", 1 }, { "nomas queria decir*", 1 },
    { "thank you", 0.5 }, { "thanks", 0.5 }, { "thx", 0.5 }, { "ty", 0.5 },
    { "gracias", 0.5 }, { "appreciate*", 0.5 }, { "great job", 1 }, { "awesome", 0.5 },
    { "loved", 0.5 }, { "you guys rock", 1 }, { "excelente trabajo", 1 },
    { "when you get a chance", 1 },
    { NULL, 0 }
};

static const char *const negators[] = {
    "not", "no", "nada", "nothing", "isnt", "non", "arent", "nunca", "never", NULL
};

static double phrase_score(const cs_clf_doc_t *d, const weighted_t *list,
                           int check_negation)
{
    const weighted_t *w;
    double total = 0.0;

    for (w = list; w->pat; w++) {
        int from = 0, end, at;
        while ((at = find_from(d, w->pat, from, &end)) >= 0) {
            if (!check_negation
                || !(tok_in(d, at - 1, negators) || tok_in(d, at - 2, negators))) {
                total += w->weight;
                break;
            }
            from = at + 1;
        }
    }
    return total;
}

void cs_clf_urgency_signals(const cs_clf_doc_t *d, double *strong,
                            double *soon, double *calm)
{
    *strong = phrase_score(d, urgent_strong, 1);
    *soon = phrase_score(d, urgent_soon, 0);
    *calm = phrase_score(d, calm_phrases, 0);
    if (d->info.exclaims >= 2 && (*strong > 0 || *soon > 0)) {
        *strong += 0.5;
    }
}

/* ---- numbers --------------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

/* Digits with an optional 'k' ("2k"). */
static int is_amount_word(const char *s)
{
    apr_size_t n = strlen(s);
    if (n >= 2 && s[n - 1] == 'k') {
        char buf[16];
        if (n - 1 >= sizeof(buf)) {
            return 0;
        }
        memcpy(buf, s, n - 1);
        buf[n - 1] = '\0';
        return all_digits(buf);
    }
    return n <= 9 && all_digits(s);
}

static long tok_long(const cs_clf_doc_t *d, int i)
{
    const char *s = d->toks[i].text;
    long v = 0;
    for (; *s >= '0' && *s <= '9' && v < 100000000; s++) {
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* Tokens i and i+1 are separated by exactly the character @p sep. */
static int joined_by(const cs_clf_doc_t *d, int i, char sep)
{
    return i + 1 < d->ntoks && d->toks[i + 1].start == d->toks[i].end + 1
        && d->folded[d->toks[i].end] == sep;
}

/* Tokens i and i+1 are separated by white space only (or nothing). */
static int spaced(const cs_clf_doc_t *d, int i)
{
    apr_size_t k;
    if (i + 1 >= d->ntoks) {
        return 0;
    }
    for (k = d->toks[i].end; k < d->toks[i + 1].start; k++) {
        char c = d->folded[k];
        if (c != ' ' && c != '\t') {
            return 0;
        }
    }
    return 1;
}

/* Extend a number at token i over "1,200" / "1.5" / "1 500" groups and a
 * trailing multiplier; returns the last token of the amount. */
static int amount_end(const cs_clf_doc_t *d, int i)
{
    static const char *const mult[] = { "k", "mil", "thousand", "grand", "hundred", NULL };
    int j = i;

    while (j + 1 < d->ntoks && (joined_by(d, j, ',') || joined_by(d, j, '.'))
           && is_amount_word(d->toks[j + 1].text)
           && !strchr(d->toks[j].text, 'k')) {
        j++;
    }
    if (j + 1 < d->ntoks && spaced(d, j) && tok_in(d, j + 1, mult)) {
        j++;
    }
    return j;
}

static const char *const currency_words[] = {
    "dollars", "dollar", "bucks", "usd", "dlls", "dls", "dolares", "dolar",
    "pesos", "grand", "dlrs", NULL
};

static const char *const number_words[] = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "fifteen", "twelve", "eleven", "a",
    "uno", "un", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho",
    "nueve", "diez", "veinte", "treinta", "cuarenta", "cincuenta", "sesenta",
    "setenta", "ochenta", "noventa", "cien", "ciento", "cientos", "doscientos",
    "trescientos", "cuatrocientos", "quinientos", "seiscientos", "setecientos",
    "ochocientos", "novecientos", "mil", "y", "and", NULL
};

static const char *const non_money_units[] = {
    "people", "ppl", "persons", "guests", "personas", "invitados", "gente",
    "sq", "sqft", "ft", "feet", "foot", "pies", "square", "metros", "m2",
    "hours", "hrs", "hr", "horas", "hora", "minutes", "min", "mins", "minutos",
    "miles", "mi", "millas", "km", "years", "yrs", "anos", "x", "lbs", "lb",
    "pounds", "kilos", "kg", "gallon", "gallons", "galones", "bedroom", "bedrooms",
    "bed", "bath", "baths", "br", "ba", "recamaras", "cuartos", "kids", "ninos",
    "pm", "am", "of", "de", "percent", "acre", "acres", NULL
};

static const char *span_tokens(apr_pool_t *p, const cs_clf_doc_t *d, int i, int j)
{
    return cs_clf_orig_span(p, d, d->toks[i].start, d->toks[j].end);
}

const char *cs_clf_extract_budget(apr_pool_t *p, const cs_clf_doc_t *d)
{
    static const char *const budget_kw[] = {
        "budget", "budgeted", "presupuesto", "spend", "gastar", "max", "maximum",
        "maximo", NULL
    };
    int i;

    for (i = 0; i < d->ntoks; i++) {
        const cs_clf_tok_t *t = &d->toks[i];
        const char *s = t->text;
        apr_size_t n = strlen(s);
        int j;

        if (t->kind != CS_TOK_WORD) {
            continue;
        }
        /* $500, $1,200, $2k, $ 300, 500$ */
        if (s[0] == '$' && s[1] >= '0' && s[1] <= '9') {
            return span_tokens(p, d, i, amount_end(d, i));
        }
        if (strcmp(s, "$") == 0 && i + 1 < d->ntoks && spaced(d, i)
            && is_amount_word(d->toks[i + 1].text)) {
            return span_tokens(p, d, i, amount_end(d, i + 1));
        }
        if (n >= 2 && s[n - 1] == '$' && s[0] >= '0' && s[0] <= '9') {
            return span_tokens(p, d, i, i);
        }
        /* 500 dollars, 2k pesos, 300 dólares */
        if (is_amount_word(s)) {
            j = amount_end(d, i);
            if (tok_in(d, j + 1, currency_words)) {
                return span_tokens(p, d, i, j + 1);
            }
        }
        /* three hundred bucks, quinientos pesos */
        if (tok_in(d, i, number_words) && !tok_is(d, i, "a") && !tok_is(d, i, "y")
            && !tok_is(d, i, "and") && !tok_is(d, i, "un")) {
            j = i;
            while (j + 1 < d->ntoks && j - i < 4 && tok_in(d, j + 1, number_words)) {
                j++;
            }
            if (tok_in(d, j + 1, currency_words)) {
                return span_tokens(p, d, i, j + 1);
            }
        }
        /* budget around 2k, presupuesto de 500 */
        if (tok_in(d, i, budget_kw)) {
            int k;
            for (k = i + 1; k < d->ntoks && k <= i + 5; k++) {
                const char *ks = d->toks[k].text;
                if (d->toks[k].kind != CS_TOK_WORD) {
                    break;
                }
                if (ks[0] == '$' && ks[1] >= '0' && ks[1] <= '9') {
                    return span_tokens(p, d, k, amount_end(d, k));
                }
                if (is_amount_word(ks)) {
                    j = amount_end(d, k);
                    if (tok_in(d, j + 1, currency_words)) {
                        return span_tokens(p, d, k, j + 1);
                    }
                    if (tok_in(d, j + 1, non_money_units) || tok_long(d, k) == 0) {
                        break;
                    }
                    /* a range: 1500-2000 */
                    if (joined_by(d, j, '-') && is_amount_word(d->toks[j + 1].text)) {
                        j = amount_end(d, j + 1);
                    }
                    return span_tokens(p, d, k, j);
                }
            }
        }
    }
    return NULL;
}

/* ---- dates and times ------------------------------------------------------ */

static const char *const weekdays[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays",
    "sundays", "tues", "thurs", "weds",
    "lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo",
    "sabados", "domingos", NULL
};

static const char *const months[] = {
    "january", "february", "march", "april", "june", "july", "august",
    "september", "october", "november", "december",
    "enero", "febrero", "marzo", "abril", "junio", "julio", "agosto",
    "septiembre", "setiembre", "octubre", "noviembre", "diciembre", NULL
};

/* Month names that are also ordinary words: only count next to a day. */
static const char *const months_with_day[] = {
    "may", "mayo", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "ene", "abr", "ago", "dic", NULL
};

static const char *const day_modifiers[] = {
    "next", "this", "coming", "proximo", "proxima", "este", "esta", NULL
};

static const char *const day_parts[] = {
    "morning", "afternoon", "evening", "night", "am", "pm", NULL
};

static const char *const es_day_parts[] = {
    "manana", "tarde", "noche", "madrugada", NULL
};

/* "8", "8th", "1st", "22nd", "3rd" -> day 1..31, else 0. */
static int day_number(const char *s)
{
    int v = 0, digits = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (++digits > 2) {
            return 0;
        }
    }
    if (!digits || (*s && strcmp(s, "st") && strcmp(s, "nd") && strcmp(s, "rd")
                    && strcmp(s, "th") && strcmp(s, "o"))) {
        return 0;
    }
    return v >= 1 && v <= 31 ? v : 0;
}

static int is_ordinal(const char *s)
{
    apr_size_t n = strlen(s);
    return n >= 3 && day_number(s) && !all_digits(s);
}

/* "10am", "3pm", "10a", "7p" -> 1; "10", "3" with hour in range -> 2; else 0. */
static int hour_token(const char *s, int *ampm)
{
    int v = 0, digits = 0;
    *ampm = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (++digits > 2) {
            return 0;
        }
    }
    if (!digits || v > 24) {
        return 0;
    }
    if (!*s) {
        return 2;
    }
    if (!strcmp(s, "am") || !strcmp(s, "pm") || !strcmp(s, "a") || !strcmp(s, "p")
        || !strcmp(s, "hrs") || !strcmp(s, "h")) {
        *ampm = 1;
        return v <= 12 || s[0] == 'h' ? 1 : 0;
    }
    return 0;
}

static int minutes_token(const char *s, int *ampm)
{
    *ampm = 0;
    if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9')) {
        return 0;
    }
    if (!s[2]) {
        return 1;
    }
    if (!strcmp(s + 2, "am") || !strcmp(s + 2, "pm") || !strcmp(s + 2, "a")
        || !strcmp(s + 2, "p") || !strcmp(s + 2, "hrs") || !strcmp(s + 2, "h")) {
        *ampm = 1;
        return 1;
    }
    return 0;
}

/* A clock time starting at token i: "10am", "10 am", "10:30", "3:30 pm",
 * "10 a.m."; with @p needs_marker, a bare hour needs am/pm or a minute part.
 * Returns the last token, or -1. */
static int time_at(const cs_clf_doc_t *d, int i, int needs_marker)
{
    int ampm = 0, kind, j = i, marked = 0;

    if (i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD) {
        return -1;
    }
    kind = hour_token(d->toks[i].text, &ampm);
    if (!kind) {
        return -1;
    }
    if (kind == 1) {
        marked = 1;
    }
    else if (joined_by(d, i, ':') && minutes_token(d->toks[i + 1].text, &ampm)) {
        j = i + 1;
        marked = 1;
    }
    if (!ampm && j + 1 < d->ntoks && spaced(d, j)) {
        if (tok_is(d, j + 1, "am") || tok_is(d, j + 1, "pm")) {
            j++;
            marked = 1;
        }
        else if ((tok_is(d, j + 1, "a") || tok_is(d, j + 1, "p"))
                 && joined_by(d, j + 1, '.') && tok_is(d, j + 2, "m")) {
            j += 2;
            marked = 1;
        }
        else if (tok_is(d, j + 1, "oclock")) {
            j++;
            marked = 1;
        }
    }
    if (!marked && needs_marker) {
        return -1;
    }
    /* "a las 3 de la tarde", "at 7 in the evening" */
    if (match_at(d, j + 1, "de la") == j + 3 && tok_in(d, j + 3, es_day_parts)) {
        j += 3;
    }
    else if (match_at(d, j + 1, "in the") == j + 3 && tok_in(d, j + 3, day_parts)) {
        j += 3;
    }
    else if (match_at(d, j + 1, "en la") == j + 3 && tok_in(d, j + 3, es_day_parts)) {
        j += 3;
    }
    return j;
}

/* "locations", "stores": a plural that a bare number before it counts. */
static int counted_noun(const cs_clf_doc_t *d, int i)
{
    static const char *const not_nouns[] = {
        "is", "was", "has", "works", "thanks", "pls", "yes", "this", "its", "as",
        "us", "his", "its", "plus", "mas", "tres", "dos", "seis", "sharp", NULL
    };
    const char *s, *c;
    apr_size_t n;

    if (i >= d->ntoks || d->toks[i].kind != CS_TOK_WORD || tok_in(d, i, not_nouns)) {
        return 0;
    }
    s = d->toks[i].text;
    n = strlen(s);
    for (c = s; *c; c++) {
        if (*c < 'a' || *c > 'z') {
            return 0;
        }
    }
    return n >= 4 && s[n - 1] == 's';
}

/* ---- when_at: one date or time expression --------------------------------- */

/* Each when_* part below looks at token i for one kind of expression. It
 * returns the expression's last token; -1 when token i starts that kind of
 * expression but none follows (the search at i stops); or WHEN_NONE when
 * token i is not that kind at all (the next part looks). */
#define WHEN_NONE (-2)

/* Fixed phrases, tried in this order; a weekday right after joins them
 * ("next week Monday"). */
static const char *const when_phrases[] = {
    "pasado manana", "hoy mismo", "medio dia", "fin de semana", "esta noche",
    "esta tarde", "esta manana", "this morning", "this afternoon", "this evening",
    "next week", "next month", "this week", "end of the month", "la proxima semana",
    "la semana que viene", "el proximo mes", "el mes que viene", "esta semana",
    "same day", "right now", "ahora mismo", NULL
};

/* Single words that name a day or a time of day. */
static const char *const when_relative[] = {
    "today", "tonight", "tomorrow", "tmrw", "tmr", "tomorow", "tommorow",
    "tommorrow", "2morrow", "2nite", "tonite", "hoy", "noon", "midnight",
    "mediodia", "medianoche", "weekend", "finde", NULL
};

static const char *const seasons[] = {
    "spring", "summer", "fall", "autumn", "winter", "primavera", "verano",
    "otono", "invierno", NULL
};

/* "por la tarde" / "en la noche" after token i: returns its last token,
 * or i when there is none. */
static int es_day_part_after(const cs_clf_doc_t *d, int i)
{
    if ((match_at(d, i + 1, "en la") == i + 3 || match_at(d, i + 1, "por la") == i + 3)
        && tok_in(d, i + 3, es_day_parts)) {
        return i + 3;
    }
    return i;
}

/* "morning", "evening" (not am/pm) right after token i. */
static int day_part_follows(const cs_clf_doc_t *d, int i)
{
    return tok_in(d, i + 1, day_parts) && !tok_is(d, i + 1, "am")
        && !tok_is(d, i + 1, "pm");
}

/* pasado mañana, this afternoon, next week (Monday), right now */
static int when_phrase(const cs_clf_doc_t *d, int i)
{
    const char *const *ph;

    for (ph = when_phrases; *ph; ph++) {
        int e = match_at(d, i, *ph);
        if (e > 0) {
            int j = e - 1;
            return tok_in(d, j + 1, weekdays) ? j + 1 : j;
        }
    }
    return WHEN_NONE;
}

/* next Tuesday, this saturday, el próximo lunes, este fin de semana */
static int when_day_modifier(const cs_clf_doc_t *d, int i)
{
    if (!tok_in(d, i, day_modifiers)) {
        return WHEN_NONE;
    }
    if (tok_in(d, i + 1, weekdays) || tok_is(d, i + 1, "weekend")
        || tok_in(d, i + 1, seasons)) {
        return i + 1;
    }
    if (match_at(d, i + 1, "fin de semana") == i + 4) {
        return i + 3;
    }
    return -1;
}

/* Tuesday (morning), sábado (en la tarde); "Saturday June 8th" stays two */
static int when_weekday(const cs_clf_doc_t *d, int i)
{
    if (!tok_in(d, i, weekdays)) {
        return WHEN_NONE;
    }
    return day_part_follows(d, i) ? i + 1 : es_day_part_after(d, i);
}

/* mañana (en la tarde / temprano): "tomorrow", except "la mañana" (the
 * morning) */
static int when_manana(const cs_clf_doc_t *d, int i)
{
    int j;

    if (!tok_is(d, i, "manana")) {
        return WHEN_NONE;
    }
    if (tok_is(d, i - 1, "la") || tok_is(d, i - 1, "las") || tok_is(d, i - 1, "una")) {
        return -1;
    }
    j = es_day_part_after(d, i);
    if (j == i && match_at(d, i + 1, "temprano") == i + 2) {
        j = i + 1;
    }
    return j;
}

/* today, tonight, tomorrow (morning), noon, weekend */
static int when_relative_day(const cs_clf_doc_t *d, int i)
{
    const char *s = d->toks[i].text;

    if (!tok_in(d, i, when_relative)) {
        return WHEN_NONE;
    }
    if ((!strncmp(s, "tom", 3) || !strncmp(s, "tmr", 3) || !strcmp(s, "2morrow"))
        && day_part_follows(d, i)) {
        return i + 1;
    }
    return i;
}

/* 3/14, 3/14/2025, 14/03; not 24/7, "1/2 acre" or the middle of a/b/c */
static int when_slash_date(const cs_clf_doc_t *d, int i)
{
    static const char *const units[] = {
        "acre", "acres", "inch", "in", "mile", "miles", "cup", "cups", "lb",
        "off", "hour", "hours", "hr", "of", NULL
    };
    const char *s = d->toks[i].text, *next;
    long a, b;
    int j;

    if (!all_digits(s) || !joined_by(d, i, '/') || !all_digits(d->toks[i + 1].text)) {
        return WHEN_NONE;
    }
    next = d->toks[i + 1].text;
    a = tok_long(d, i);
    b = tok_long(d, i + 1);
    if (strlen(s) > 2 || strlen(next) > 2 || a < 1 || b < 1
        || !((a <= 12 && b <= 31) || (a <= 31 && b <= 12))
        || (a == 24 && b == 7) || tok_in(d, i + 2, units)
        || (i > 0 && joined_by(d, i - 1, '/'))) {
        return -1;
    }
    j = i + 1;
    if (joined_by(d, j, '/') && all_digits(d->toks[j + 1].text)
        && (strlen(d->toks[j + 1].text) == 2 || strlen(d->toks[j + 1].text) == 4)) {
        j++;
    }
    return j;
}

/* June 8th, June the 8th, marzo 14, may 5 ("may" alone is not a month) */
static int when_month(const cs_clf_doc_t *d, int i)
{
    int j = i;

    if (!tok_in(d, i, months) && !tok_in(d, i, months_with_day)) {
        return WHEN_NONE;
    }
    if (tok_is(d, i + 1, "the") && i + 2 < d->ntoks && day_number(d->toks[i + 2].text)) {
        j = i + 2;
    }
    else if (i + 1 < d->ntoks && day_number(d->toks[i + 1].text)
             && !tok_in(d, i + 2, non_money_units)) {
        j = i + 1;
    }
    if (j == i && !tok_in(d, i, months)) {
        return -1;
    }
    return j;
}

/* 14 de marzo, 8th of June, the 15th; other numbers are left to the time
 * parts */
static int when_day_of_month(const cs_clf_doc_t *d, int i)
{
    const char *s = d->toks[i].text;

    if (!day_number(s)) {
        return WHEN_NONE;
    }
    if (match_at(d, i + 1, "de") == i + 2
        && (tok_in(d, i + 2, months) || tok_in(d, i + 2, months_with_day))) {
        return i + 2;
    }
    if (match_at(d, i + 1, "of") == i + 2 && tok_in(d, i + 2, months)) {
        return i + 2;
    }
    if (is_ordinal(s) && (tok_is(d, i - 1, "the") || tok_is(d, i - 1, "on"))) {
        return i;
    }
    return WHEN_NONE;
}

/* at 5, around 3:30 pm, by 10, until 7 in the evening; not "at 5 people",
 * "by 3 locations" or "at 5/6" */
static int when_at_hour(const cs_clf_doc_t *d, int i)
{
    static const char *const preps[] = { "at", "around", "by", "til", "until", NULL };
    static const char *const not_time[] = {
        "people", "ppl", "guests", "persons", "kids", "dollars", "bucks",
        "percent", "years", "yrs", "miles", "feet", "ft", "of", "x", "or",
        "and", NULL
    };
    int ampm, j;

    if (!tok_in(d, i, preps) || i + 1 >= d->ntoks) {
        return WHEN_NONE;
    }
    if (hour_token(d->toks[i + 1].text, &ampm) && tok_long(d, i + 1) <= 12
        && !tok_in(d, i + 2, not_time) && !(spaced(d, i + 1) && counted_noun(d, i + 2))
        && !(joined_by(d, i + 1, '/') || joined_by(d, i + 1, '-')
             || joined_by(d, i + 1, '.'))) {
        j = time_at(d, i + 1, 0);
        if (j >= 0 && tok_long(d, i + 1) >= 1) {
            return j;
        }
    }
    return -1;
}

/* a las 3 (de la tarde), a la 1 */
static int when_a_las(const cs_clf_doc_t *d, int i)
{
    int ampm, j;

    if ((match_at(d, i, "a las") != i + 2 && match_at(d, i, "a la") != i + 2)
        || i + 2 >= d->ntoks) {
        return WHEN_NONE;
    }
    if (hour_token(d->toks[i + 2].text, &ampm) && tok_long(d, i + 2) >= 1
        && tok_long(d, i + 2) <= 12) {
        j = time_at(d, i + 2, 0);
        if (j >= 0) {
            return j;
        }
    }
    return -1;
}

/* 10am, 3:30 pm, 10 a.m.; not inside "10:30-11" or a "555-1234" number */
static int when_clock(const cs_clf_doc_t *d, int i)
{
    int j;

    if (i > 0 && (joined_by(d, i - 1, ':') || joined_by(d, i - 1, '-')
                  || joined_by(d, i - 1, '/'))) {
        return -1;
    }
    j = time_at(d, i, 1);
    if (j >= 0 && j + 1 < d->ntoks && joined_by(d, j, '-')
        && all_digits(d->toks[j + 1].text)) {
        return -1;
    }
    return j;
}

typedef int (*when_part_t)(const cs_clf_doc_t *d, int i);

/* In order: the first part that recognizes token i decides. */
static const when_part_t when_parts[] = {
    when_phrase, when_day_modifier, when_weekday, when_manana, when_relative_day,
    when_slash_date, when_month, when_day_of_month, when_at_hour, when_a_las,
    when_clock, NULL
};

/* One date or time expression starting at token i; returns its last token,
 * or -1. */
static int when_at(const cs_clf_doc_t *d, int i)
{
    const when_part_t *part;

    if (d->toks[i].kind != CS_TOK_WORD) {
        return -1;
    }
    for (part = when_parts; *part; part++) {
        int j = (*part)(d, i);
        if (j != WHEN_NONE) {
            return j;
        }
    }
    return -1;
}

#define MAX_WHEN 8

apr_array_header_t *cs_clf_extract_when(apr_pool_t *p, const cs_clf_doc_t *d)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    int i;

    for (i = 0; i < d->ntoks && out->nelts < MAX_WHEN; i++) {
        int j = when_at(d, i);
        const char *s;
        int k, dup = 0;

        if (j < i) {
            continue;
        }
        s = span_tokens(p, d, i, j);
        for (k = 0; k < out->nelts; k++) {
            if (!strcasecmp(APR_ARRAY_IDX(out, k, const char *), s)) {
                dup = 1;
                break;
            }
        }
        if (!dup && *s) {
            APR_ARRAY_PUSH(out, const char *) = s;
        }
        i = j;
    }
    return out;
}

/* ---- services -------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *const *pats;
} service_t;

/* More specific entries first: at the same position the earlier entry wins. */
static const service_t services[] = {
    { "couch removal", PATS("couch removal", "sofa removal", "remov* ~ couch*",
        "remov* ~ sofa*", "haul* ~ couch*", "haul* ~ sofa*", "haul* ~ sectional*",
        "haul* ~ loveseat*", "get rid of ~ couch*", "get rid of ~ sofa*",
        "pick* up ~ couch*", "take* ~ couch*", "dispose ~ couch*", "couch* ~ haul*",
        "couch* ~ remov*", "couch* ~ picked up", "llevar* ~ sillon*", "llevar* ~ sofa*",
        "tirar ~ sillon*", "tirar ~ sofa*", "sacar ~ sillon*", "sacar ~ sofa*",
        "recoger ~ sillon*", "recoger ~ sofa*", "retirar ~ sillon*", "retirar ~ sofa*",
        "deshacerme ~ sillon*", "deshacerme ~ sofa*") },
    { "mattress removal", PATS("mattress removal", "haul* ~ mattress*",
        "get rid of ~ mattress*", "remov* ~ mattress*", "pick* up ~ mattress*",
        "dispose ~ mattress*", "llevar* ~ colchon*", "tirar ~ colchon*",
        "recoger ~ colchon*", "sacar ~ colchon*") },
    { "appliance removal", PATS("appliance removal", "haul* ~ fridge*",
        "haul* ~ refrigerator*", "haul* ~ washer*", "haul* ~ dryer*",
        "haul* ~ appliance*", "get rid of ~ fridge*", "get rid of ~ appliance*",
        "llevar* ~ refri*", "llevar* ~ lavadora*", "tirar ~ refri*") },
    { "hot tub removal", PATS("hot tub removal", "remov* ~ hot tub*",
        "haul* ~ hot tub*", "remov* ~ jacuzzi*") },
    { "move-out cleaning", PATS("move out clean*", "moveout clean*",
        "move out deep clean*", "end of lease clean*", "moving out clean*",
        "limpieza de salida", "limpieza de mudanza", "limpieza al salir",
        "limpieza ~ desocupar", "limpieza ~ entregar el departamento") },
    { "move-in cleaning", PATS("move in clean*", "movein clean*",
        "limpieza de entrada") },
    { "deep cleaning", PATS("deep clean*", "limpieza profunda", "limpieza a fondo",
        "spring clean*") },
    { "carpet cleaning", PATS("carpet clean*", "clean* ~ carpet*", "rug clean*",
        "shampoo ~ carpet*", "limpieza de alfombra*", "lavar ~ alfombra*",
        "limpiar ~ alfombra*", "upholstery clean*") },
    { "window cleaning", PATS("window clean*", "clean* ~ windows", "wash* ~ windows",
        "limpieza de ventanas", "limpiar ~ ventanas", "lavar ~ ventanas") },
    { "gutter cleaning", PATS("gutter*", "canaleta*", "canalon*") },
    { "pressure washing", PATS("pressure wash*", "power wash*", "powerwash*",
        "lavado a presion", "hidrolavado*", "presion ~ lavar") },
    { "office cleaning", PATS("office clean*", "clean* ~ office", "limpieza de oficina*",
        "commercial clean*", "janitorial") },
    { "junk removal", PATS("junk*", "haul away", "haul off", "hauling", "?haul*",
        "clean out", "cleanout*", "clear out", "estate clean*",
        "garage clean*", "basement clean*", "debris", "dumpster", "trash removal",
        "?get rid of", "dump run", "retiro de basura", "retirar basura", "sacar basura",
        "sacar ~ cosas", "recoger basura", "tiliches", "cacharros", "escombro*",
        "triques", "?vaciar", "llevarse ~ muebles", "llevar ~ muebles",
        "sacar ~ muebles", "tirar ~ muebles") },
    { "house cleaning", PATS("house clean*", "home clean*", "apartment clean*",
        "clean* ~ house", "clean* ~ apartment", "clean* ~ apt", "clean* ~ home",
        "maid*", "housekeep*", "?cleaning", "?cleaner*", "?limpieza*", "?limpiar*",
        "?limpien", "?limpie", "?clean") },
    { "beard trim", PATS("beard*", "barba*", "line up", "lineup", "shape up") },
    { "fade", PATS("fade*", "skin fade", "taper*", "degradado*", "desvanecido*",
        "difuminado*") },
    { "kids haircut", PATS("kids cut*", "kid* haircut*", "corte ~ nino*") },
    { "haircut", PATS("haircut*", "hair cut*", "hair ~ cut", "?trim", "buzz cut*",
        "corte de pelo", "corte de cabello", "cortar* ~ pelo", "cortar* ~ cabello",
        "cortarme el pelo", "corte y barba", "corte para ~ hijo*", "corte para ~ nino*",
        "?recorte", "?corte") },
    { "hair coloring", PATS("highlights", "hair color*", "color* ~ hair",
        "balayage", "tinte", "mechas", "pintar* ~ cabello") },
    { "shave", PATS("shave*", "afeitad*", "rasurad*") },
    { "manicure", PATS("manicure*", "pedicure*", "nails", "unas", "mani pedi") },
    { "massage", PATS("massage*", "masaje*") },
    { "wedding cake", PATS("wedding cake*", "pastel de boda*", "pastel ~ boda") },
    { "cake", PATS("cake*", "cupcake*", "pastel*", "torta*", "bizcocho*", "queque") },
    { "catering", PATS("cater*", "banquete*", "taquiza*", "buffet*", "bufete",
        "comida para ~ personas", "food for ~ people", "platter*", "charolas",
        "boxed lunch*", "lunch for ~ people") },
    { "coffee", PATS("coffee bar", "espresso bar", "coffee cart", "cafe para ~ personas",
        "coffee for ~ people") },
    { "delivery", PATS("?deliver*", "?entrega*", "a domicilio", "?envio*",
        "?enviar", "?drop off") },
    { "pickup", PATS("pick up order*", "?pickup", "?pick up", "?pick it up",
        "para llevar", "?recoger", "?recogerlo", "?recogerla", "to go order*",
        "carryout", "carry out", "takeout") },
    { "interior detailing", PATS("interior detail*", "interior only",
        "detallado interior", "limpieza interior", "interior ~ auto*",
        "interior ~ carro*", "interior ~ coche*") },
    { "detailing", PATS("detailing", "auto detail*", "car detail*", "full detail*",
        "detail ~ car*", "detail ~ truck*", "detail ~ suv*", "detail ~ van",
        "detail my", "?detail", "detallado*", "car wash",
        "wax*", "encerado*", "lavado de auto*", "lavado de carro*", "lavar ~ carro*",
        "lavar ~ auto*", "lavar ~ camioneta*", "ceramic coat*", "paint correction") },
    { "water heater repair", PATS("water heater*", "calentador*", "boiler") },
    { "drain cleaning", PATS("drain*", "clog*", "unclog*", "snake", "rooter",
        "backed up", "drenaje*", "destap*", "tapad*", "tapo", "coladera*") },
    { "plumbing repair", PATS("plumb*", "leak*", "pipe*", "toilet*", "faucet*",
        "sink", "garbage disposal", "sewer", "plomer*", "fuga*", "tubo*",
        "tuberia*", "inodoro*", "excusado*", "llave* de agua", "lavabo",
        "regadera") },
    { "electrical repair", PATS("electrician", "electrical", "outlet*", "breaker*",
        "wiring", "electricista", "electrico", "enchufe*") },
    { "hvac repair", PATS("hvac", "furnace", "air condition*", "ac unit",
        "ac repair", "ac not", "a c", "heat pump", "aire acondicionado", "minisplit*",
        "calefaccion") },
    { "locksmith", PATS("locksmith", "locked out", "rekey*", "?lock*", "cerrajer*",
        "cerradura*", "chapa", "?llaves") },
    { "pest control", PATS("pest*", "exterminat*", "roach*", "termite*", "mice",
        "rats", "bed bugs", "ants", "plaga*", "fumiga*", "cucaracha*", "ratas",
        "ratones", "chinches", "hormigas") },
    { "lawn mowing", PATS("mow*", "lawn mow*", "lawn care",
        "cortar ~ pasto", "cortar ~ cesped", "cortar ~ zacate", "podar ~ pasto",
        "podar ~ cesped", "pasto", "cesped", "zacate", "yard work", "?lawn", "?grass") },
    { "lawn aeration", PATS("aerat*", "aireacion", "airear") },
    { "tree trimming", PATS("tree*", "arbol*", "hedge*", "shrub*", "bush*",
        "arbusto*", "seto*", "stump*", "tocon*", "podar*", "poda") },
    { "yard cleanup", PATS("yard clean*", "fall clean*", "spring yard", "leaf*",
        "leaves", "hojas", "limpieza de jardin", "limpieza del jardin",
        "limpieza de patio", "limpiar ~ jardin", "limpiar ~ patio", "?yard") },
    { "landscaping", PATS("landscap*", "garden*", "jardin*", "mulch*", "sod",
        "patio", "pavers", "retaining wall", "plantas", "piedras", "flower bed*") },
    { "snow removal", PATS("snow*", "nieve", "plow*") },
    { "moving", PATS("movers", "moving company", "?moving", "?move", "mudanza*",
        "mudanceros", "?mudar*", "cargadores", "flete*") },
    { "painting", PATS("paint*", "pintar*", "pintura", "pintor*") },
    { "handyman", PATS("handyman", "drywall", "assembl*", "mount* ~ tv",
        "tv mount*", "armar ~ mueble*", "?reparacion*", "?repair*", "?fix*",
        "?arreglar*", "?arreglo*") },
    { "pet grooming", PATS("groom*", "dog wash", "bano ~ perro*", "estetica canina",
        "nail trim") },
    { "dog walking", PATS("dog walk*", "walk ~ dog*", "pasear ~ perro*",
        "pet sit*", "cuidar ~ perro*") },
    { "photography", PATS("photograph*", "photo shoot", "photoshoot", "headshot*",
        "fotograf*", "sesion de fotos") },
    { "tutoring", PATS("tutor*", "?lesson*", "?clases", "?classes") },
    { "reservation", PATS("reservation*", "table for", "reserva*", "mesa para") },
    { "private event", PATS("private event*", "private party", "rent ~ space",
        "book ~ space", "evento privado", "rentar ~ local", "party room") },
    { NULL, NULL }
};

/* Patterns starting with '?' are generic words ("cleaning", "fix", "pick
 * up"): they only count when no specific pattern matches anywhere. */
const char *cs_clf_extract_service(const cs_clf_doc_t *d)
{
    int tier, i;

    for (tier = 0; tier < 2; tier++) {
        for (i = 0; i < d->ntoks; i++) {
            const service_t *sv;
            if (d->toks[i].kind != CS_TOK_WORD) {
                continue;
            }
            for (sv = services; sv->name; sv++) {
                const char *const *pt;
                for (pt = sv->pats; *pt; pt++) {
                    const char *pat = *pt;
                    if ((pat[0] == '?') != tier) {
                        continue;
                    }
                    if (match_at(d, i, pat + tier) > i) {
                        return sv->name;
                    }
                }
            }
        }
    }
    return NULL;
}

/* ---- language ----------------------------------------------------------- */

static const char *const es_words[] = {
    "de", "la", "que", "el", "en", "y", "los", "del", "se", "las", "por", "un",
    "para", "con", "una", "su", "al", "lo", "como", "mas", "pero", "sus", "le",
    "ya", "o", "este", "porque", "esta", "cuando", "muy", "sin", "sobre",
    "tambien", "hasta", "hay", "donde", "quien", "desde", "todo", "nos", "es",
    "son", "mi", "tengo", "tiene", "tienen", "necesito", "quiero", "quisiera",
    "cuanto", "cuanta", "cuesta", "cobran", "pueden", "puede", "favor", "hola",
    "gracias", "buenas", "buenos", "dias", "usted", "ustedes", "hoy", "manana",
    "estoy", "somos", "hacer", "seria", "sabado", "domingo", "bien", "pues",
    "ahorita", "nomas", "llamar", "llameme", "numero", "mis", "tu", "ustedes",
    "quisieramos", "necesitamos", "queremos", "algo", "nada", "casa", "semana",
    NULL
};

static const char *const en_words[] = {
    "the", "and", "to", "of", "in", "is", "it", "you", "that", "for", "on",
    "with", "are", "be", "this", "have", "i", "my", "we", "can", "do", "at",
    "your", "will", "our", "an", "if", "what", "how", "would", "need", "just",
    "from", "please", "hi", "hello", "thanks", "thank", "get", "know", "there",
    "so", "but", "not", "or", "was", "about", "like", "any", "want", "looking",
    "much", "does", "im", "its", "dont", "could", "when", "u", "ur", "pls",
    "hey", "today", "tomorrow", "call", "back", "um", "uh", "yes", "got",
    "some", "should", "they", "them", "his", "her", "he", "she", "us", "been",
    NULL
};

const char *cs_clf_guess_lang(const cs_clf_doc_t *d)
{
    double es = 0.0, en = 0.0;
    int i;

    for (i = 0; i < d->ntoks; i++) {
        if (tok_in(d, i, es_words)) {
            es += 1.0;
        }
        else if (tok_in(d, i, en_words)) {
            en += 1.0;
        }
    }
    es += 1.5 * (d->info.inverted_q + (d->info.spanish_letters > 3 ? 3 : d->info.spanish_letters));
    return es > en ? "es" : "en";
}
