/* Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * mod_upgrade_required: answer 426 Upgrade Required (RFC 9110 §15.5.22)
 * to every request that does not reach a resource over the protocol the
 * administrator asked for.
 *
 *   UpgradeRequire protocol [protocol] ... | off
 *       One line is one requirement, its protocols are alternatives, all
 *       lines of a scope must hold; a scope with lines replaces what it
 *       inherits.  Families: websocket, TLS[/1.x], HTTP/1.1, HTTP/2, h2c
 *       and any other RFC 9110 upgrade token.
 *   UpgradeRequireMode enforce | report
 *   UpgradeRequireTrustedProxy addr[/mask] ...   (server, vhost)
 *
 * Request flow.  Directive arguments are compiled at configuration time
 * into ur_rule structs with a pre-joined Upgrade value.  The decision is
 * made once, in post_perdir_config: the per-directory merge (including
 * .htaccess and <If>) is complete there, and authentication has not run
 * yet.  A fixups hook would be too late: a plaintext client of a
 * password-protected "UpgradeRequire TLS" area would first get a 401 and
 * send its password in clear.  The pure core (ur_evaluate) sees only a
 * ur_facts summary of the request; the glue gathers the facts, sets
 * Upgrade, Connection: Upgrade and Cache-Control on err_headers_out, picks
 * a body negotiated on Accept (unless an ErrorDocument 426 applies) and
 * returns HTTP_UPGRADE_REQUIRED.  An output filter, added only for our
 * own 426s (insert_error_filter for the canned or string body,
 * insert_filter for the redirected ErrorDocument request), asserts those
 * headers once more just before they are sent, since error pages, CGIs,
 * mod_headers or mod_http2's h2c advertisement may have changed them.
 */

#include "apr_strings.h"
#include "apr_cstr.h"
#include "apr_lib.h"
#include "apr_network_io.h"

#ifndef UR_UNIT_TEST
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mod_core.h"
#include "util_filter.h"
#endif

/* ------------------------------------------------------------------ */
/* Declarations and constants                                          */
/* ------------------------------------------------------------------ */

#ifndef UR_UNIT_TEST
module AP_MODULE_DECLARE_DATA upgrade_required_module;
#endif

/* Our own stable log tags; httpd's AHnnnnn numbers belong to httpd. */
#define URLOGNO(n)          "UR" #n ": "

#define UR_FILTER_NAME      "UPGRADE_REQUIRED"
#define UR_ENV_NAME         "UPGRADE_REQUIRED"
#define UR_NOTE_NAME        "upgrade-required"

#define UR_MAX_RULES        32      /* requirements in one scope (bitmask) */
#define UR_MAX_TOKENS       16      /* alternatives on one line */

#define UR_HTTP_1_1         1001    /* HTTP_VERSION(1,1), without httpd.h */
#define UR_HTTP_2           2000    /* HTTP_VERSION(2,0) */

/* Token families: what a request must show to satisfy a token. */
#define UR_FAM_WEBSOCKET    0x01
#define UR_FAM_TLS          0x02
#define UR_FAM_HTTP         0x04
#define UR_FAM_H2C          0x08
#define UR_FAM_OTHER        0x10
#define UR_FAM_UPGRADE      (UR_FAM_WEBSOCKET | UR_FAM_H2C | UR_FAM_OTHER)

/* Why a requirement is not met; the reason of the first unmet line. */
typedef enum {
    UR_OK = 0,
    UR_NO_UPGRADE,          /* no matching Upgrade + Connection: upgrade */
    UR_HTTP10_UPGRADE,      /* Upgrade sent with HTTP/1.0: RFC 9110 §7.8 */
    UR_WS_METHOD,           /* websocket handshake with a method not GET */
    UR_WS_VERSION,          /* Sec-WebSocket-Version is not 13 */
    UR_NO_TLS,              /* plaintext connection */
    UR_TLS_OLD,             /* TLS below the version asked for */
    UR_TLS_UNPROVEN,        /* TLS seen only through a proxy header */
    UR_PROTO_OLD,           /* HTTP version below the one asked for */
    UR_H2C_REFUSED          /* h2c offered, but this server would not switch */
} ur_reason;

typedef enum {
    UR_BODY_HTML = 0,
    UR_BODY_JSON,
    UR_BODY_PLAIN
} ur_body_type;

#define UR_MODE_UNSET       0
#define UR_MODE_ENFORCE     1
#define UR_MODE_REPORT      2

/* How the connection reached us, as far as TLS is concerned. */
#define UR_TLS_NONE         0
#define UR_TLS_DIRECT       1       /* mod_ssl terminated it */
#define UR_TLS_PROXY        2       /* a trusted proxy says it did */

/* ------------------------------------------------------------------ */
/* Configuration structures                                            */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;           /* as written; websocket, h2c lower case */
    apr_size_t len;             /* strlen(name) */
    int family;                 /* one UR_FAM_* bit */
    int tls_min;                /* TLS: 0 any version, else 10..13 */
    int proto_min;              /* HTTP: minimum r->proto_num */
} ur_token;

typedef struct {
    const ur_token *tokens;     /* the alternatives, config order */
    int ntokens;                /* how many */
    int families;               /* OR of the tokens' families */
    const char *upgrade;        /* pre-joined Upgrade header value */
    const char *text;           /* the tokens joined by " or ", for logs */
    const char *json;           /* JSON array of the tokens */
    const char *file;           /* where the directive was written */
    unsigned line;              /* ... and on which line */
} ur_rule;

typedef struct {
    const ur_rule *rules;       /* NULL: unset; nrules 0: "off" */
    int nrules;                 /* number of rules */
    int families;               /* OR over all rules: facts to gather */
    int need_tls_version;       /* a versioned TLS token exists */
    int mode;                   /* UR_MODE_* */
    apr_array_header_t *build;  /* config time only: rules being added */
} ur_dir_conf;

typedef struct {
    apr_array_header_t *proxies; /* apr_ipsubnet_t *, NULL if none */
} ur_srv_conf;

/* ------------------------------------------------------------------ */
/* The pure policy core: no pools, no logging, no request_rec           */
/* ------------------------------------------------------------------ */

/* What the policy needs to know about one request. */
typedef struct {
    int proto_num;              /* r->proto_num */
    int tls;                    /* UR_TLS_* */
    int tls_version;            /* 10..13 for TLS 1.0..1.3, 0 unknown */
    const char *upgrade;        /* Upgrade value; NULL if absent/HTTP/1.0 */
    int upgrade_ignored;        /* Upgrade present but ignored (HTTP/1.0) */
    int conn_upgrade;           /* Connection lists "upgrade" */
    int is_get;                 /* method is GET */
    const char *ws_version;     /* Sec-WebSocket-Version, or NULL */
    int h2c_accepted;           /* this server would switch to h2c */
} ur_facts;

typedef struct {
    int first;                  /* index of the first unmet rule, or -1 */
    ur_reason reason;           /* why the first unmet rule failed */
    apr_uint32_t unmet;         /* bit i: rule i is unmet */
    int ws_version;             /* a websocket token failed on version */
} ur_verdict;

static int ur_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Walk a comma-separated header list (RFC 9110 §5.6.1).  Empty elements
 * and optional whitespace are skipped; a quoted string is kept whole so
 * that a comma inside it does not split the element.  Returns 0 at the
 * end, otherwise 1 with the element in item/len.  Never allocates.
 */
static int ur_list_next(const char **cursor, const char **item,
                        apr_size_t *len)
{
    const char *s = *cursor;
    const char *start, *end;

    while (ur_is_ows(*s) || *s == ',') {
        s++;
    }
    if (!*s) {
        *cursor = s;
        return 0;
    }
    start = s;
    while (*s && *s != ',') {
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1]) {
                    s++;
                }
                s++;
            }
            if (*s) {
                s++;
            }
        }
        else {
            s++;
        }
    }
    end = s;
    while (end > start && ur_is_ows(end[-1])) {
        end--;
    }
    *cursor = s;
    *item = start;
    *len = (apr_size_t)(end - start);
    return 1;
}

/* Does the list contain tok (case-insensitive, whole element)? */
static int ur_list_has(const char *list, const char *tok, apr_size_t toklen)
{
    const char *item;
    apr_size_t len;

    if (!list) {
        return 0;
    }
    while (ur_list_next(&list, &item, &len)) {
        if (len == toklen && !apr_cstr_casecmpn(item, tok, len)) {
            return 1;
        }
    }
    return 0;
}

/* RFC 9110 §5.6.2 tchar */
static int ur_is_tchar(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Media-range preference for the 426 body (RFC 9110 §12.5.1).  For each
 * of our three types the most specific matching range decides its q;
 * the client's favourite wins, text/html on ties and when nothing
 * matches (a 406 would only hide the real problem).
 */
static int ur_parse_q(const char *s, const char *end)
{
    int q = 0, scale = 100;

    if (s < end && *s == '1') {
        return 1000;
    }
    if (s >= end || *s != '0') {
        return -1;
    }
    s++;
    if (s < end && *s == '.') {
        for (s++; s < end && apr_isdigit(*s) && scale; s++, scale /= 10) {
            q += (*s - '0') * scale;
        }
    }
    return q;
}

static ur_body_type ur_negotiate(const char *accept)
{
    /* best q and its specificity (3 exact, 2 "type/" wildcard, 1 any) */
    int q[3] = { -1, -1, -1 }, spec[3] = { 0, 0, 0 };
    static const char *const exact[3][2] = {
        { "text/html", NULL },
        { "application/problem+json", "application/json" },
        { "text/plain", NULL }
    };
    static const char *const major[3] = { "text/", "application/", "text/" };
    const char *item;
    apr_size_t len;
    int i;

    if (!accept) {
        return UR_BODY_HTML;
    }
    while (ur_list_next(&accept, &item, &len)) {
        const char *end = item + len, *semi, *p;
        apr_size_t tlen;
        int iq = 1000;

        for (semi = item; semi < end && *semi != ';'; semi++)
            ;
        tlen = (apr_size_t)(semi - item);
        while (tlen && ur_is_ows(item[tlen - 1])) {
            tlen--;
        }
        /* parameters: only q matters to us */
        for (p = semi; p < end; p++) {
            if (*p == ';') {
                const char *v = p + 1;
                while (v < end && ur_is_ows(*v)) {
                    v++;
                }
                if (end - v >= 2 && (v[0] == 'q' || v[0] == 'Q')
                    && v[1] == '=') {
                    const char *ve = v + 2;
                    while (ve < end && *ve != ';' && !ur_is_ows(*ve)) {
                        ve++;
                    }
                    iq = ur_parse_q(v + 2, ve);
                    if (iq < 0) {
                        iq = 0;
                    }
                }
            }
        }
        for (i = 0; i < 3; i++) {
            int s = 0, k;
            apr_size_t mlen = strlen(major[i]);

            for (k = 0; k < 2 && exact[i][k]; k++) {
                if (tlen == strlen(exact[i][k])
                    && !apr_cstr_casecmpn(item, exact[i][k], tlen)) {
                    s = 3;
                }
            }
            if (!s && tlen == mlen + 1 && item[mlen] == '*'
                && !apr_cstr_casecmpn(item, major[i], mlen)) {
                s = 2;
            }
            if (!s && tlen == 3 && !strncmp(item, "*/*", 3)) {
                s = 1;
            }
            /* two exact json names: the better q counts */
            if (s > spec[i] || (s && s == spec[i] && iq > q[i])) {
                spec[i] = s;
                q[i] = iq;
            }
        }
    }
    if (q[UR_BODY_JSON] > 0 && q[UR_BODY_JSON] > q[UR_BODY_HTML]
        && q[UR_BODY_JSON] >= q[UR_BODY_PLAIN]) {
        return UR_BODY_JSON;
    }
    if (q[UR_BODY_PLAIN] > 0 && q[UR_BODY_PLAIN] > q[UR_BODY_HTML]) {
        return UR_BODY_PLAIN;
    }
    return UR_BODY_HTML;
}

/* Is the upgrade-family token offered with Connection: upgrade? */
static ur_reason ur_offered(const ur_token *t, const ur_facts *f)
{
    if (!f->upgrade) {
        /* RFC 9110 §7.8: an HTTP/1.0 Upgrade is to be ignored */
        return f->upgrade_ignored ? UR_HTTP10_UPGRADE : UR_NO_UPGRADE;
    }
    if (!f->conn_upgrade || !ur_list_has(f->upgrade, t->name, t->len)) {
        return UR_NO_UPGRADE;
    }
    return UR_OK;
}

static ur_reason ur_check_token(const ur_token *t, const ur_facts *f)
{
    ur_reason why;

    switch (t->family) {
    case UR_FAM_WEBSOCKET:
        /* RFC 8441 arrives from mod_http2 as a GET with these headers */
        if ((why = ur_offered(t, f)) != UR_OK) {
            return why;
        }
        if (!f->is_get) {
            return UR_WS_METHOD;
        }
        /* RFC 6455 §4.2.2: only version 13 is spoken here */
        if (!ur_list_has(f->ws_version, "13", 2)) {
            return UR_WS_VERSION;
        }
        return UR_OK;
    case UR_FAM_TLS:
        if (f->tls == UR_TLS_NONE) {
            return UR_NO_TLS;
        }
        if (t->tls_min && f->tls == UR_TLS_PROXY) {
            /* a forwarded "https" says nothing of the version */
            return UR_TLS_UNPROVEN;
        }
        return f->tls_version >= t->tls_min ? UR_OK : UR_TLS_OLD;
    case UR_FAM_HTTP:
        return f->proto_num >= t->proto_min ? UR_OK : UR_PROTO_OLD;
    case UR_FAM_H2C:
        if (f->proto_num >= UR_HTTP_2 || f->h2c_accepted) {
            return UR_OK;
        }
        why = ur_offered(t, f);
        return why == UR_OK ? UR_H2C_REFUSED : why;
    default:
        return ur_offered(t, f);
    }
}

/*
 * Evaluate every requirement of a scope against one request.  Returns
 * UR_OK when all hold, else the reason of the first unmet one (config
 * order), which alone decides the Upgrade header.
 */
static ur_reason ur_evaluate(const ur_dir_conf *conf, const ur_facts *f,
                             ur_verdict *v)
{
    int i, k;

    v->first = -1;
    v->reason = UR_OK;
    v->unmet = 0;
    v->ws_version = 0;
    for (i = 0; i < conf->nrules; i++) {
        const ur_rule *rule = &conf->rules[i];
        ur_reason line_reason = UR_OK;

        for (k = 0; k < rule->ntokens; k++) {
            ur_reason why = ur_check_token(&rule->tokens[k], f);
            if (why == UR_OK) {
                line_reason = UR_OK;
                break;
            }
            if (why == UR_WS_VERSION) {
                v->ws_version = 1;
            }
            if (k == 0) {
                line_reason = why;
            }
        }
        if (k == rule->ntokens) {
            v->unmet |= (apr_uint32_t)1 << i;
            if (v->first < 0) {
                v->first = i;
                v->reason = line_reason;
            }
        }
    }
    if (v->first < 0) {
        v->ws_version = 0;
    }
    return v->reason;
}

/*
 * Compile one protocol argument.  Returns NULL or the error text; it is
 * shared by the directive handler and the unit tests.
 */
static const char *ur_compile_token(apr_pool_t *p, const char *arg,
                                    ur_token *t)
{
    const char *slash = NULL, *s;

    memset(t, 0, sizeof(*t));
    t->name = arg;
    t->len = strlen(arg);
    for (s = arg; *s; s++) {
        if (*s == '/' && !slash && s != arg) {
            slash = s;
        }
        else if (!ur_is_tchar((unsigned char)*s)) {
            return apr_psprintf(p, "invalid protocol token '%s' (a name "
                                "or name/version made of letters, digits "
                                "and !#$%%&'*+-.^_`|~, RFC 9110 7.8)",
                                arg);
        }
    }
    if (!*arg || (slash && !slash[1])) {
        return apr_psprintf(p, "invalid protocol token '%s' (a name or "
                            "name/version, RFC 9110 7.8)", arg);
    }
    if (!apr_cstr_casecmp(arg, "websocket")) {
        t->family = UR_FAM_WEBSOCKET;
        t->name = "websocket";
    }
    else if (!apr_cstr_casecmp(arg, "h2c")) {
        t->family = UR_FAM_H2C;
        t->name = "h2c";
    }
    else if (!apr_cstr_casecmp(arg, "h2")) {
        return "'h2' is chosen by TLS ALPN, never by Upgrade (allowed: "
               "HTTP/2 for any HTTP/2, h2c for cleartext HTTP/2)";
    }
    else if (!apr_cstr_casecmp(arg, "TLS")
             || (slash && slash - arg == 3
                 && !apr_cstr_casecmpn(arg, "TLS", 3))) {
        t->family = UR_FAM_TLS;
        if (slash) {
            const char *v = slash + 1;
            if (v[0] == '1' && v[1] == '.' && v[2] >= '0' && v[2] <= '3'
                && !v[3]) {
                t->tls_min = 10 + (v[2] - '0');
            }
            else {
                return apr_psprintf(p, "unknown TLS version '%s' "
                                    "(allowed: TLS, TLS/1.0, TLS/1.1, "
                                    "TLS/1.2, TLS/1.3)", arg);
            }
        }
    }
    else if (slash && slash - arg == 4 && !apr_cstr_casecmpn(arg, "HTTP", 4)) {
        const char *v = slash + 1;
        t->family = UR_FAM_HTTP;
        if (!strcmp(v, "1.1")) {
            t->proto_min = UR_HTTP_1_1;
        }
        else if (!strcmp(v, "2") || !strcmp(v, "2.0")) {
            t->proto_min = UR_HTTP_2;
        }
        else if (v[0] == '3') {
            return apr_psprintf(p, "unsupported HTTP version '%s': httpd "
                                "cannot serve HTTP/3 (allowed: HTTP/1.1, "
                                "HTTP/2.0, HTTP/2)", arg);
        }
        else {
            return apr_psprintf(p, "unsupported HTTP version '%s' "
                                "(allowed: HTTP/1.1, HTTP/2.0, HTTP/2)", arg);
        }
    }
    else if (!apr_cstr_casecmp(arg, "HTTP")) {
        return "'HTTP' needs a version (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)";
    }
    else {
        t->family = UR_FAM_OTHER;
    }
    return NULL;
}

/* Two tokens on one line ask for the same thing. */
static int ur_same_token(const ur_token *a, const ur_token *b)
{
    if (a->family != b->family) {
        return 0;
    }
    if (a->family == UR_FAM_TLS || a->family == UR_FAM_HTTP) {
        /* one family, two versions: the lower one makes the other moot */
        return 1;
    }
    return a->len == b->len && !apr_cstr_casecmpn(a->name, b->name, a->len);
}

/*
 * Compile one UpgradeRequire line into a rule: tokens, the Upgrade value
 * to advertise, the text for logs and the JSON list for problem bodies.
 */
static const char *ur_compile_rule(apr_pool_t *p, int argc,
                                   char *const argv[], ur_rule *rule)
{
    ur_token *tokens;
    const char *err;
    char *upgrade = "", *text = "", *json = "[";
    int i, k, tls = 0;

    if (argc > UR_MAX_TOKENS) {
        return apr_psprintf(p, "too many protocols on one line '%d' "
                            "(at most %d alternatives)", argc, UR_MAX_TOKENS);
    }
    tokens = apr_pcalloc(p, sizeof(*tokens) * argc);
    for (i = 0; i < argc; i++) {
        if (!apr_cstr_casecmp(argv[i], "off")) {
            return "'off' cannot be combined with protocols (allowed: "
                   "'UpgradeRequire off' alone, or a list of protocols)";
        }
        if ((err = ur_compile_token(p, argv[i], &tokens[i])) != NULL) {
            return err;
        }
        for (k = 0; k < i; k++) {
            if (ur_same_token(&tokens[k], &tokens[i])) {
                return apr_psprintf(p, "duplicate protocol '%s' (already "
                                    "given as '%s' on this line; each "
                                    "alternative may appear once)",
                                    argv[i], argv[k]);
            }
        }
        rule->families |= tokens[i].family;
    }
    for (i = 0; i < argc; i++) {
        const ur_token *t = &tokens[i];
        const char *adv = t->name;

        if (t->family == UR_FAM_TLS) {
            /* RFC 2817 §3.2 form; "TLS" alone accepts any version */
            adv = apr_psprintf(p, "TLS/1.%d",
                               t->tls_min ? t->tls_min - 10 : 0);
            tls = 1;
        }
        upgrade = apr_pstrcat(p, upgrade, i ? ", " : "", adv, NULL);
        text = apr_pstrcat(p, text, i ? " or " : "", t->name, NULL);
        json = apr_pstrcat(p, json, i ? ", \"" : "\"", t->name, "\"", NULL);
    }
    if (tls) {
        /* RFC 2817 §3.2: the protocol to speak once TLS is up */
        upgrade = apr_pstrcat(p, upgrade, ", HTTP/1.1", NULL);
    }
    rule->tokens = tokens;
    rule->ntokens = argc;
    rule->upgrade = upgrade;
    rule->text = text;
    rule->json = apr_pstrcat(p, json, "]", NULL);
    return NULL;
}

/* "TLSv1.2" -> 12; anything unparsable -> 0 (below every TLS token). */
static int ur_tls_version(const char *proto)
{
    if (proto && !strncmp(proto, "TLSv1", 5)) {
        if (!proto[5]) {
            return 10;
        }
        if (proto[5] == '.' && apr_isdigit(proto[6]) && !proto[7]) {
            return 10 + (proto[6] - '0');
        }
    }
    return 0;
}

/*
 * Forwarded (RFC 7239 §4): elements are comma-separated, one per hop, the
 * last one added by the proxy that talks to us; its pairs are separated
 * by ';' and a value may be a quoted string.  Is its proto "https"?
 */
static int ur_forwarded_https(const char *fwd)
{
    const char *item = NULL, *end, *pair;
    apr_size_t len = 0;

    while (ur_list_next(&fwd, &item, &len))
        ;
    if (!item) {
        return 0;
    }
    end = item + len;
    for (pair = item; pair < end; pair++) {
        const char *semi = pair, *v, *ve;

        while (semi < end && *semi != ';') {
            if (*semi == '"') {
                for (semi++; semi < end && *semi != '"'; semi++) {
                    if (*semi == '\\' && semi + 1 < end) {
                        semi++;
                    }
                }
            }
            if (semi < end) {
                semi++;
            }
        }
        while (pair < semi && ur_is_ows(*pair)) {
            pair++;
        }
        if (semi - pair > 6 && !apr_cstr_casecmpn(pair, "proto=", 6)) {
            v = pair + 6;
            ve = semi;
            while (ve > v && ur_is_ows(ve[-1])) {
                ve--;
            }
            if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
                v++;
                ve--;
            }
            return ve - v == 5 && !apr_cstr_casecmpn(v, "https", 5);
        }
        pair = semi;
    }
    return 0;
}

/*
 * What a trusted proxy says of the client's scheme.  Forwarded (RFC 7239)
 * wins over X-Forwarded-Proto; in both, the last hop's word counts, as
 * each proxy appends its own element.
 */
static int ur_proto_https(const char *forwarded, const char *xfp)
{
    const char *item = NULL, *last = NULL;
    apr_size_t len, last_len = 0;

    if (forwarded) {
        return ur_forwarded_https(forwarded);
    }
    while (xfp && ur_list_next(&xfp, &item, &len)) {
        last = item;
        last_len = len;
    }
    return last && last_len == 5 && !apr_cstr_casecmpn(last, "https", 5);
}

#ifndef UR_UNIT_TEST

/* ------------------------------------------------------------------ */
/* Per-request state, kept only for requests we refuse                  */
/* ------------------------------------------------------------------ */

typedef struct {
    const ur_dir_conf *conf;    /* the scope that decided */
    ur_verdict v;               /* what was unmet */
    ur_facts f;                 /* what the request showed */
    int own_body;               /* our negotiated body, no ErrorDocument */
    ur_body_type body;          /* its type */
    int http2;                  /* HTTP/2: no hop-by-hop headers */
} ur_state;

/* ------------------------------------------------------------------ */
/* Configuration: create and merge                                     */
/* ------------------------------------------------------------------ */

static void *ur_create_dir_conf(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(ur_dir_conf));
}

/*
 * Runs per request for <Location>/<If>/.htaccess merges: it only picks
 * pointers and scalars, and allocates only when both sides hold a part.
 */
static void *ur_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ur_dir_conf *base = basev, *add = addv;
    ur_dir_conf *conf;

    if (!add->rules && add->mode == UR_MODE_UNSET) {
        return basev;
    }
    if ((add->rules || !base->rules)
        && (add->mode != UR_MODE_UNSET || base->mode == UR_MODE_UNSET)) {
        return addv;
    }
    conf = apr_palloc(p, sizeof(*conf));
    if (add->rules) {
        conf->rules = add->rules;
        conf->nrules = add->nrules;
        conf->families = add->families;
        conf->need_tls_version = add->need_tls_version;
    }
    else {
        conf->rules = base->rules;
        conf->nrules = base->nrules;
        conf->families = base->families;
        conf->need_tls_version = base->need_tls_version;
    }
    conf->mode = add->mode != UR_MODE_UNSET ? add->mode : base->mode;
    conf->build = NULL;
    return conf;
}

static void *ur_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(ur_srv_conf));
}

static void *ur_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ur_srv_conf *add = addv;

    return add->proxies ? addv : basev;
}

/* ------------------------------------------------------------------ */
/* Directive handlers: the compiler                                    */
/* ------------------------------------------------------------------ */

static const char *ur_cmd_require(cmd_parms *cmd, void *dconf,
                                  int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    ur_rule *rule;
    const char *err;
    int i;

    if (argc == 0) {
        return "UpgradeRequire: no protocol given (allowed: 'off', or one "
               "or more of websocket, TLS, TLS/1.0..TLS/1.3, HTTP/1.1, "
               "HTTP/2, h2c, or another upgrade token)";
    }
    if (argc == 1 && !apr_cstr_casecmp(argv[0], "off")) {
        if (conf->nrules) {
            return apr_psprintf(cmd->pool, "UpgradeRequire: 'off' after "
                                "requirements in the same section (line "
                                "%u) would silently drop them (allowed: "
                                "'off' alone in a section)",
                                conf->rules[0].line);
        }
        conf->rules = conf->rules ? conf->rules
                                  : apr_pcalloc(cmd->pool, sizeof(ur_rule));
        conf->nrules = 0;
        conf->families = 0;
        return NULL;
    }
    if (conf->rules && !conf->nrules) {
        return "UpgradeRequire: requirements after 'UpgradeRequire off' in "
               "the same section (allowed: 'off' alone in a section)";
    }
    if (conf->nrules >= UR_MAX_RULES) {
        return apr_psprintf(cmd->pool, "UpgradeRequire: too many "
                            "requirements '%d' in one section (at most %d)",
                            conf->nrules + 1, UR_MAX_RULES);
    }
    /* The rule array grows at config time; the request path sees a
     * plain pointer + count. */
    if (!conf->build) {
        conf->build = apr_array_make(cmd->pool, 4, sizeof(ur_rule));
    }
    rule = apr_array_push(conf->build);
    memset(rule, 0, sizeof(*rule));
    if ((err = ur_compile_rule(cmd->pool, argc, argv, rule)) != NULL) {
        conf->build->nelts--;
        return apr_pstrcat(cmd->pool, "UpgradeRequire: ", err, NULL);
    }
    rule->file = cmd->directive->filename;
    rule->line = cmd->directive->line_num;
    for (i = 0; i < rule->ntokens; i++) {
        if (rule->tokens[i].tls_min) {
            conf->need_tls_version = 1;
        }
    }
    conf->rules = (const ur_rule *)conf->build->elts;
    conf->nrules = conf->build->nelts;
    conf->families |= rule->families;
    return NULL;
}

static const char *ur_cmd_mode(cmd_parms *cmd, void *dconf, const char *arg)
{
    ur_dir_conf *conf = dconf;

    if (!apr_cstr_casecmp(arg, "enforce")) {
        conf->mode = UR_MODE_ENFORCE;
    }
    else if (!apr_cstr_casecmp(arg, "report")) {
        conf->mode = UR_MODE_REPORT;
    }
    else {
        return apr_psprintf(cmd->pool, "UpgradeRequireMode: unknown mode "
                            "'%s' (allowed: enforce, report)", arg);
    }
    return NULL;
}

static const char *ur_cmd_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    ur_srv_conf *sconf = ap_get_module_config(cmd->server->module_config,
                                              &upgrade_required_module);
    apr_ipsubnet_t **sub;
    char *ip, *mask;
    apr_status_t rv;

    if (cmd->path) {
        /* Trust is a property of the server's network, not of a path:
         * an .htaccess author must never be able to grant it. */
        return apr_psprintf(cmd->pool, "UpgradeRequireTrustedProxy: not "
                            "allowed in <Directory>, <Location>, <Files> "
                            "or .htaccess ('%s'; allowed: server config "
                            "and <VirtualHost>)", arg);
    }
    ip = apr_pstrdup(cmd->pool, arg);
    if ((mask = ap_strchr(ip, '/')) != NULL) {
        *mask++ = '\0';
    }
    if (!sconf->proxies) {
        sconf->proxies = apr_array_make(cmd->pool, 4, sizeof(*sub));
    }
    sub = apr_array_push(sconf->proxies);
    rv = apr_ipsubnet_create(sub, ip, mask, cmd->pool);
    if (rv != APR_SUCCESS) {
        sconf->proxies->nelts--;
        return apr_psprintf(cmd->pool, "UpgradeRequireTrustedProxy: invalid "
                            "address '%s' (allowed: an IPv4 or IPv6 "
                            "address, optionally /mask or /prefix length)",
                            arg);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

/* Is the TCP peer (never a mod_remoteip rewrite) a trusted proxy? */
static int ur_trusted_peer(request_rec *r)
{
    const ur_srv_conf *sconf = ap_get_module_config(r->server->module_config,
                                                    &upgrade_required_module);
    conn_rec *c = r->connection->master ? r->connection->master
                                        : r->connection;
    apr_ipsubnet_t **subs;
    int i;

    if (!sconf->proxies || !c->client_addr) {
        return 0;
    }
    subs = (apr_ipsubnet_t **)sconf->proxies->elts;
    for (i = 0; i < sconf->proxies->nelts; i++) {
        if (apr_ipsubnet_test(subs[i], c->client_addr)) {
            return 1;
        }
    }
    return 0;
}

static int ur_proxy_says_https(request_rec *r)
{
    return ur_trusted_peer(r)
           && ur_proto_https(apr_table_get(r->headers_in, "Forwarded"),
                             apr_table_get(r->headers_in,
                                           "X-Forwarded-Proto"));
}

/* Would the core switch this HTTP/1.1 request to h2c (ap_select_protocol
 * is what core_upgrade_handler asks)? */
static int ur_h2c_accepted(request_rec *r)
{
    apr_array_header_t *offer;
    const char *chosen;

    if (r->connection->master || !ap_is_allowed_protocol(r->connection, r,
                                                         r->server, "h2c")) {
        return 0;
    }
    offer = apr_array_make(r->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(offer, const char *) = "h2c";
    chosen = ap_select_protocol(r->connection, r, r->server, offer);
    return chosen && !strcmp(chosen, "h2c");
}

/* Fill the facts the scope's rules need, and nothing more. */
static void ur_gather_facts(request_rec *r, const ur_dir_conf *conf,
                            ur_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->proto_num = r->proto_num;
    if (conf->families & UR_FAM_TLS) {
        conn_rec *c = r->connection->master ? r->connection->master
                                            : r->connection;
        if (ap_ssl_conn_is_ssl(c)) {
            f->tls = UR_TLS_DIRECT;
            if (conf->need_tls_version) {
                f->tls_version = ur_tls_version(
                    ap_ssl_var_lookup(r->pool, r->server, c, r,
                                      "SSL_PROTOCOL"));
            }
        }
        else if (ur_proxy_says_https(r)) {
            f->tls = UR_TLS_PROXY;
        }
    }
    if (conf->families & UR_FAM_UPGRADE) {
        const char *upgrade = apr_table_get(r->headers_in, "Upgrade");

        if (r->proto_num < UR_HTTP_1_1) {
            f->upgrade_ignored = upgrade != NULL;
        }
        else {
            f->upgrade = upgrade;
            f->conn_upgrade = ur_list_has(apr_table_get(r->headers_in,
                                                        "Connection"),
                                          "upgrade", 7);
        }
        f->is_get = r->method_number == M_GET;
        f->ws_version = apr_table_get(r->headers_in, "Sec-WebSocket-Version");
        if ((conf->families & UR_FAM_H2C) && f->conn_upgrade
            && r->proto_num < UR_HTTP_2 && ur_list_has(f->upgrade, "h2c", 3)) {
            f->h2c_accepted = ur_h2c_accepted(r);
        }
    }
}

static const char *ur_reason_text(ur_reason why)
{
    switch (why) {
    case UR_NO_UPGRADE:     return "no matching Upgrade offer with "
                                   "Connection: upgrade";
    case UR_HTTP10_UPGRADE: return "Upgrade in an HTTP/1.0 request is "
                                   "ignored (RFC 9110 7.8)";
    case UR_WS_METHOD:      return "websocket handshake must be a GET";
    case UR_WS_VERSION:     return "Sec-WebSocket-Version is not 13";
    case UR_NO_TLS:         return "plaintext connection";
    case UR_TLS_OLD:        return "TLS version too old";
    case UR_TLS_UNPROVEN:   return "TLS only reported by a proxy, its "
                                   "version cannot be proven";
    case UR_PROTO_OLD:      return "HTTP version too old";
    case UR_H2C_REFUSED:    return "h2c offered but not accepted here "
                                   "(Protocols/H2Upgrade)";
    default:                return "met";
    }
}

/* Escape for HTML text and attribute values, both quotes included. */
static const char *ur_escape_html(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *q;
    char *out, *o;

    for (q = s; *q; q++) {
        n += strchr("&<>\"'", *q) ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (q = s; *q; q++) {
        switch (*q) {
        case '&':  memcpy(o, "&amp;", 5);  o += 5; break;
        case '<':  memcpy(o, "&lt;", 4);   o += 4; break;
        case '>':  memcpy(o, "&gt;", 4);   o += 4; break;
        case '"':  memcpy(o, "&quot;", 6); o += 6; break;
        case '\'': memcpy(o, "&#39;", 5);  o += 5; break;
        default:   *o++ = *q;
        }
    }
    *o = '\0';
    return out;
}

/* Escape for a JSON string: quotes, backslashes, controls and <>&. */
static const char *ur_escape_json(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *q;
    char *out, *o;

    for (q = s; *q; q++) {
        n += (apr_iscntrl(*q) || strchr("\"\\<>&'", *q)) ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (apr_iscntrl(c) || strchr("\"\\<>&'", c)) {
            apr_snprintf(o, 7, "\\u%04x", c);
            o += 6;
        }
        else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

/*
 * A path or query with anything that is not a URI character (RFC 3986
 * §2; the quote is left out too) percent-encoded: the URL we print is
 * then inert in every body type, text/plain included.
 */
static const char *ur_inert_url(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *q;
    char *out, *o;

    o = out = apr_palloc(p, strlen(s) * 3 + 1);
    for (q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c && (apr_isalnum(c) || strchr("-._~!$&()*+,;=:@/?%", c))) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* One sentence per alternative of a rule: what the client should do.
 * name: the host as it goes in a URL; host: the same with a non-default
 * port; target: the escaped path and query. */
static const char *ur_advice(request_rec *r, const ur_token *t,
                             const ur_facts *f, const char *name,
                             const char *host, const char *target)
{
    switch (t->family) {
    case UR_FAM_WEBSOCKET:
        return apr_pstrcat(r->pool, "This URL only speaks WebSocket: open it "
                           "with a WebSocket client (new WebSocket('",
                           (f->tls || !strcmp(ap_http_scheme(r), "https"))
                           ? "wss://" : "ws://", host, target,
                           "')).", NULL);
    case UR_FAM_TLS:
        if (f->tls == UR_TLS_DIRECT && t->tls_min) {
            return apr_psprintf(r->pool, "This connection uses an older TLS "
                                "version: reconnect over https://%s%s with "
                                "TLS 1.%d or newer.", name, target,
                                t->tls_min - 10);
        }
        if (f->tls == UR_TLS_PROXY && t->tls_min) {
            return apr_psprintf(r->pool, "TLS 1.%d or newer is required, and "
                                "the TLS version of a connection made through "
                                "a proxy cannot be checked here.",
                                t->tls_min - 10);
        }
        return apr_pstrcat(r->pool, "This resource is only served over TLS: "
                           "reconnect over https://", name, target,
                           t->tls_min ? apr_psprintf(r->pool, " (TLS 1.%d or "
                                                     "newer)", t->tls_min - 10)
                                      : "", ".", NULL);
    case UR_FAM_HTTP:
        if (t->proto_min >= UR_HTTP_2) {
            return "HTTP/2 is required: use HTTP/2 (h2 over https://, or "
                   "h2c where the server offers it).";
        }
        return "HTTP/1.1 or newer is required.";
    case UR_FAM_H2C:
        return "HTTP/2 is required: use HTTP/2, or upgrade this connection "
               "with 'Upgrade: h2c'.";
    default:
        return apr_pstrcat(r->pool, "Send the request with 'Upgrade: ",
                           t->name, "' and 'Connection: Upgrade'.", NULL);
    }
}

/*
 * Build the negotiated body for our 426 and register it as this
 * request's custom response.  Only request data (host, path) is escaped
 * per request; the rest comes from the compiled rules.
 */
static void ur_set_body(request_rec *r, ur_state *st)
{
    const ur_dir_conf *conf = st->conf;
    const ur_facts *f = &st->f;
    const char *name, *host, *target, *body, *sep;
    int i, k, port = ap_get_server_port(r);
    apr_array_header_t *parts = apr_array_make(r->pool, 8, sizeof(char *));

    st->own_body = 1;
    st->body = ur_negotiate(apr_table_get(r->headers_in, "Accept"));

    name = r->hostname ? r->hostname : r->server->server_hostname;
    if (ap_strchr_c(name, ':')) {
        /* an IPv6 literal goes back into brackets in a URL */
        name = apr_pstrcat(r->pool, "[", name, "]", NULL);
    }
    host = ap_is_default_port(port, r)
           ? name : apr_psprintf(r->pool, "%s:%d", name, port);
    target = ur_inert_url(r->pool, ap_escape_uri(r->pool, r->uri));
    if (r->args) {
        target = apr_pstrcat(r->pool, target, "?",
                             ur_inert_url(r->pool, r->args), NULL);
    }
    for (i = 0; i < conf->nrules; i++) {
        const ur_rule *rule = &conf->rules[i];
        const char *item = "";

        if (!(st->v.unmet & ((apr_uint32_t)1 << i))) {
            continue;
        }
        for (k = 0; k < rule->ntokens; k++) {
            item = apr_pstrcat(r->pool, item, k ? " Or: " : "",
                               ur_advice(r, &rule->tokens[k], f, name, host,
                                         target),
                               NULL);
        }
        APR_ARRAY_PUSH(parts, const char *) = item;
    }

    switch (st->body) {
    case UR_BODY_JSON:
        body = "{\"type\":\"about:blank\",\"title\":\"Upgrade Required\","
               "\"status\":426,\"detail\":\"";
        sep = "";
        for (i = 0; i < parts->nelts; i++) {
            body = apr_pstrcat(r->pool, body, sep,
                               ur_escape_json(r->pool,
                                              APR_ARRAY_IDX(parts, i, char *)),
                               NULL);
            sep = " ";
        }
        body = apr_pstrcat(r->pool, body, "\",\"required\":[", NULL);
        sep = "";
        for (i = 0; i < conf->nrules; i++) {
            if (st->v.unmet & ((apr_uint32_t)1 << i)) {
                body = apr_pstrcat(r->pool, body, sep, conf->rules[i].json,
                                   NULL);
                sep = ",";
            }
        }
        body = apr_pstrcat(r->pool, body, "],\"upgrade\":\"",
                           conf->rules[st->v.first].upgrade, "\"}\n", NULL);
        break;
    case UR_BODY_PLAIN:
        body = "426 Upgrade Required\n\n";
        for (i = 0; i < parts->nelts; i++) {
            body = apr_pstrcat(r->pool, body, "- ",
                               APR_ARRAY_IDX(parts, i, char *), "\n", NULL);
        }
        break;
    default:
        body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
               "<html><head>\n<title>426 Upgrade Required</title>\n"
               "</head><body>\n<h1>Upgrade Required</h1>\n"
               "<p>This resource cannot be served over the protocol this "
               "request used.</p>\n<ul>\n";
        for (i = 0; i < parts->nelts; i++) {
            body = apr_pstrcat(r->pool, body, "<li>",
                               ur_escape_html(r->pool,
                                              APR_ARRAY_IDX(parts, i, char *)),
                               "</li>\n", NULL);
        }
        body = apr_pstrcat(r->pool, body, "</ul>\n",
                           ap_psignature("<hr>\n", r), "</body></html>\n",
                           NULL);
        break;
    }
    ap_custom_response(r, HTTP_UPGRADE_REQUIRED, body);
}

static const char *const ur_body_ctype[] = {
    "text/html; charset=utf-8",
    "application/problem+json",
    "text/plain; charset=utf-8"
};

/* One line of name, whichever table held it before. */
static void ur_put(request_rec *r, apr_table_t *into, const char *name,
                   const char *value)
{
    apr_table_unset(r->headers_out, name);
    apr_table_unset(r->err_headers_out, name);
    apr_table_setn(into, name, value);
}

/*
 * Make the response carry exactly our Upgrade line, Connection: Upgrade
 * and Cache-Control: no-store.  Idempotent: the hook calls it on
 * err_headers_out, the filter once more just before the headers are
 * sent, whatever error pages, CGIs or mod_headers did in between.
 */
static void ur_assert_headers(request_rec *r, const ur_state *st,
                              apr_table_t *into)
{
    const char *vary;

    /* RFC 9113 §8.2.2: connection-specific fields do not exist in h2,
     * mod_http2 strips them; do not fight it. */
    if (!st->http2) {
        ur_put(r, into, "Upgrade", st->conf->rules[st->v.first].upgrade);
        ur_put(r, into, "Connection", "Upgrade");
    }
    /* the answer depends on hop-by-hop input no Vary can express */
    ur_put(r, into, "Cache-Control", "no-store");
    if (st->v.ws_version) {
        /* RFC 6455 §4.2.2: tell the client the version we speak */
        ur_put(r, into, "Sec-WebSocket-Version", "13");
    }
    if (st->own_body) {
        vary = apr_table_get(into, "Vary");
        if (!ur_list_has(vary, "Accept", 6)) {
            apr_table_mergen(into, "Vary", "Accept");
        }
    }
}

/* Our state, if r or a request it was redirected from got our 426. */
static ur_state *ur_find_state(request_rec *r)
{
    for (; r; r = r->prev) {
        ur_state *st = ap_get_module_config(r->request_config,
                                            &upgrade_required_module);
        if (st) {
            return st;
        }
    }
    return NULL;
}

/*
 * The decision (SPEC §3): after the per-directory merge and before
 * authentication.  Runs for every request, so the no-rule path is a
 * pointer test and returns without allocating.
 */
static int ur_post_perdir(request_rec *r)
{
    const ur_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                   &upgrade_required_module);
    const ur_rule *rule;
    ur_facts f;
    ur_verdict v;
    ur_state *st;
    const char *custom;

    if (!conf->nrules) {
        return DECLINED;
    }
    if (r->main) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE3, 0, r,
                      "upgrade_required: subrequest, not evaluated");
        return DECLINED;
    }
    if (r->prev && ur_find_state(r->prev)) {
        /* serving the ErrorDocument of our own 426: never refuse it */
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "upgrade_required: error document of a 426, "
                      "not evaluated");
        return DECLINED;
    }

    ur_gather_facts(r, conf, &f);
    if (ur_evaluate(conf, &f, &v) == UR_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "upgrade_required: all %d requirement(s) met",
                      conf->nrules);
        return DECLINED;
    }
    rule = &conf->rules[v.first];

    /* for LogFormat %{UPGRADE_REQUIRED}e / %{upgrade-required}n,
     * CustomLog env=, mod_headers and CGI scripts */
    apr_table_setn(r->subprocess_env, UR_ENV_NAME, rule->text);
    apr_table_setn(r->notes, UR_NOTE_NAME, rule->text);

    if (conf->mode == UR_MODE_REPORT) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00002)
                      "report mode, would answer 426: unmet requirement "
                      "'%s' (%s:%u): %s", rule->text, rule->file, rule->line,
                      ur_reason_text(v.reason));
        return DECLINED;
    }

    /* what the body, the filter and the ErrorDocument request need */
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->conf = conf;
    st->v = v;
    st->f = f;
    st->http2 = r->proto_num >= UR_HTTP_2;
    ap_set_module_config(r->request_config, &upgrade_required_module, st);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00001)
                  "426 Upgrade Required: unmet requirement '%s' (%s:%u): %s",
                  rule->text, rule->file, rule->line,
                  ur_reason_text(v.reason));

    custom = ap_response_code_string(r,
                                     ap_index_of_response(
                                         HTTP_UPGRADE_REQUIRED));
    if (!custom) {
        ur_set_body(r, st);
    }
    else if (ap_is_url(custom)) {
        /* the configuration itself was warned about at startup (UR00004) */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00003)
                      "ErrorDocument 426 for %s is a remote URL (%s): "
                      "httpd answers 302 instead of 426, and the client "
                      "never sees Upgrade; use a local path", r->uri, custom);
    }
    ur_assert_headers(r, st, r->err_headers_out);

    /* A refused upgrade attempt may be followed by bytes of the next
     * protocol (a ClientHello, websocket frames): never parse them as
     * HTTP.  This also skips reading the request body. */
    if (!st->http2 && apr_table_get(r->headers_in, "Upgrade")) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return HTTP_UPGRADE_REQUIRED;
}

/*
 * A remote-URL "ErrorDocument 426" makes httpd answer 302 with Location:
 * the client never learns which upgrade is required.  Say so once, at
 * startup, with the directive's place (.htaccess files are only seen per
 * request: UR00003 covers them).
 */
static void ur_check_errordocs(apr_pool_t *p, server_rec *s,
                               const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const char *args = d->args, *code, *target;

        if (d->first_child) {
            ur_check_errordocs(p, s, d->first_child);
        }
        if (apr_cstr_casecmp(d->directive, "ErrorDocument") || !args) {
            continue;
        }
        code = ap_getword_conf(p, &args);
        target = ap_getword_conf(p, &args);
        if (!strcmp(code, "426") && ap_is_url(target)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, URLOGNO(00004)
                         "ErrorDocument 426 %s (%s:%d) is a remote URL: "
                         "httpd turns such a 426 into a 302 redirect and "
                         "the Upgrade header never reaches the client; "
                         "use a local path", target, d->filename,
                         d->line_num);
        }
    }
}

/* "httpd -t": say it on the console */
static int ur_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        ur_check_errordocs(ptemp, s, ap_conftree);
    }
    return OK;
}

/* a real (re)start: say it in the error log, once, not in the preflight */
static int ur_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ur_check_errordocs(ptemp, s, ap_conftree);
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* The header-guarantee filter                                         */
/* ------------------------------------------------------------------ */

static apr_status_t ur_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const ur_state *st = f->ctx;

    if (ap_is_HTTP_SUCCESS(r->status)) {
        /* an error page (a CGI's "Status: 200") cannot turn the refusal
         * into a success */
        r->status = HTTP_UPGRADE_REQUIRED;
        r->status_line = NULL;
    }
    ur_assert_headers(r, st, r->headers_out);
    /* own_body: this filter sits on the request that carries our body
     * (an ErrorDocument request never does) */
    if (st->own_body) {
        ap_set_content_type(r, ur_body_ctype[st->body]);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/*
 * The canned or quoted-string 426 of the request we refused.  If an
 * ErrorDocument path is configured and we still get here, the error page
 * itself failed (httpd's "recursive error"): rather than httpd's canned
 * 426 text, which speaks of SSL whatever was required, send our body.
 * ap_send_error_response looks for a custom response after this hook.
 */
static void ur_insert_error_filter(request_rec *r)
{
    ur_state *st = ap_get_module_config(r->request_config,
                                        &upgrade_required_module);
    const char *custom;

    if (!st || r->status != HTTP_UPGRADE_REQUIRED) {
        return;
    }
    if (!st->own_body) {
        custom = ap_response_code_string(r, ap_index_of_response(
                                                HTTP_UPGRADE_REQUIRED));
        if (custom && custom[0] == '/') {
            ur_set_body(r, st);
        }
    }
    ap_add_output_filter(UR_FILTER_NAME, st, r, r->connection);
}

/* the ErrorDocument request that serves our 426 */
static void ur_insert_filter(request_rec *r)
{
    ur_state *st;

    if (!r->prev || r->main) {
        return;
    }
    st = ur_find_state(r->prev);
    if (st && r->status == HTTP_UPGRADE_REQUIRED) {
        const char *text = st->conf->rules[st->v.first].text;

        /* the access log and the error page's CGI see this request */
        apr_table_setn(r->subprocess_env, UR_ENV_NAME, text);
        apr_table_setn(r->notes, UR_NOTE_NAME, text);
        ap_add_output_filter(UR_FILTER_NAME, st, r, r->connection);
    }
}

/* ------------------------------------------------------------------ */
/* Command table, hooks, module                                        */
/* ------------------------------------------------------------------ */

static const command_rec ur_cmds[] = {
    AP_INIT_TAKE_ARGV("UpgradeRequire", ur_cmd_require, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "one or more protocols, any of which satisfies the "
                      "requirement (websocket, TLS, TLS/1.0..TLS/1.3, "
                      "HTTP/1.1, HTTP/2, h2c, other upgrade tokens), or "
                      "'off'"),
    AP_INIT_TAKE1("UpgradeRequireMode", ur_cmd_mode, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                  "'enforce' (answer 426) or 'report' (serve, log, export)"),
    AP_INIT_ITERATE("UpgradeRequireTrustedProxy", ur_cmd_proxy, NULL,
                    RSRC_CONF | ACCESS_CONF | OR_ALL,
                    "addresses or networks of TLS-terminating proxies whose "
                    "Forwarded / X-Forwarded-Proto headers are believed"),
    { NULL }
};

static void ur_register_hooks(apr_pool_t *p)
{
    /* decide after the per-dir merge (.htaccess, <If>) and before authn,
     * so no credentials are asked for over a refused protocol */
    ap_hook_post_perdir_config(ur_post_perdir, NULL, NULL, APR_HOOK_FIRST);
    /* configuration checks that need the whole tree: under -t on the
     * console, on a real start in the error log */
    ap_hook_check_config(ur_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ur_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* our canned/string 426: guarantee the headers as they go out */
    ap_hook_insert_error_filter(ur_insert_error_filter, NULL, NULL,
                                APR_HOOK_LAST);
    /* the redirected ErrorDocument request of our 426: same guarantee */
    ap_hook_insert_filter(ur_insert_filter, NULL, NULL, APR_HOOK_LAST);
    /* after every content filter (mod_headers' error filter is at
     * CONTENT_SET), before the protocol filters that write headers */
    ap_register_output_filter(UR_FILTER_NAME, ur_out_filter, NULL,
                              AP_FTYPE_PROTOCOL - 1);
}

AP_DECLARE_MODULE(upgrade_required) = {
    STANDARD20_MODULE_STUFF,
    ur_create_dir_conf,
    ur_merge_dir_conf,
    ur_create_srv_conf,
    ur_merge_srv_conf,
    ur_cmds,
    ur_register_hooks
};

#endif /* UR_UNIT_TEST */
