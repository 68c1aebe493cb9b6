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
 *       and any other RFC 9110 upgrade token (near-misses are refused).
 *   UpgradeRequireMode enforce | report      (travels with the lines)
 *   UpgradeRequireSunset, UpgradeRequireDeprecation, UpgradeRequireBrownout,
 *   UpgradeRequireDeprecationPercent         (a migration schedule)
 *   UpgradeRequireLock on | off              (.htaccess may only add)
 *   UpgradeRequireTLSRedirect on | off, UpgradeRequireTLSURL url
 *   UpgradeRequireTrustedProxy addr[/mask] ..., UpgradeRequireProxyScheme-
 *   Header, UpgradeRequireProxyTLSVersionHeader   (server, vhost)
 *
 * Request flow.  Directive arguments are compiled at configuration time
 * into ur_rule structs with a pre-joined Upgrade value.  The decision is
 * made once, in post_perdir_config, for main requests and subrequests
 * alike: the per-directory merge (including .htaccess and <If>) is
 * complete there, and authentication has not run yet.  A fixups hook
 * would be too late: a plaintext client of a password-protected
 * "UpgradeRequire TLS" area would first get a 401 and send its password
 * in clear.  The pure core (ur_evaluate, ur_decide's phases, the body
 * builder) sees only a ur_facts summary of the request; the glue gathers
 * the facts the way httpd and mod_http2/mod_proxy decide on them, picks
 * a body negotiated on Accept (unless an ErrorDocument 426 applies: then
 * Upgrade, Connection: Upgrade and Cache-Control go on err_headers_out,
 * which the ErrorDocument request inherits) and returns
 * HTTP_UPGRADE_REQUIRED.  An output filter, added only for our own 426s
 * (insert_error_filter for our body, insert_filter for the redirected
 * ErrorDocument request), writes those headers just before they are
 * sent, whatever error pages, CGIs, mod_headers or mod_http2's h2c
 * advertisement did to them.  A body is written once per process for
 * each shape (lines, type, reason, facts) and kept as a template: later
 * 426s of that shape copy it around their own URLs.
 */

#include "apr_strings.h"
#include "apr_cstr.h"
#include "apr_lib.h"
#include "apr_network_io.h"
#include "apr_atomic.h"
#include "apr_shm.h"

#ifndef UR_UNIT_TEST
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mod_core.h"
#include "mod_status.h"
#include "scoreboard.h"
#include "util_filter.h"
#endif

/* ------------------------------------------------------------------ */
/* Declarations and constants                                          */
/* ------------------------------------------------------------------ */

#ifndef UR_UNIT_TEST
module AP_MODULE_DECLARE_DATA upgrade_required_module;
#endif

/* The one place the version lives: the startup log line, "make deb" and
 * the README's check read it from here. */
#define UR_VERSION          "0.10.0"

/* Our own stable log tags; httpd's AHnnnnn numbers belong to httpd. */
#define URLOGNO(n)          "UR" #n ": "

/* Out of line: a cold path must not give its frame to a hot one.
 * Inline: the hot path of every request under rules. */
#if defined(__GNUC__) || defined(__clang__)
#define UR_NOINLINE         __attribute__((noinline))
#define UR_INLINE           __inline__ __attribute__((always_inline))
#else
#define UR_NOINLINE
#define UR_INLINE
#endif

#define UR_FILTER_NAME      "UPGRADE_REQUIRED"
#define UR_ENV_NAME         "UPGRADE_REQUIRED"
#define UR_NOTE_NAME        "upgrade-required"

#define UR_MAX_RULES        32      /* requirements in one scope (bitmask) */
#define UR_BODY_KEEP_MAX    65536   /* refused bodies read to keep alive */
#define UR_MAX_TOKENS       16      /* alternatives on one line */
#define UR_TOKEN_MAX        255     /* bytes in one protocol token */
#define UR_UPGRADE_MAX      2048    /* bytes in one advertised Upgrade */
#define UR_QUOTE_MAX        64      /* argument bytes quoted in messages */

#define UR_HTTP_1_1         1001    /* HTTP_VERSION(1,1), without httpd.h */
#define UR_HTTP_2           2000    /* HTTP_VERSION(2,0) */

/* Token families: what a request must show to satisfy a token. */
#define UR_FAM_WEBSOCKET    0x01
#define UR_FAM_TLS          0x02
#define UR_FAM_HTTP         0x04
#define UR_FAM_H2C          0x08
#define UR_FAM_OTHER        0x10
#define UR_FAM_UPGRADE      (UR_FAM_WEBSOCKET | UR_FAM_H2C | UR_FAM_OTHER)
/* Not a family: a rule an h2c offer can satisfy (h2c, HTTP/2). */
#define UR_NEED_H2C         0x20

/* Why an h2c offer the client made does not switch, for the body. */
#define UR_H2C_WHY_TLS      1       /* h2c does not exist over TLS */
#define UR_H2C_WHY_SYNTAX   2       /* not exactly "h2c" in a strict list */
#define UR_H2C_WHY_SETTINGS 3       /* no HTTP2-Settings (or not listed) */
#define UR_H2C_WHY_BODY     4       /* a request body */
#define UR_H2C_WHY_REFUSED  5       /* Protocols, H2Upgrade */

/* Why a requirement is not met; the reason of the first unmet line. */
typedef enum {
    UR_OK = 0,
    UR_NO_UPGRADE,          /* no matching Upgrade + Connection: upgrade */
    UR_HTTP10_UPGRADE,      /* Upgrade sent with HTTP/1.0: RFC 9110 §7.8 */
    UR_WS_METHOD,           /* websocket handshake with a method not GET */
    UR_WS_VERSION,          /* Sec-WebSocket-Version is not 13 */
    UR_WS_KEY,              /* Sec-WebSocket-Key is not 16 bytes base64 */
    UR_NO_TLS,              /* plaintext connection */
    UR_TLS_OLD,             /* TLS below the version asked for */
    UR_TLS_UNPROVEN,        /* TLS seen only through a proxy header */
    UR_PROTO_OLD,           /* HTTP version below the one asked for */
    UR_H2C_REFUSED          /* h2c offered, but this server would not switch */
} ur_reason;

typedef enum {
    UR_BODY_HTML = 0,
    UR_BODY_JSON,           /* application/problem+json */
    UR_BODY_PLAIN,
    UR_BODY_JSON_APP        /* the same, labelled application/json */
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
    int interned;               /* tokens[0]: this array lives as long as
                                 * the configuration (an interned line) */
} ur_token;

/* A compiled argument list: in the server configuration one object
 * for every line that asks the same (see ur_compiled). */
typedef struct {
    const ur_token *tokens;     /* the alternatives, config order */
    int ntokens;                /* how many */
    int families;               /* OR of the tokens' families */
    const char *upgrade;        /* pre-joined Upgrade header value */
    const char *text;           /* the tokens joined by " or ", for logs */
    const char *json;           /* JSON array of the tokens */
} ur_rule;

/* One UpgradeRequire line.  Those of the server configuration are kept
 * in the registry (ur_lines), where a section of one line points; the
 * others, and a section whose lines are not next to each other there,
 * have an array of copies. */
typedef struct {
    const ur_rule *rule;        /* what it asks */
    const struct ap_directive_t *d; /* the line: its file, its number
                                 * and, for the dump, its sections */
    struct server_rec *s;       /* the (virtual) server of the section */
    apr_uint32_t slot;          /* its live counters; UR_SLOT_HTACCESS */
    apr_uint32_t dup;           /* registry: the n+1th line with its
                                 * labels */
} ur_line;

#define UR_RULE(set, i)     ((set)->lines[i].rule)

/* The counters of an .htaccess line are its virtual host's .htaccess
 * slot: such lines are only known per request. */
#define UR_SLOT_HTACCESS    0xffffffffU

/* A brownout window.  Recurring ones are offsets within their period
 * (an hour, a day, a week from Monday 00:00 UTC), end < start wrapping
 * around; explicit ones are instants.  Seconds, UTC. */
#define UR_WIN_HOURLY       3600
#define UR_WIN_DAILY        86400
#define UR_WIN_WEEKLY       604800
#define UR_WIN_EXPLICIT     0
#define UR_MAX_WINDOWS      16

typedef struct {
    apr_int64_t period;         /* UR_WIN_*: its period, 0 explicit */
    apr_int64_t start, end;     /* offsets in the period, or instants */
} ur_window;

/* A migration schedule (deprecation, brownouts, sunset), parsed and
 * with its header values built at configuration time. */
typedef struct {
    apr_int64_t sunset;         /* enforced from then on, seconds UTC */
    apr_int64_t deprecation;    /* Deprecation from then on; 0: none */
    const char *sunset_http;    /* Sunset: value, IMF-fixdate */
    const char *deprecation_sf; /* Deprecation: value, "@seconds" */
    const char *link;           /* Link: before the deprecation, or NULL */
    const char *link_dep;       /* Link: from the deprecation on */
    ur_window windows[UR_MAX_WINDOWS]; /* brownouts */
    int nwindows;               /* how many */
    int percent;                /* refused in deprecation; -1: unset */
    const char *file;           /* where UpgradeRequireSunset is */
    unsigned line;              /* ... and its line */
} ur_schedule;

/* What a schedule makes of one request. */
typedef enum {
    UR_PH_ENFORCED = 0,         /* enforce mode, or the sunset passed */
    UR_PH_REPORT,               /* report mode, or before deprecation */
    UR_PH_DEPRECATED,           /* between deprecation and sunset */
    UR_PH_BROWNOUT              /* in a brownout window */
} ur_phase;

/* The requirements of a scope and the mode they are enforced in: the
 * mode (or a schedule) travels with the lines it was written for.  Small:
 * every section with a line holds one (10,000 virtual hosts, 20,000
 * sections). */
typedef struct {
    const ur_line *lines;       /* NULL: unset; nrules 0: "off" */
    const ur_schedule *sched;   /* a migration schedule, or NULL */
    int nrules;                 /* number of lines */
    unsigned char families;     /* OR over all rules: facts to gather */
    unsigned char need_tls_version; /* a versioned TLS token exists */
    unsigned char mode;         /* UR_MODE_*; unset enforces */
    unsigned char htaccess;     /* a section's own: read from an
                                 * .htaccess file (merges copy it along
                                 * and never read it) */
} ur_set;

/* On/off directives with an unset state, so that the merge can tell. */
#define UR_FLAG_UNSET       0
#define UR_FLAG_ON          1
#define UR_FLAG_OFF         2

/* What few sections say: NULL in a section that says none of it. */
typedef struct {
    ur_set extra;               /* merged: .htaccess lines under a lock */
    const char *tls_url;        /* https://host[:port][/prefix], or NULL */
    unsigned char lock;         /* UR_FLAG_*: .htaccess may only add */
    unsigned char redirect;     /* UR_FLAG_*: 308 to https */
} ur_dir_more;

typedef struct {
    ur_set own;                 /* this section's lines; merged: in force */
    const ur_dir_more *more;    /* the rest, or NULL */
} ur_dir_conf;

/* A section's rest, or all of it unset: never NULL. */
static const ur_dir_more ur_no_more;

#define UR_MORE(conf)       ((conf)->more ? (conf)->more : &ur_no_more)

typedef struct {
    apr_array_header_t *proxies; /* apr_ipsubnet_t *, NULL if unset */
    const char *scheme_header;  /* what the proxy writes; NULL: unset */
    const char *scheme_value;   /* ... and its value for TLS */
    const char *version_header; /* negotiated TLS version; "" none */
    int tls_port;               /* port of our TLS twin; 0: unknown */
    apr_uint32_t htslot;        /* counter slot of its .htaccess lines */
    int htdup;                  /* its name:port is the n+1th of a kind */
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
    const char *ws_key;         /* Sec-WebSocket-Key, or NULL */
    int h2c_accepted;           /* this server would switch to h2c */
    int h2c_why;                /* UR_H2C_WHY_*: an offer, and why not */
    int upgrade_read;           /* the Upgrade header was looked up: */
    const char *upgrade_hdr;    /* ... its value, whatever the version */
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
 * type we can send, the most specific matching range decides its q.  The
 * client's favourite wins; on a tie a type it named beats one it reached
 * through a wildcard (axios sends application/json, text/plain and the
 * any-type wildcard), then HTML, JSON, text.  A type with q=0 is never
 * sent: problem+json refused but application/json accepted gives the
 * same JSON labelled application/json.  When nothing is acceptable the
 * first type not refused is sent anyway (a 406 would only hide the real
 * problem).
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

/* The media types of the bodies, in ur_body_type order, their major
 * types, and both lengths (t/unit.c checks them against strlen). */
static const char *const ur_accept_exact[4] = {
    "text/html", "application/problem+json", "text/plain", "application/json"
};
static const char *const ur_accept_major[4] = {
    "text/", "application/", "text/", "application/"
};
static const apr_size_t ur_accept_exact_len[4] = { 9, 24, 10, 16 };
static const apr_size_t ur_accept_major_len[4] = { 5, 12, 5, 12 };

static ur_body_type ur_negotiate_ranges(const char *accept)
{
    /* per media type: best q (-1: no range matched) and the specificity
     * of the range that gave it (3 exact, 2 "type/" wildcard, 1 any) */
    const char *const *exact = ur_accept_exact;
    const char *const *major = ur_accept_major;
    const apr_size_t *exact_len = ur_accept_exact_len;
    const apr_size_t *major_len = ur_accept_major_len;
    int q[4] = { -1, -1, -1, -1 }, spec[4] = { 0, 0, 0, 0 };
    int fq[3], fspec[3], best = -1, i;
    const char *item;
    apr_size_t len;

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
        for (i = 0; i < 4; i++) {
            apr_size_t mlen = major_len[i];
            int sp = 0;

            if (tlen == exact_len[i]
                && !apr_cstr_casecmpn(item, exact[i], tlen)) {
                sp = 3;
            }
            else if (tlen == mlen + 1 && item[mlen] == '*'
                     && !apr_cstr_casecmpn(item, major[i], mlen)) {
                sp = 2;
            }
            else if (tlen == 3 && !strncmp(item, "*/*", 3)) {
                sp = 1;
            }
            if (sp > spec[i] || (sp && sp == spec[i] && iq > q[i])) {
                spec[i] = sp;
                q[i] = iq;
            }
        }
    }
    /* three bodies: HTML, JSON under either name, text */
    fq[0] = q[0];
    fspec[0] = spec[0];
    if (q[1] == 0 && q[3] > 0) {
        fq[1] = q[3];
        fspec[1] = spec[3];
    }
    else if (q[3] > q[1] || (q[3] == q[1] && spec[3] > spec[1])) {
        fq[1] = q[3];
        fspec[1] = spec[3];
    }
    else {
        fq[1] = q[1];
        fspec[1] = spec[1];
    }
    fq[2] = q[2];
    fspec[2] = spec[2];
    for (i = 0; i < 3; i++) {
        if (fq[i] > 0 && (best < 0 || fq[i] > fq[best]
                          || (fq[i] == fq[best] && fspec[i] > fspec[best]))) {
            best = i;
        }
    }
    if (best < 0) {
        /* nothing acceptable: the first body not refused outright */
        static const int order[3] = { 0, 2, 1 };
        for (i = 0; i < 3 && best < 0; i++) {
            if (fq[order[i]] < 0) {
                best = order[i];
            }
        }
        if (best < 0) {
            best = 0;
        }
    }
    if (best == 1) {
        return q[1] == 0 ? UR_BODY_JSON_APP : UR_BODY_JSON;
    }
    return best == 0 ? UR_BODY_HTML : UR_BODY_PLAIN;
}

/*
 * What browsers send starts with a bare text/html: an exact range at
 * q=1, which nothing later can beat (a tie goes to HTML, and the same
 * range again only keeps the higher q), so the list need not be read.
 */
static ur_body_type ur_negotiate(const char *accept)
{
    /* ASCII case folding: every byte but the slash is a letter, and a
     * mismatch (the terminating NUL too) stops the reading */
    if (accept && (accept[0] | 0x20) == 't' && (accept[1] | 0x20) == 'e'
        && (accept[2] | 0x20) == 'x' && (accept[3] | 0x20) == 't'
        && accept[4] == '/' && (accept[5] | 0x20) == 'h'
        && (accept[6] | 0x20) == 't' && (accept[7] | 0x20) == 'm'
        && (accept[8] | 0x20) == 'l'
        && (accept[9] == ',' || accept[9] == '\0')) {
        return UR_BODY_HTML;
    }
    return ur_negotiate_ranges(accept);
}

/*
 * Is the token offered with Connection: upgrade, so that the module that
 * performs the switch will take it?  mod_proxy_http (upgrade=) and
 * mod_proxy_wstunnel compare the client's whole Upgrade value with the
 * configured token (ap_proxy_worker_can_upgrade): "foo, websocket" is
 * legal list syntax, yet no proxy switches on it and the backend would
 * get a plain request.  So the whole value must be the token.
 */
static ur_reason ur_offered(const ur_token *t, const ur_facts *f)
{
    if (!f->upgrade) {
        /* RFC 9110 §7.8: an HTTP/1.0 Upgrade is to be ignored */
        return f->upgrade_ignored ? UR_HTTP10_UPGRADE : UR_NO_UPGRADE;
    }
    if (!f->conn_upgrade || apr_cstr_casecmp(f->upgrade, t->name)) {
        return UR_NO_UPGRADE;
    }
    return UR_OK;
}

/* RFC 6455 §4.1: the key is base64 of 16 random bytes, 24 characters. */
static int ur_ws_key_ok(const char *key)
{
    int i;

    if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=') {
        return 0;
    }
    for (i = 0; i < 22; i++) {
        if (!apr_isalnum(key[i]) && key[i] != '+' && key[i] != '/') {
            return 0;
        }
    }
    return 1;
}

static ur_reason ur_check_token(const ur_token *t, const ur_facts *f)
{
    ur_reason why;

    switch (t->family) {
    case UR_FAM_WEBSOCKET:
        /* RFC 8441 arrives from mod_http2 as a GET with these headers
         * and a key of its own */
        if ((why = ur_offered(t, f)) != UR_OK) {
            return why;
        }
        if (!f->is_get) {
            return UR_WS_METHOD;
        }
        /* RFC 6455 §4.2.2: only version 13 is spoken here */
        if (!f->ws_version || strcmp(f->ws_version, "13")) {
            return UR_WS_VERSION;
        }
        return ur_ws_key_ok(f->ws_key) ? UR_OK : UR_WS_KEY;
    case UR_FAM_TLS:
        if (f->tls == UR_TLS_NONE) {
            return UR_NO_TLS;
        }
        if (t->tls_min && f->tls == UR_TLS_PROXY && !f->tls_version) {
            /* the proxy reported no version we understand */
            return UR_TLS_UNPROVEN;
        }
        return f->tls_version >= t->tls_min ? UR_OK : UR_TLS_OLD;
    case UR_FAM_HTTP:
        /* an h2c offer the core takes: the response goes out over
         * HTTP/2 after the 101 */
        if (t->proto_min >= UR_HTTP_2 && f->h2c_accepted) {
            return UR_OK;
        }
        return f->proto_num >= t->proto_min ? UR_OK : UR_PROTO_OLD;
    case UR_FAM_H2C:
        if (f->proto_num >= UR_HTTP_2 || f->h2c_accepted) {
            return UR_OK;
        }
        if (!f->upgrade) {
            return f->upgrade_ignored ? UR_HTTP10_UPGRADE : UR_NO_UPGRADE;
        }
        return f->conn_upgrade && ur_list_has(f->upgrade, "h2c", 3)
               ? UR_H2C_REFUSED : UR_NO_UPGRADE;
    default:
        return ur_offered(t, f);
    }
}

/*
 * Evaluate every requirement of a scope against one request.  Returns
 * UR_OK when all hold, else the reason of the first unmet one (config
 * order), which alone decides the Upgrade header.
 */
static UR_INLINE ur_reason ur_evaluate(const ur_set *conf,
                                       const ur_facts *f, ur_verdict *v)
{
    int i, k;

    v->first = -1;
    v->reason = UR_OK;
    v->unmet = 0;
    v->ws_version = 0;
    for (i = 0; i < conf->nrules; i++) {
        const ur_rule *rule = UR_RULE(conf, i);
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

#define UR_NEAR_MAX         16      /* longest word checked for typos */

/* Optimal string alignment distance of two short words, ignoring case:
 * edits, insertions, deletions and swaps of neighbours all cost one. */
static int ur_distance(const char *a, apr_size_t la, const char *b,
                       apr_size_t lb)
{
    int d[UR_NEAR_MAX + 1][UR_NEAR_MAX + 1];
    apr_size_t i, j;

    if (la > UR_NEAR_MAX || lb > UR_NEAR_MAX) {
        return UR_NEAR_MAX;
    }
    for (i = 0; i <= la; i++) {
        d[i][0] = (int)i;
    }
    for (j = 0; j <= lb; j++) {
        d[0][j] = (int)j;
    }
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            int cost = apr_tolower(a[i - 1]) != apr_tolower(b[j - 1]);
            int best = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < best) {
                best = d[i - 1][j] + 1;
            }
            if (d[i][j - 1] + 1 < best) {
                best = d[i][j - 1] + 1;
            }
            if (i > 1 && j > 1
                && apr_tolower(a[i - 1]) == apr_tolower(b[j - 2])
                && apr_tolower(a[i - 2]) == apr_tolower(b[j - 1])
                && d[i - 2][j - 2] + 1 < best) {
                best = d[i - 2][j - 2] + 1;
            }
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/*
 * Is a would-be generic token really a misspelt known one?  Returns the
 * right spelling, and in *version what of the argument to keep after it
 * (its "/version", or NULL).  A token that only an admin's typo could
 * produce must not silently become "any client that sends this word".
 */
static const char *ur_near_miss(const char *arg, const char **version)
{
    static const char *const tls_names[] = {
        "TLS/1.0", "TLS/1.1", "TLS/1.2", "TLS/1.3"
    };
    static const char *const names[] = { "websocket", "TLS", "h2c", "HTTP" };
    const char *slash = strchr(arg, '/'), *v;
    apr_size_t len = slash ? (apr_size_t)(slash - arg) : strlen(arg), i;

    *version = NULL;
    /* a version on the two families that have none */
    if (slash && (!apr_cstr_casecmpn(arg, "websocket", len) && len == 9)) {
        return "websocket";
    }
    if (slash && len == 3 && !apr_cstr_casecmpn(arg, "h2c", 3)) {
        return "h2c";
    }
    /* mod_ssl's and everyday spellings: TLSv1.2, TLS1.2, tlsv1_2, TLS12 */
    if (!slash && (!apr_cstr_casecmpn(arg, "TLS", 3)
                   || !apr_cstr_casecmpn(arg, "SSL", 3))) {
        v = arg + 3;
        if (*v == 'v' || *v == 'V') {
            v++;
        }
        if (*v == '-' || *v == '_') {
            v++;
        }
        if (v[0] == '1' && !v[1]) {
            return tls_names[0];
        }
        if (v[0] == '1' && (v[1] == '.' || v[1] == '_')
            && v[2] >= '0' && v[2] <= '3' && !v[3]) {
            return tls_names[v[2] - '0'];
        }
        if (v[0] == '1' && v[1] >= '0' && v[1] <= '3' && !v[2]) {
            return tls_names[v[1] - '0'];
        }
    }
    /* names of the same thing in other places: URL schemes, SSL */
    if (!apr_cstr_casecmpn(arg, "SSL", 3) || (len == 5
        && !apr_cstr_casecmpn(arg, "https", 5))) {
        return "TLS";
    }
    if ((len == 2 && !apr_cstr_casecmpn(arg, "ws", 2))
        || (len == 3 && !apr_cstr_casecmpn(arg, "wss", 3))) {
        return "websocket";
    }
    if (!slash && !apr_cstr_casecmpn(arg, "HTTP", 4)) {
        v = arg + 4;
        if (*v == '-' || *v == '_' || *v == '.') {
            v++;
        }
        if (!strcmp(v, "2") || !strcmp(v, "2.0") || !strcmp(v, "20")) {
            return "HTTP/2";
        }
        if (!strcmp(v, "1.1") || !strcmp(v, "11") || !strcmp(v, "1_1")) {
            return "HTTP/1.1";
        }
    }
    /* typos: one edit away from a short name, two from websocket, or a
     * known name with something glued to it (websockets, TLSv2) */
    if (len < 3) {
        return NULL;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        apr_size_t nlen = strlen(names[i]);
        if (ur_distance(arg, len, names[i], nlen) <= (nlen > 4 ? 2 : 1)
            || (len > nlen && !apr_cstr_casecmpn(arg, names[i], nlen))) {
            if (i == 0 || i == 2) {
                return names[i];
            }
            if (i == 3 && !slash) {
                return "HTTP/1.1' or 'HTTP/2";
            }
            *version = slash;
            return names[i];
        }
    }
    return NULL;
}

/*
 * A value fit to quote in a message or a body: at most UR_QUOTE_MAX
 * bytes, anything but printable ASCII as \xHH.  httpd cuts error messages
 * at about 8 KB, so a 100 KB argument would otherwise hide the reason.
 * Bodies still escape it for HTML or JSON.
 */
static const char *ur_quote(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, UR_QUOTE_MAX * 4 + 4), *o = out;
    apr_size_t n;

    for (n = 0; s[n] && n < UR_QUOTE_MAX; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c >= 0x20 && c < 0x7f) {
            *o++ = (char)c;
        }
        else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    if (s[n]) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

/*
 * Compile one protocol argument.  Returns NULL or the error text; it is
 * shared by the directive handler and the unit tests.
 */
static const char *ur_compile_token(apr_pool_t *p, const char *arg,
                                    ur_token *t)
{
    const char *slash = NULL, *s, *near, *version;

    memset(t, 0, sizeof(*t));
    t->name = arg;
    t->len = strlen(arg);
    if (t->len > UR_TOKEN_MAX) {
        return apr_psprintf(p, "protocol token '%s' is %" APR_SIZE_T_FMT
                            " bytes long (allowed: at most %d)",
                            ur_quote(p, arg), t->len, UR_TOKEN_MAX);
    }
    for (s = arg; *s; s++) {
        if (*s == '/' && !slash && s != arg) {
            slash = s;
        }
        else if (!ur_is_tchar((unsigned char)*s)) {
            char c[2] = { *s, '\0' };
            return apr_psprintf(p, "invalid protocol token '%s': character "
                                "'%s' at position %d (allowed: a name or "
                                "name/version made of letters, digits and "
                                "!#$%%&'*+-.^_`|~, RFC 9110 7.8)",
                                ur_quote(p, arg), ur_quote(p, c),
                                (int)(s - arg) + 1);
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
                                    "TLS/1.2, TLS/1.3)", ur_quote(p, arg));
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
                                "HTTP/2.0, HTTP/2)", ur_quote(p, arg));
        }
        else {
            return apr_psprintf(p, "unsupported HTTP version '%s' "
                                "(allowed: HTTP/1.1, HTTP/2.0, HTTP/2)",
                                ur_quote(p, arg));
        }
    }
    else if (!apr_cstr_casecmp(arg, "HTTP")) {
        return "'HTTP' needs a version (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)";
    }
    else if (!apr_cstr_casecmp(arg, "h3")) {
        return "unsupported protocol 'h3': httpd cannot serve HTTP/3 "
               "(allowed: HTTP/1.1, HTTP/2.0, HTTP/2)";
    }
    else if ((near = ur_near_miss(arg, &version)) != NULL) {
        const char *hint = "";

        if (slash && (!strcmp(near, "websocket") || !strcmp(near, "h2c"))) {
            hint = strcmp(near, "h2c")
                   ? " A websocket offer has no version: RFC 6455 sends "
                     "it as Sec-WebSocket-Version: 13."
                   : " h2c has no version.";
        }
        else if (!apr_cstr_casecmp(arg, "wss")) {
            hint = " wss:// is websocket over TLS: write 'UpgradeRequire "
                   "websocket' and 'UpgradeRequire TLS' on two lines.";
        }
        return apr_psprintf(p, "unknown protocol '%s', did you mean "
                            "'%s%s'?%s (a token that resembles websocket, "
                            "TLS, TLS/1.x, HTTP/1.1, HTTP/2 or h2c is "
                            "refused rather than matched as an upgrade "
                            "token of its own)", ur_quote(p, arg), near,
                            version ? ur_quote(p, version) : "", hint);
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
 * A rule's strings: the Upgrade value it advertises, its tokens joined by
 * " or " for the logs and the exports, and as a JSON array for the body.
 * Only a refusal or a report reads them: a rule of an .htaccess file,
 * compiled on every request, gets them then (ur_rule_strings).
 */
static void ur_build_strings(apr_pool_t *p, ur_rule *rule)
{
    const char *upgrade = "", *text = "", *json = "[";
    int i, tls = 0;

    for (i = 0; i < rule->ntokens; i++) {
        const ur_token *t = &rule->tokens[i];
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
    /* RFC 2817 §3.2: the protocol to speak once TLS is up */
    rule->upgrade = tls ? apr_pstrcat(p, upgrade, ", HTTP/1.1", NULL)
                        : upgrade;
    rule->text = text;
    rule->json = apr_pstrcat(p, json, "]", NULL);
}

#ifndef UR_UNIT_TEST
/* A set that outlives the pool it was read or merged in: a deep copy. */
static const ur_set *ur_set_keep(apr_pool_t *p, const ur_set *set)
{
    ur_set *keep = apr_pmemdup(p, set, sizeof(*set));
    ur_line *lines = apr_pmemdup(p, set->lines,
                                 sizeof(*lines) * (set->nrules ? set->nrules
                                                               : 1));
    int i, k;

    for (i = 0; i < set->nrules; i++) {
        ur_rule *rule = apr_pmemdup(p, lines[i].rule, sizeof(*rule));
        ur_token *tokens = apr_pmemdup(p, rule->tokens,
                                       sizeof(*tokens) * rule->ntokens);
        ap_directive_t *d = apr_pcalloc(p, sizeof(*d));

        for (k = 0; k < rule->ntokens; k++) {
            tokens[k].name = apr_pstrdup(p, tokens[k].name);
            tokens[k].interned = 0;     /* it ends with p */
        }
        rule->tokens = tokens;
        rule->upgrade = apr_pstrdup(p, rule->upgrade);
        rule->text = apr_pstrdup(p, rule->text);
        rule->json = apr_pstrdup(p, rule->json);
        lines[i].rule = rule;
        /* what is read of the line after the decision: where it is */
        d->filename = apr_pstrdup(p, lines[i].d->filename);
        d->line_num = lines[i].d->line_num;
        lines[i].d = d;
    }
    keep->lines = lines;
    if (set->sched) {
        ur_schedule *sc = apr_pmemdup(p, set->sched, sizeof(*sc));

        sc->sunset_http = apr_pstrdup(p, sc->sunset_http);
        sc->deprecation_sf = apr_pstrdup(p, sc->deprecation_sf);
        sc->link = apr_pstrdup(p, sc->link);
        sc->link_dep = apr_pstrdup(p, sc->link_dep);
        sc->file = apr_pstrdup(p, sc->file);
        keep->sched = sc;
    }
    return keep;
}
#endif

/* Every rule of a set has its strings, built in p where missing. */
static void ur_rule_strings(apr_pool_t *p, const ur_set *set)
{
    int i;

    for (i = 0; i < set->nrules; i++) {
        if (!UR_RULE(set, i)->text) {
            ur_build_strings(p, (ur_rule *)UR_RULE(set, i));
        }
    }
}

/* The length of the Upgrade value ur_build_strings would write. */
static apr_size_t ur_upgrade_len(const ur_token *tokens, int n)
{
    apr_size_t len = 0;
    int i, tls = 0;

    for (i = 0; i < n; i++) {
        if (tokens[i].family == UR_FAM_TLS) {
            len += sizeof("TLS/1.x") - 1;
            tls = 1;
        }
        else {
            len += tokens[i].len;
        }
        len += i ? 2 : 0;
    }
    return len + (tls ? sizeof(", HTTP/1.1") - 1 : 0);
}

/*
 * Compile one UpgradeRequire line into a rule: its tokens, and unless
 * lazy (an .htaccess line: rule->text stays NULL for ur_rule_strings) the
 * Upgrade value to advertise, the text for logs and the JSON list for
 * problem bodies.
 */
static const char *ur_compile_rule(apr_pool_t *p, int argc,
                                   char *const argv[], int lazy,
                                   ur_rule *rule)
{
    ur_token *tokens;
    const char *err;
    apr_size_t upgrade_len;
    int i, k;

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
                                    ur_quote(p, argv[i]),
                                    ur_quote(p, argv[k]));
            }
        }
        rule->families |= tokens[i].family;
        if (tokens[i].family == UR_FAM_H2C
            || (tokens[i].family == UR_FAM_HTTP
                && tokens[i].proto_min >= UR_HTTP_2)) {
            rule->families |= UR_NEED_H2C;
        }
    }
    if ((upgrade_len = ur_upgrade_len(tokens, argc)) > UR_UPGRADE_MAX) {
        /* clients read the status line and give up on a huge header */
        return apr_psprintf(p, "the Upgrade header of this line would be %"
                            APR_SIZE_T_FMT " bytes long (allowed: at most "
                            "%d; fewer or shorter alternatives)",
                            upgrade_len, UR_UPGRADE_MAX);
    }
    rule->tokens = tokens;
    rule->ntokens = argc;
    if (!lazy) {
        ur_build_strings(p, rule);
    }
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

/* The last element of a header list: the one the proxy next to us
 * added, whether it overwrites the header or appends to it. */
static int ur_list_last(const char *list, const char **item,
                        apr_size_t *len)
{
    const char *it;
    apr_size_t n;
    int found = 0;

    while (list && ur_list_next(&list, &it, &n)) {
        *item = it;
        *len = n;
        found = 1;
    }
    return found;
}

/*
 * Forwarded (RFC 7239 §4): elements are comma-separated, one per hop, the
 * last one added by the proxy that talks to us; its pairs are separated
 * by ';' and a value may be a quoted string.  Is its proto the one given?
 */
static int ur_forwarded_proto_is(const char *fwd, const char *want)
{
    const char *item = NULL, *end, *pair;
    apr_size_t len = 0, wlen = strlen(want);

    if (!ur_list_last(fwd, &item, &len)) {
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
            return (apr_size_t)(ve - v) == wlen
                   && !apr_cstr_casecmpn(v, want, wlen);
        }
        pair = semi;
    }
    return 0;
}

/*
 * Does the header a trusted proxy writes say TLS?  value: that header as
 * received, forwarded: it is RFC 7239 Forwarded (its proto= counts),
 * want: the value meaning TLS ("https", "on").  Only the last element
 * counts: it is what the proxy next to us wrote.
 */
static int ur_proxy_scheme_is(const char *value, int forwarded,
                              const char *want)
{
    const char *item = NULL;
    apr_size_t len = 0, wlen = strlen(want);

    if (forwarded) {
        return ur_forwarded_proto_is(value, want);
    }
    return ur_list_last(value, &item, &len) && len == wlen
           && !apr_cstr_casecmpn(item, want, wlen);
}

/* The TLS version a proxy reports (TLSv1.2 from AWS ALB, HAProxy's
 * ssl_fc_protocol, nginx's $ssl_protocol): 10..13, 0 when not one. */
static int ur_proxy_tls_version(const char *value)
{
    const char *item = NULL;
    apr_size_t len = 0;
    char buf[8];

    if (!ur_list_last(value, &item, &len) || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, item, len);
    buf[len] = '\0';
    return ur_tls_version(buf);
}

/* ------------------------------------------------------------------ */
/* Per-request state, kept only for requests we refuse                  */
/* ------------------------------------------------------------------ */

typedef struct {
    const ur_set *conf;         /* the requirements that decided */
    ur_verdict v;               /* what was unmet */
    ur_facts f;                 /* what the request showed */
    /* from here on zero when made (ur_new_state) */
    int own_body;               /* our negotiated body, no ErrorDocument */
    int early_body;             /* ... chosen at the decision (not for a
                                 * subrequest's 426): Vary goes first */
    ur_body_type body;          /* its type */
    int http2;                  /* HTTP/2: no hop-by-hop headers */
    int via_sub;                /* a subrequest of this request failed */
    int noted;                  /* logged and exported */
    int loglevel;               /* our LogLevel for the refused request */
    const char *sub_uri;        /* ... the subrequest's URI */
    const char *upgrade;        /* Upgrade value for this connection */
    int conn_tls;               /* the connection is TLS (mod_ssl) */
    int proxy_tls;              /* a trusted proxy says the client has TLS */
    int h2c_possible;           /* the core would take an h2c offer here */
    ur_phase phase;             /* which phase decided */
    apr_int64_t until;          /* brownout: when this window ends */
} ur_state;

/* ------------------------------------------------------------------ */
/* Migration schedules: dates, windows, phases (pure)                  */
/* ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static apr_int64_t ur_days_from_civil(apr_int64_t y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int ur_days_in_month(apr_int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* n decimal digits at s, or -1. */
static int ur_digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * ISO 8601 in UTC: YYYY-MM-DD (midnight), or YYYY-MM-DDTHH:MM[:SS] with
 * Z or +00:00.  A local time is ambiguous, so it is refused: nothing is
 * guessed.  Returns NULL and *t (seconds), or what is wrong.
 */
static const char *ur_parse_date(const char *s, apr_int64_t *t)
{
    int y = ur_digits(s, 4), mo, d, h = 0, mi = 0, sec = 0;
    const char *r;

    if (y < 1970 || s[4] != '-' || (mo = ur_digits(s + 5, 2)) < 1
        || mo > 12 || s[7] != '-' || (d = ur_digits(s + 8, 2)) < 1) {
        return "not a date (allowed: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, "
               "UTC)";
    }
    if (d > ur_days_in_month(y, mo)) {
        return "no such day in that month (allowed: a real date, "
               "YYYY-MM-DD)";
    }
    r = s + 10;
    if (*r == 'T' || *r == 't') {
        if ((h = ur_digits(r + 1, 2)) < 0 || r[3] != ':'
            || (mi = ur_digits(r + 4, 2)) < 0) {
            return "not a time (allowed: THH:MM or THH:MM:SS, then Z)";
        }
        r += 6;
        if (*r == ':') {
            if ((sec = ur_digits(r + 1, 2)) < 0) {
                return "not a time (allowed: THH:MM or THH:MM:SS, then Z)";
            }
            r += 3;
        }
        if (h > 23 || mi > 59 || sec > 59) {
            return "hour, minute or second out of range (allowed: 00:00:00 "
                   "to 23:59:59)";
        }
        if (!strcmp(r, "+00:00")) {
            r += 6;
        }
        else if (*r == 'Z' || *r == 'z') {
            r++;
        }
        else {
            return "a time must be in UTC: end it with Z (a local time is "
                   "ambiguous)";
        }
    }
    if (*r) {
        return "unexpected text after the date";
    }
    *t = ur_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return NULL;
}

/* "HH:MM" -> seconds in the day, or -1. */
static apr_int64_t ur_parse_hhmm(const char *s, apr_size_t len)
{
    int h, m;

    if (len != 5 || s[2] != ':' || (h = ur_digits(s, 2)) < 0
        || (m = ur_digits(s + 3, 2)) < 0 || h > 23 || m > 59) {
        return -1;
    }
    return h * 3600 + m * 60;
}

/*
 * A brownout window: "hourly :MM-:MM", "daily HH:MM-HH:MM",
 * "weekly Day HH:MM-HH:MM" (UTC) or "START/END" (ISO 8601 instants).
 */
static const char *ur_parse_window(int argc, char *const argv[],
                                   ur_window *w)
{
    static const char *const days[7] = {
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
    };
    const char *range, *dash, *err;
    apr_int64_t day = 0;
    int i;

    memset(w, 0, sizeof(*w));
    if (argc == 1 && (dash = strchr(argv[0], '/')) != NULL) {
        char a[32];

        if ((apr_size_t)(dash - argv[0]) >= sizeof(a)) {
            return "not a date (allowed: YYYY-MM-DD or "
                   "YYYY-MM-DDTHH:MM[:SS]Z, UTC)";
        }
        memcpy(a, argv[0], dash - argv[0]);
        a[dash - argv[0]] = '\0';
        err = ur_parse_date(a, &w->start);
        if (!err) {
            err = ur_parse_date(dash + 1, &w->end);
        }
        if (err) {
            return err;
        }
        if (w->end == w->start) {
            return "the window is empty (allowed: an end after the start)";
        }
        if (w->end < w->start) {
            return "the window ends before it starts (allowed: an end "
                   "after the start)";
        }
        w->period = UR_WIN_EXPLICIT;
        return NULL;
    }
    if (argc == 2 && !apr_cstr_casecmp(argv[0], "hourly")) {
        range = argv[1];
        if (strlen(range) != 7 || range[0] != ':' || range[3] != '-'
            || range[4] != ':' || (i = ur_digits(range + 1, 2)) < 0
            || i > 59 || ur_digits(range + 5, 2) < 0
            || ur_digits(range + 5, 2) > 59) {
            return "not a window of minutes (allowed: hourly :MM-:MM)";
        }
        w->period = UR_WIN_HOURLY;
        w->start = i * 60;
        w->end = ur_digits(range + 5, 2) * 60;
    }
    else if ((argc == 2 && !apr_cstr_casecmp(argv[0], "daily"))
             || (argc == 3 && !apr_cstr_casecmp(argv[0], "weekly"))) {
        if (argc == 3) {
            for (i = 0; i < 7 && apr_cstr_casecmp(argv[1], days[i]); i++)
                ;
            if (i == 7) {
                return "unknown day (allowed: Mon, Tue, Wed, Thu, Fri, Sat, "
                       "Sun)";
            }
            day = i * 86400;
        }
        range = argv[argc - 1];
        dash = strchr(range, '-');
        if (!dash || (w->start = ur_parse_hhmm(range, dash - range)) < 0
            || (w->end = ur_parse_hhmm(dash + 1, strlen(dash + 1))) < 0) {
            return "not a window of times (allowed: HH:MM-HH:MM, UTC)";
        }
        w->period = argc == 3 ? UR_WIN_WEEKLY : UR_WIN_DAILY;
        if (argc == 3) {
            /* a weekly window may run past midnight into the next day */
            if (w->end < w->start) {
                w->end += 86400;
            }
            w->start += day;
            w->end = (w->end + day) % UR_WIN_WEEKLY;
        }
    }
    else {
        return "unknown window (allowed: hourly :MM-:MM, daily HH:MM-HH:MM, "
               "weekly Day HH:MM-HH:MM, or START/END in ISO 8601 UTC)";
    }
    if (w->start == w->end) {
        return "the window is empty (allowed: a start and an end that "
               "differ)";
    }
    return NULL;
}

/* Is t in the window?  Then *until is when it ends. */
static int ur_in_window(const ur_window *w, apr_int64_t t,
                        apr_int64_t *until)
{
    apr_int64_t x;

    if (w->period == UR_WIN_EXPLICIT) {
        *until = w->end;
        return t >= w->start && t < w->end;
    }
    /* 1970-01-01 was a Thursday: Monday 00:00 is 3 days earlier */
    x = (t + (w->period == UR_WIN_WEEKLY ? 3 * 86400 : 0)) % w->period;
    if (w->start < w->end ? (x < w->start || x >= w->end)
                          : (x < w->start && x >= w->end)) {
        return 0;
    }
    *until = t + (w->end > x ? w->end - x : w->end + w->period - x);
    return 1;
}

/*
 * The phase of a request at time now (seconds UTC) under a schedule, and
 * whether it is refused; key: a hash of the client's address, so that the
 * deprecation percentage is sticky per client.
 */
static ur_phase ur_schedule_phase(const ur_schedule *sc, apr_int64_t now,
                                  unsigned key, int *refuse,
                                  apr_int64_t *until)
{
    int i;

    *until = 0;
    if (now >= sc->sunset) {
        *refuse = 1;
        return UR_PH_ENFORCED;
    }
    for (i = 0; i < sc->nwindows; i++) {
        if (ur_in_window(&sc->windows[i], now, until)) {
            if (*until > sc->sunset) {
                *until = sc->sunset;
            }
            *refuse = 1;
            return UR_PH_BROWNOUT;
        }
    }
    if (sc->deprecation && now >= sc->deprecation) {
        *refuse = sc->percent > 0 && (int)(key % 100) < sc->percent;
        return UR_PH_DEPRECATED;
    }
    *refuse = 0;
    return UR_PH_REPORT;
}

/* The phase of a set of requirements: its mode, or its schedule. */
static ur_phase ur_set_phase(const ur_set *set, apr_int64_t now,
                             unsigned key, int *refuse, apr_int64_t *until)
{
    if (set->sched) {
        return ur_schedule_phase(set->sched, now, key, refuse, until);
    }
    *until = 0;
    *refuse = set->mode != UR_MODE_REPORT;
    return *refuse ? UR_PH_ENFORCED : UR_PH_REPORT;
}

/* A decision: the set that decided, its phase, and the outcome. */
typedef struct {
    const ur_set *set;          /* NULL: every requirement met */
    ur_verdict v;               /* what was unmet */
    ur_phase phase;             /* which phase decided */
    int refuse;                 /* 426 (or a redirect), else served */
    apr_int64_t until;          /* brownout: when the window ends */
} ur_decision;

static const char *const ur_phase_name[] = {
    "enforced", "report", "deprecated", "brownout"
};

/*
 * Live counters: per counted line, one 64-bit counter for each kind of
 * decision and reason (99 of them, 792 bytes of shared memory that stay
 * untouched, hence unmapped, until a request moves one).
 */
typedef enum {
    UR_CNT_PASSED = 0,          /* every requirement met */
    UR_CNT_REFUSED,             /* 426, enforced (mode or sunset passed) */
    UR_CNT_REFUSED_DEPRECATED,  /* 426 for the deprecation percentage */
    UR_CNT_REFUSED_BROWNOUT,    /* 426 in a brownout window */
    UR_CNT_REDIRECTED,          /* 308 to https, enforced */
    UR_CNT_REDIRECTED_DEPRECATED,
    UR_CNT_REDIRECTED_BROWNOUT,
    UR_CNT_SERVED,              /* report mode, before any deprecation */
    UR_CNT_SERVED_DEPRECATED,   /* served with Deprecation and Sunset */
    UR_CNT_KINDS
} ur_cnt_kind;

#define UR_NREASONS         (UR_H2C_REFUSED + 1)
#define UR_CNT_PER_SLOT     (UR_CNT_KINDS * UR_NREASONS)

/* The label values of a kind: outcome and phase. */
static const char *const ur_cnt_outcome[UR_CNT_KINDS] = {
    "passed", "refused", "refused", "refused", "redirected", "redirected",
    "redirected", "served", "served"
};
static const char *const ur_cnt_phase[UR_CNT_KINDS] = {
    "none", "enforced", "deprecated", "brownout", "enforced", "deprecated",
    "brownout", "report", "deprecated"
};

/* ... and of a reason (stable: dashboards and alerts are written on them) */
static const char *const ur_reason_label[UR_NREASONS] = {
    "none", "no_upgrade", "http10_upgrade", "ws_method", "ws_version",
    "ws_key", "plaintext", "tls_old", "tls_unproven", "http_old",
    "h2c_refused"
};

/* Which counter a decision moves: refuse and redirect as decided, in the
 * phase that decided. */
static ur_cnt_kind ur_count_kind(int refuse, int redirect, ur_phase phase)
{
    if (!refuse) {
        return phase == UR_PH_DEPRECATED ? UR_CNT_SERVED_DEPRECATED
                                         : UR_CNT_SERVED;
    }
    switch (phase) {
    case UR_PH_DEPRECATED:
        return redirect ? UR_CNT_REDIRECTED_DEPRECATED
                        : UR_CNT_REFUSED_DEPRECATED;
    case UR_PH_BROWNOUT:
        return redirect ? UR_CNT_REDIRECTED_BROWNOUT
                        : UR_CNT_REFUSED_BROWNOUT;
    default:
        return redirect ? UR_CNT_REDIRECTED : UR_CNT_REFUSED;
    }
}

/* A Prometheus label value (text format 0.0.4): backslash, double quote
 * and line feed escaped; a file name may hold all three. */
static const char *ur_prom_escape(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        n += (*c == '\\' || *c == '"' || *c == '\n') ? 2 : 1;
    }
    if (n == (apr_size_t)(c - s)) {
        return s;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s; *c; c++) {
        if (*c == '\\' || *c == '"') {
            *o++ = '\\';
            *o++ = *c;
        }
        else if (*c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* "addr[/mask]" of UpgradeRequireTrustedProxy: 1 and *sub, or 0. */
static int ur_parse_subnet(apr_pool_t *p, const char *arg,
                           apr_ipsubnet_t **sub)
{
    char *ip = apr_pstrdup(p, arg), *mask;

    if ((mask = strchr(ip, '/')) != NULL) {
        *mask++ = '\0';
    }
    return *ip && apr_ipsubnet_create(sub, ip, mask, p) == APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* The 426 body: pure as well, so the unit tests and the fuzzer reach it */
/* ------------------------------------------------------------------ */

static const char *ur_reason_text(ur_reason why)
{
    switch (why) {
    case UR_NO_UPGRADE:     return "no matching Upgrade offer with "
                                   "Connection: upgrade";
    case UR_HTTP10_UPGRADE: return "Upgrade in an HTTP/1.0 request is "
                                   "ignored (RFC 9110 7.8)";
    case UR_WS_METHOD:      return "websocket handshake must be a GET";
    case UR_WS_VERSION:     return "Sec-WebSocket-Version is not 13";
    case UR_WS_KEY:         return "Sec-WebSocket-Key is missing or not "
                                   "16 bytes of base64";
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

/* A JSON string's content: controls, DEL, the quote and the backslash as
 * \u00XX; html_safe: also <>&' (a body a browser might sniff as HTML). */
static const char *ur_json_escape(apr_pool_t *p, const char *s,
                                  int html_safe)
{
    /* the bytes to escape, as strcspn sets (NUL ends a string anyway) */
    static const char ctl[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
        "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
        "\x1a\x1b\x1c\x1d\x1e\x1f\x7f\"\\";
    static const char ctl_html[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09"
        "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
        "\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f\"\\<>&'";
    static const char hex[] = "0123456789abcdef";
    const char *special = html_safe ? ctl_html : ctl;
    apr_size_t run = strcspn(s, special), nspecial = 0;
    const char *q;
    char *out, *o;

    if (!s[run]) {
        return s;
    }
    for (q = s + run; *q; q += strcspn(q, special)) {
        nspecial++;
        q++;
    }
    out = apr_palloc(p, (apr_size_t)(q - s) + nspecial * 5 + 1);
    memcpy(out, s, run);
    o = out + run;
    for (q = s + run; *q; ) {
        unsigned char c = (unsigned char)*q++;

        memcpy(o, "\\u00", 4);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        o += 6;
        run = strcspn(q, special);
        memcpy(o, q, run);
        o += run;
        q += run;
    }
    *o = '\0';
    return out;
}

/* ASCII letters and digits, as table entries (apr_isalnum follows the
 * locale) */
#define UR_ALNUM_ENTRIES \
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, \
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, \
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, \
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, \
    ['y'] = 1, ['z'] = 1, \
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, \
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, \
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, \
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, \
    ['Y'] = 1, ['Z'] = 1, \
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, \
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1

/*
 * A path or query with anything that is not a URI character (RFC 3986
 * §2; the quote is left out too) percent-encoded: the URL we print is
 * then inert in every body type, text/plain included.
 */
static const unsigned char ur_url_ok[256] = {
    UR_ALNUM_ENTRIES,
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1,
    ['&'] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1,
    [';'] = 1, ['='] = 1, [':'] = 1, ['@'] = 1, ['/'] = 1, ['?'] = 1,
    ['%'] = 1
};

/* The first byte of s the table does not allow, four at a time: the NUL
 * is never allowed and stops the reading. */
static UR_INLINE const char *ur_span(const unsigned char *ok, const char *s)
{
    while (ok[(unsigned char)s[0]] && ok[(unsigned char)s[1]]
           && ok[(unsigned char)s[2]] && ok[(unsigned char)s[3]]) {
        s += 4;
    }
    while (ok[(unsigned char)*s]) {
        s++;
    }
    return s;
}

/* ASCII letters and digits only (apr_isalnum follows the locale) and
 * the punctuation above, as a table */
static int ur_url_safe(unsigned char c)
{
    return ur_url_ok[c];
}

static const char *ur_inert_url(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *q;
    char *out, *o;

    q = ur_span(ur_url_ok, s);
    if (!*q) {
        return s;
    }
    o = out = apr_palloc(p, strlen(s) * 3 + 1);
    for (q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (ur_url_safe(c)) {
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

/*
 * The host name as it may appear in a body: under "HttpProtocolOptions
 * Unsafe" a Host header can carry control bytes, quotes or bytes that
 * are not UTF-8.  Anything but letters, digits and "-._:" is
 * percent-encoded (RFC 3986 §3.2.2 allows that in a reg-name), so the
 * host is plain ASCII and inert in HTML, JSON and text alike.
 */
static const unsigned char ur_host_ok[256] = {
    UR_ALNUM_ENTRIES,
    ['-'] = 1, ['.'] = 1, ['_'] = 1, [':'] = 1
};

static const char *ur_inert_host(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *q;
    char *out, *o;

    q = ur_span(ur_host_ok, s);
    if (!*q) {
        return s;
    }
    o = out = apr_palloc(p, strlen(s) * 3 + 1);
    for (q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (ur_host_ok[c]) {
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

/* One piece of a body (see ur_buf below), or one URL of a ur_where. */
typedef struct {
    const char *s;
    apr_size_t n;
    int esc;                    /* escaped for the body type */
    int hole;                   /* UR_HOLE_*: what varies between requests */
} ur_piece;

/* A piece is the same for every request of a body's key (UR_HOLE_NONE),
 * one of the URLs or the signature, or other words of this request
 * (which keep the body from being kept as a template). */
#define UR_HOLE_NONE        0
#define UR_HOLE_HTTPS       1
#define UR_HOLE_WS          2
#define UR_HOLE_TARGET      3
#define UR_HOLE_SIG         4
#define UR_HOLE_VOLATILE    5

/* What the client sent that a reason may quote. */
typedef struct {
    const char *upgrade;        /* its Upgrade header, or NULL */
    const char *method;
    const char *protocol;       /* the request line's, as sent */
} ur_sent;

/*
 * Where the client should go, as URL pieces already made inert, each the
 * hole of a body it fills (indexed by it): https://host[:port][/prefix]
 * (UR_HOLE_HTTPS), the ws:// or wss:// base for the same (UR_HOLE_WS),
 * the path and query the client sent (UR_HOLE_TARGET).  esc: it holds
 * "&", the one byte of these an HTML or JSON body escapes (an inert URL
 * and UpgradeRequireTLSURL allow no other).
 */
typedef struct {
    ur_piece part[UR_HOLE_TARGET + 1];
} ur_where;

#define UR_W(w, h)          ((w)->part[UR_HOLE_ ## h])

/* Does one line of the set ask for TLS and nothing else? */
static int ur_set_needs_tls(const ur_set *set)
{
    int i;

    for (i = 0; i < set->nrules; i++) {
        if (UR_RULE(set, i)->families == UR_FAM_TLS) {
            return 1;
        }
    }
    return 0;
}

/* ":port" into buf (16 bytes), its length; a port is 1..65535 */
static apr_size_t ur_port_str(char *buf, int port)
{
    char digits[12];
    unsigned v = (unsigned)port;
    apr_size_t n = 0, len;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(digits));
    buf[0] = ':';
    for (len = 1; n; len++) {
        buf[len] = digits[--n];
    }
    return len;
}

/* scheme, the host (an IPv6 literal back in brackets) and ":port" at o;
 * the end */
static UR_INLINE char *ur_origin(char *o, const char *scheme,
                                 apr_size_t slen, const char *name,
                                 apr_size_t nlen, int v6, const char *port,
                                 apr_size_t plen)
{
    memcpy(o, scheme, slen);
    o += slen;
    if (v6) {
        *o++ = '[';
    }
    memcpy(o, name, nlen);
    o += nlen;
    if (v6) {
        *o++ = ']';
    }
    memcpy(o, port, plen);
    return o + plen;
}

/*
 * The URLs from parts already decided: host as the client named it,
 * tls_url (the admin's https base, or NULL) or the port of the TLS side,
 * whether ws:// must be wss://, the port of a ws:// URL (0: default), and
 * the path and query as the client sent them.  All of it made inert.
 */
static void ur_where_make(apr_pool_t *p, const char *host,
                          const char *tls_url, int https_port, int wss,
                          int ws_port, const char *path, const char *query,
                          ur_where *w)
{
    const char *name = ur_inert_host(p, host ? host : "");
    apr_size_t nlen = strlen(name), hlen, wlen;
    int v6 = memchr(name, ':', nlen) != NULL;
    char hport[16], wport[16], *o;
    apr_size_t hplen = 0, wplen = 0;

    ur_piece *https = &UR_W(w, HTTPS), *ws = &UR_W(w, WS);
    ur_piece *target = &UR_W(w, TARGET);

    target->s = ur_inert_url(p, path ? path : "/");
    if (query) {
        target->s = apr_pstrcat(p, target->s, "?", ur_inert_url(p, query),
                                NULL);
    }
    target->n = strlen(target->s);
    target->esc = memchr(target->s, '&', target->n) != NULL;
    target->hole = UR_HOLE_TARGET;
    /* both URLs in one allocation: "https://" [ name ] :port, and the
     * ws:// or wss:// one; an IPv6 literal goes back into brackets */
    if (!tls_url && https_port != 443) {
        hplen = ur_port_str(hport, https_port);
    }
    if (!wss && ws_port) {
        wplen = ur_port_str(wport, ws_port);
    }
    hlen = tls_url ? 0 : 8 + nlen + 2 * v6 + hplen;
    https->n = tls_url ? strlen(tls_url) : hlen;
    https->esc = tls_url && strchr(tls_url, '&');
    https->hole = UR_HOLE_HTTPS;
    wlen = wss ? 3 + https->n - 5 : 5 + nlen + 2 * v6 + wplen;
    ws->n = wlen;
    ws->esc = wss && https->esc;
    ws->hole = UR_HOLE_WS;
    o = apr_palloc(p, hlen + 1 + wlen + 1);
    if (tls_url) {
        https->s = tls_url;
    }
    else {
        https->s = o;
        o = ur_origin(o, "https://", 8, name, nlen, v6, hport, hplen);
        *o++ = '\0';
    }
    ws->s = o;
    if (wss) {
        memcpy(o, "wss", 3);
        memcpy(o + 3, https->s + 5, wlen - 3);
        o += wlen;
    }
    else {
        o = ur_origin(o, "ws://", 5, name, nlen, v6, wport, wplen);
    }
    *o = '\0';
}

/* "TLS 1.2" for 12; what a client used or what a token asks for. */
static const char *ur_tls_name(apr_pool_t *p, int v)
{
    static const char *const name[] = {
        "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"
    };

    return v >= 10 && v <= 13 ? name[v - 10]
           : v > 13 ? apr_psprintf(p, "TLS 1.%d", v - 10)
                    : "an older TLS version";
}

/*
 * A body is written as pieces, joined once at the end into one
 * allocation of the exact size: literal text with its length known at
 * compile time, request data made inert earlier, all escaped for the
 * body's type as it is copied (strcspn runs; nothing to escape in most
 * pieces).  Linear in the size even for 32 requirements of 16
 * alternatives.
 */
#define UR_PIECES_INLINE    96

/* The bytes HTML escapes (few enough for strcspn's SSE path), and the
 * bytes html-safe JSON escapes, as a table (ur_json_escape's set). */
static const char ur_html_set[] = "&<>\"'";
static const char ur_json_set[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
    "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
    "\x1c\x1d\x1e\x1f\x7f\"\\<>&'";
static const unsigned char ur_json_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1, ['\''] = 1,
    [0x7f] = 1
};

typedef struct {
    apr_pool_t *p;
    ur_body_type type;
    ur_piece *v;
    int n, max;
    ur_piece first[UR_PIECES_INLINE];
} ur_buf;

static void ur_buf_init(ur_buf *b, apr_pool_t *p, ur_body_type type)
{
    b->p = p;
    b->type = type;
    b->v = b->first;
    b->n = 0;
    b->max = UR_PIECES_INLINE;
}

/* Out of line: rare (32 lines of 16 alternatives), and it keeps the
 * inlined put small. */
static UR_NOINLINE void ur_buf_grow(ur_buf *b)
{
    ur_piece *v = apr_palloc(b->p, sizeof(*v) * b->max * 2);

    memcpy(v, b->v, sizeof(*v) * b->n);
    b->v = v;
    b->max *= 2;
}

static UR_INLINE void ur_hole_put(ur_buf *b, const char *s, apr_size_t n,
                                  int esc, int hole)
{
    if (b->n == b->max) {
        ur_buf_grow(b);
    }
    b->v[b->n].s = s;
    b->v[b->n].n = n;
    b->v[b->n].esc = esc;
    b->v[b->n].hole = hole;
    b->n++;
}

static UR_INLINE void ur_piece_put(ur_buf *b, const char *s, apr_size_t n,
                                   int esc)
{
    ur_hole_put(b, s, n, esc, UR_HOLE_NONE);
}

/* One of the URLs of a ur_where, its hole named. */
static UR_INLINE void ur_part_put(ur_buf *b, const ur_piece *part)
{
    ur_hole_put(b, part->s, part->n, part->esc, part->hole);
}

/* Words of this request's own, escaped as they are copied. */
static void ur_volatile(ur_buf *b, const char *s)
{
    ur_hole_put(b, s, strlen(s), 1, UR_HOLE_VOLATILE);
}

/* Markup and JSON syntax, as they are. */
#define UR_RAW(b, lit)      ur_piece_put((b), (lit), sizeof(lit) - 1, 0)

/* One piece, escaped, into o; its length there. */
static apr_size_t ur_piece_write(const ur_piece *pc, ur_body_type type,
                                 char *o);

/*
 * Literal text of a sentence, escaped for the body type.  Most literals
 * need nothing; the few with a quote are escaped once per process, into
 * storage of their call site (a literal escapes to at most 6 bytes a
 * byte), and reused.  The first caller claims the site and publishes the
 * result; a caller that finds it claimed but not ready escapes as it
 * copies, as every caller did before, so the bytes are the same.
 */
#if defined(__GNUC__) || defined(__clang__)
typedef struct {
    int state;                  /* UR_LIT_*, read and written atomically */
    apr_size_t len[2];          /* the HTML and the JSON forms */
} ur_lit_site;

#define UR_LIT_UNKNOWN  0
#define UR_LIT_BUSY     1
#define UR_LIT_AS_IS    2       /* nothing to escape */
#define UR_LIT_ESCAPED  3       /* html and json below are ready */

static UR_NOINLINE void ur_lit_claim(ur_lit_site *site, const char *lit,
                                     apr_size_t n, char *html, char *json)
{
    int expect = UR_LIT_UNKNOWN;
    ur_piece pc;

    if (!__atomic_compare_exchange_n(&site->state, &expect, UR_LIT_BUSY, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        return;
    }
    if (!lit[strcspn(lit, ur_json_set)]) {
        __atomic_store_n(&site->state, UR_LIT_AS_IS, __ATOMIC_RELEASE);
        return;
    }
    pc.s = lit;
    pc.n = n;
    pc.esc = 1;
    site->len[0] = ur_piece_write(&pc, UR_BODY_HTML, html);
    site->len[1] = ur_piece_write(&pc, UR_BODY_JSON, json);
    __atomic_store_n(&site->state, UR_LIT_ESCAPED, __ATOMIC_RELEASE);
}

static UR_INLINE void ur_lit_put(ur_buf *b, ur_lit_site *site,
                                 const char *lit, apr_size_t n,
                                 const char *html, const char *json)
{
    int state = __atomic_load_n(&site->state, __ATOMIC_ACQUIRE);

    if (state == UR_LIT_AS_IS || b->type == UR_BODY_PLAIN) {
        ur_piece_put(b, lit, n, 0);
    }
    else if (state == UR_LIT_ESCAPED) {
        if (b->type == UR_BODY_HTML) {
            ur_piece_put(b, html, site->len[0], 0);
        }
        else {
            ur_piece_put(b, json, site->len[1], 0);
        }
    }
    else {
        ur_piece_put(b, lit, n, 1);
    }
}

#define UR_TXT(b, lit) do {                                               \
        static ur_lit_site ur_site_;                                      \
        static char ur_html_[6 * sizeof(lit)], ur_json_[6 * sizeof(lit)]; \
        if (__atomic_load_n(&ur_site_.state, __ATOMIC_RELAXED)            \
            == UR_LIT_UNKNOWN) {                                          \
            ur_lit_claim(&ur_site_, (lit), sizeof(lit) - 1, ur_html_,     \
                         ur_json_);                                       \
        }                                                                 \
        ur_lit_put((b), &ur_site_, (lit), sizeof(lit) - 1, ur_html_,      \
                   ur_json_);                                             \
    } while (0)
#else
#define UR_TXT(b, lit)      ur_piece_put((b), (lit), sizeof(lit) - 1, 1)
#endif

/* What another buffer holds, as the same pieces. */
static void ur_buf_append(ur_buf *b, const ur_buf *from)
{
    int i;

    for (i = 0; i < from->n; i++) {
        ur_hole_put(b, from->v[i].s, from->v[i].n, from->v[i].esc,
                    from->v[i].hole);
    }
}

static void ur_raw(ur_buf *b, const char *s)
{
    ur_piece_put(b, s, strlen(s), 0);
}

static void ur_txt(ur_buf *b, const char *s)
{
    ur_piece_put(b, s, strlen(s), 1);
}

/* One piece, escaped, into o; its length there. */
static apr_size_t ur_piece_write(const ur_piece *pc, ur_body_type type,
                                 char *o)
{
    static const char hex[] = "0123456789abcdef";
    const char *q = pc->s, *end = pc->s + pc->n;
    apr_size_t len = 0, run;

    if (!pc->esc || type == UR_BODY_PLAIN) {
        memcpy(o, pc->s, pc->n);
        return pc->n;
    }
    while (q < end) {
        if (type == UR_BODY_HTML) {
            run = strcspn(q, ur_html_set);
        }
        else {
            for (run = 0; q + run < end && !ur_json_esc[(unsigned char)q[run]];
                 run++)
                ;
        }
        if (run > (apr_size_t)(end - q)) {
            run = (apr_size_t)(end - q);
        }
        memcpy(o + len, q, run);
        len += run;
        q += run;
        if (q == end) {
            break;
        }
        if (type != UR_BODY_HTML) {
            memcpy(o + len, "\\u00", 4);
            o[len + 4] = hex[(unsigned char)*q >> 4];
            o[len + 5] = hex[(unsigned char)*q & 15];
            len += 6;
        }
        else {
            const char *e = *q == '&' ? "&amp;" : *q == '<' ? "&lt;"
                            : *q == '>' ? "&gt;" : *q == '"' ? "&quot;"
                            : "&#39;";
            apr_size_t el = e[1] == 'l' || e[1] == 'g' ? 4
                            : e[1] == 'a' || e[1] == '#' ? 5 : 6;

            memcpy(o + len, e, el);
            len += el;
        }
        q++;
    }
    return len;
}

/* One allocation, for the worst case (an escape is at most 6 bytes for
 * one), and one pass.  The string is preceded by a '"' in the same
 * allocation: the form in which httpd keeps a custom response text
 * (ur_set_body hands it over as it is). */
static const char *ur_buf_join(ur_buf *b)
{
    apr_size_t total = 0;
    char *out, *o;
    int i;

    for (i = 0; i < b->n; i++) {
        total += b->v[i].esc && b->type != UR_BODY_PLAIN ? 6 * b->v[i].n
                                                         : b->v[i].n;
    }
    out = apr_palloc(b->p, total + 2);
    *out++ = '"';
    o = out;
    for (i = 0; i < b->n; i++) {
        const ur_piece *pc = &b->v[i];

        if (!pc->esc || b->type == UR_BODY_PLAIN) {
            memcpy(o, pc->s, pc->n);
            o += pc->n;
        }
        else {
            o += ur_piece_write(pc, b->type, o);
        }
    }
    *o = '\0';
    return out;
}

/* Escape for HTML text and attribute values, both quotes included: one
 * piece through the body's writer.  Most strings need nothing: they are
 * returned as they are, unallocated. */
static const char *ur_escape_html(apr_pool_t *p, const char *s)
{
    ur_piece pc;
    char *out;

    if (!s[strcspn(s, ur_html_set)]) {
        return s;
    }
    pc.s = s;
    pc.n = strlen(s);
    pc.esc = 1;
    out = apr_palloc(p, 6 * pc.n + 1);
    out[ur_piece_write(&pc, UR_BODY_HTML, out)] = '\0';
    return out;
}

/* " (TLS 1.2 or newer)." and such: the minor version as one byte */
static void ur_tls_min(ur_buf *b, int tls_min)
{
    static const char *const minor[] = { "0", "1", "2", "3" };

    if (tls_min >= 10 && tls_min <= 13) {
        ur_piece_put(b, minor[tls_min - 10], 1, 1);
    }
    else {
        ur_txt(b, apr_itoa(b->p, tls_min - 10));
    }
}

/* The https URL: a link in HTML, one click from the right place. */
static void ur_https(ur_buf *b, const ur_where *w)
{
    if (b->type == UR_BODY_HTML) {
        UR_RAW(b, "<a href=\"");
        ur_part_put(b, &UR_W(w, HTTPS));
        ur_part_put(b, &UR_W(w, TARGET));
        UR_RAW(b, "\">");
    }
    ur_part_put(b, &UR_W(w, HTTPS));
    ur_part_put(b, &UR_W(w, TARGET));
    if (b->type == UR_BODY_HTML) {
        UR_RAW(b, "</a>");
    }
}

/* One sentence per alternative: what the client should do. */
static void ur_advice(ur_buf *b, const ur_token *t, const ur_state *st,
                      const ur_where *w, int h2c_possible)
{
    const ur_facts *f = &st->f;
    int tls = st->conn_tls;

    switch (t->family) {
    case UR_FAM_WEBSOCKET:
        UR_TXT(b, "This URL only speaks WebSocket: open it with a WebSocket "
                  "client (new WebSocket('");
        ur_part_put(b, &UR_W(w, WS));
        ur_part_put(b, &UR_W(w, TARGET));
        UR_TXT(b, "')).");
        return;
    case UR_FAM_TLS:
        if (t->tls_min && (f->tls == UR_TLS_DIRECT || f->tls_version)) {
            UR_TXT(b, "This connection uses an older TLS version (");
            ur_txt(b, ur_tls_name(b->p, f->tls_version));
            UR_TXT(b, "): reconnect over ");
            ur_https(b, w);
            UR_TXT(b, " with TLS 1.");
            ur_tls_min(b, t->tls_min);
            UR_TXT(b, " or newer.");
        }
        else if (f->tls == UR_TLS_PROXY && t->tls_min) {
            UR_TXT(b, "TLS 1.");
            ur_tls_min(b, t->tls_min);
            UR_TXT(b, " or newer is required, and the TLS version of a "
                      "connection made through a proxy cannot be checked "
                      "here.");
        }
        else {
            UR_TXT(b, "This resource is only served over TLS: reconnect "
                      "over ");
            ur_https(b, w);
            if (t->tls_min) {
                UR_TXT(b, " (TLS 1.");
                ur_tls_min(b, t->tls_min);
                UR_TXT(b, " or newer).");
            }
            else {
                UR_TXT(b, ".");
            }
        }
        return;
    case UR_FAM_HTTP:
        if (t->proto_min < UR_HTTP_2) {
            UR_TXT(b, "HTTP/1.1 or newer is required: send the request "
                      "with HTTP/1.1.");
        }
        else if (h2c_possible) {
            UR_TXT(b, "HTTP/2 is required: upgrade this connection with "
                      "'Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings' "
                      "and an HTTP2-Settings header (curl --http2 does), "
                      "speak HTTP/2 with prior knowledge, or use h2 over ");
            ur_https(b, w);
            UR_TXT(b, ".");
        }
        else if (tls) {
            UR_TXT(b, "HTTP/2 is required: reconnect to ");
            ur_https(b, w);
            UR_TXT(b, " offering h2 in TLS ALPN (curl --http2 does).");
        }
        else {
            UR_TXT(b, "HTTP/2 is required: this connection cannot be "
                      "upgraded to it; use h2 over ");
            ur_https(b, w);
            UR_TXT(b, " (chosen by TLS ALPN), or HTTP/2 with prior "
                      "knowledge where the server offers it.");
        }
        return;
    case UR_FAM_H2C:
        if (tls) {
            UR_TXT(b, "HTTP/2 is required, and h2c does not exist over TLS "
                      "(RFC 9113 3): reconnect to ");
            ur_https(b, w);
            UR_TXT(b, " offering h2 in TLS ALPN (curl --http2 does).");
        }
        else if (h2c_possible) {
            UR_TXT(b, "HTTP/2 is required: upgrade this connection with "
                      "'Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings' "
                      "and an HTTP2-Settings header (curl --http2 does), or "
                      "speak HTTP/2 with prior knowledge.");
        }
        else {
            UR_TXT(b, "HTTP/2 is required: this server does not upgrade to "
                      "h2c here; speak HTTP/2 with prior knowledge (curl "
                      "--http2-prior-knowledge), or use h2 over ");
            ur_https(b, w);
            UR_TXT(b, ".");
        }
        return;
    default:
        UR_TXT(b, "Send the request with 'Upgrade: ");
        ur_piece_put(b, t->name, t->len, 1);
        UR_TXT(b, "' (that token alone) and 'Connection: Upgrade'.");
        return;
    }
}

/* The first unmet requirement's reason, as one sentence for the body;
 * upgrade, method, protocol: what the client sent (quoted, and escaped
 * for the type as they are copied). */
static void ur_reason_put(ur_buf *b, const ur_state *st, const char *upgrade,
                          const char *method, const char *protocol)
{
    const ur_facts *f = &st->f;
    const ur_token *t = &UR_RULE(st->conf, st->v.first)->tokens[0];

    switch (st->v.reason) {
    case UR_NO_UPGRADE:
        if (f->h2c_why && t->family == UR_FAM_H2C) {
            break;
        }
        if (!upgrade) {
            UR_TXT(b, "The request made no upgrade offer (no 'Upgrade: ");
            ur_piece_put(b, t->name, t->len, 1);
            UR_TXT(b, "').");
            return;
        }
        UR_TXT(b, "The request sent 'Upgrade: ");
        ur_volatile(b, ur_quote(b->p, upgrade));
        if (!f->conn_upgrade) {
            UR_TXT(b, "' but its Connection header does not list "
                      "'upgrade'.");
            return;
        }
        UR_TXT(b, "'; the upgrade is performed only when the whole value "
                  "is '");
        ur_piece_put(b, t->name, t->len, 1);
        UR_TXT(b, "'.");
        return;
    case UR_HTTP10_UPGRADE:
        UR_TXT(b, "The request used HTTP/1.0, where an Upgrade header is "
                  "ignored (RFC 9110 7.8): send it with HTTP/1.1.");
        return;
    case UR_WS_METHOD:
        UR_TXT(b, "The WebSocket handshake was a ");
        ur_volatile(b, ur_quote(b->p, method));
        UR_TXT(b, "; it must be a GET (RFC 6455 4.1).");
        return;
    case UR_WS_VERSION:
        if (!f->ws_version) {
            UR_TXT(b, "The WebSocket handshake had no Sec-WebSocket-Version; "
                      "this server speaks version 13 (RFC 6455 4.2.2).");
            return;
        }
        UR_TXT(b, "The WebSocket handshake asked for Sec-WebSocket-Version: ");
        ur_volatile(b, ur_quote(b->p, f->ws_version));
        UR_TXT(b, "; this server speaks version 13 (RFC 6455 4.2.2).");
        return;
    case UR_WS_KEY:
        if (f->ws_key) {
            UR_TXT(b, "The WebSocket handshake's Sec-WebSocket-Key is "
                      "malformed: it must be base64 of 16 random bytes (RFC "
                      "6455 4.1).");
        }
        else {
            UR_TXT(b, "The WebSocket handshake had no Sec-WebSocket-Key (RFC "
                      "6455 4.1).");
        }
        return;
    case UR_NO_TLS:
        UR_TXT(b, "The request came over plaintext HTTP.");
        return;
    case UR_TLS_OLD:
        UR_TXT(b, "This connection uses ");
        ur_txt(b, ur_tls_name(b->p, f->tls_version));
        UR_TXT(b, "; ");
        ur_txt(b, ur_tls_name(b->p, t->tls_min));
        UR_TXT(b, " or newer is required.");
        return;
    case UR_TLS_UNPROVEN:
        UR_TXT(b, "TLS was reported only by a proxy, which did not report "
                  "its version, so ");
        ur_txt(b, ur_tls_name(b->p, t->tls_min));
        UR_TXT(b, " or newer cannot be proven.");
        return;
    case UR_PROTO_OLD:
        if (f->h2c_why) {
            break;
        }
        UR_TXT(b, "The request used ");
        ur_volatile(b, ur_quote(b->p, protocol));
        if (t->proto_min >= UR_HTTP_2) {
            UR_TXT(b, "; HTTP/2 is required.");
        }
        else {
            UR_TXT(b, "; HTTP/1.1 or newer is required.");
        }
        return;
    case UR_H2C_REFUSED:
        break;
    default:
        return;
    }
    switch (f->h2c_why) {
    case UR_H2C_WHY_TLS:
        UR_TXT(b, "The request offered h2c over TLS, where it does not exist "
                  "(RFC 9113 3).");
        return;
    case UR_H2C_WHY_SYNTAX:
        UR_TXT(b, "The request's h2c offer is not a well-formed upgrade: "
                  "Upgrade must list 'h2c' exactly, as tokens only, with "
                  "'Connection: Upgrade'.");
        return;
    case UR_H2C_WHY_SETTINGS:
        UR_TXT(b, "The request's h2c offer had no HTTP2-Settings header, or "
                  "Connection did not list HTTP2-Settings (RFC 7540 3.2).");
        return;
    case UR_H2C_WHY_BODY:
        UR_TXT(b, "The request's h2c offer carried a request body; this "
                  "server upgrades only requests without one.");
        return;
    default:
        UR_TXT(b, "The request offered h2c, but this server does not "
                  "upgrade to h2c here.");
        return;
    }
}

/*
 * The Upgrade value for this connection: only what this server will do.
 * h2c where the core would take an offer (also for HTTP/2: the response
 * then goes out over HTTP/2), never over TLS; the protocol itself,
 * HTTP/2.0, where no upgrade path exists.
 */
static const char *ur_advertise(apr_pool_t *p, const ur_rule *rule,
                                int h2c_possible)
{
    const char *adv = "";
    int k, tls = 0, h2 = 0;

    if (!(rule->families & UR_NEED_H2C)) {
        return rule->upgrade;
    }
    for (k = 0; k < rule->ntokens; k++) {
        const ur_token *t = &rule->tokens[k];
        const char *name = t->name;

        if (t->family == UR_FAM_H2C
            || (t->family == UR_FAM_HTTP && t->proto_min >= UR_HTTP_2)) {
            if (h2++) {
                continue;
            }
            name = h2c_possible ? "h2c"
                                : t->family == UR_FAM_H2C ? "HTTP/2.0"
                                                          : t->name;
        }
        else if (t->family == UR_FAM_TLS) {
            name = apr_psprintf(p, "TLS/1.%d",
                                t->tls_min ? t->tls_min - 10 : 0);
            tls = 1;
        }
        adv = apr_pstrcat(p, adv, *adv ? ", " : "", name, NULL);
    }
    /* RFC 2817 §3.2: the protocol to speak once TLS is up */
    return tls ? apr_pstrcat(p, adv, ", HTTP/1.1", NULL) : adv;
}

/* Before the reason: what a schedule made of the refusal. */
static const char *ur_phase_sentence(apr_pool_t *p, const ur_state *st)
{
    const ur_schedule *sc = st->conf->sched;
    char until[APR_RFC822_DATE_LEN];

    if (!sc || st->phase == UR_PH_ENFORCED) {
        return "";
    }
    if (st->phase == UR_PH_BROWNOUT) {
        apr_rfc822_date(until, apr_time_from_sec(st->until));
        return apr_psprintf(p, "This is a scheduled brownout: the "
                            "requirement is enforced until %s, and "
                            "permanently from %s. ", until, sc->sunset_http);
    }
    return apr_psprintf(p, "This protocol is deprecated: the requirement is "
                        "already enforced for some clients, and for all "
                        "from %s. ", sc->sunset_http);
}

/*
 * Bodies kept as templates.  A body's words depend on the unmet lines,
 * the type, the reason and a few facts (the key below); what differs
 * between requests with the same key is only the URLs and the signature
 * (the holes).  The first body of a key is written as pieces, and then
 * kept, per process, as its text between the holes, already escaped;
 * later ones are its segments and this request's holes, copied.  A body
 * is kept only when its lines are interned server-configuration lines
 * (their address names them for the configuration's lifetime; .htaccess
 * lines and copies live in a request pool), it has no schedule, and it
 * quotes nothing the client sent.  A slot is claimed once and then never
 * changes until the configuration is gone (ur_tpl_forget), so a reader
 * needs no lock; a key whose slot is taken is written as pieces.
 */
#define UR_TPL_SLOTS        32
#define UR_TPL_LINES        4       /* unmet lines a key can name */
#define UR_TPL_HOLES        24
#define UR_TPL_TEXT         3072

#define UR_TPL_FREE         0
#define UR_TPL_BUSY         1
#define UR_TPL_READY        2
#define UR_TPL_UNUSED       3       /* claimed, did not fit: stays so */

typedef struct {
    const ur_token *lines[UR_TPL_LINES];    /* the unmet lines, in order */
    int nlines;
    /* the rest in one word: the body type, the reason, h2c_why, the TLS
     * fact and version (each below 256), UR_TPK_* */
    apr_uint64_t facts;
} ur_tpl_key;

#define UR_TPK_WS_KEY       0x01    /* a Sec-WebSocket-Key was sent */
#define UR_TPK_WS_VERSION   0x02    /* ... a Sec-WebSocket-Version */
#define UR_TPK_CONN_UPGRADE 0x04    /* Connection listed upgrade */
#define UR_TPK_UPGRADE      0x08    /* an Upgrade header was sent */
#define UR_TPK_CONN_TLS     0x10    /* the connection is TLS */
#define UR_TPK_H2C          0x20    /* the core would take h2c here */

/* The escaped text between the holes, in order, and where in it each
 * hole goes. */
typedef struct {
    ur_tpl_key key;
    int nholes;
    unsigned char hole[UR_TPL_HOLES];        /* UR_HOLE_* of hole i */
    unsigned short at[UR_TPL_HOLES];         /* its offset in text */
    apr_size_t static_len;                  /* the text's length */
    char text[UR_TPL_TEXT];
} ur_tpl;

static apr_uint32_t ur_tpl_state[UR_TPL_SLOTS];
static ur_tpl ur_tpls[UR_TPL_SLOTS];

/* A slot's state: read with acquire, published with release, claimed by
 * compare-and-swap (APR's full barriers where the builtins are not). */
static UR_INLINE apr_uint32_t ur_tpl_get(unsigned slot)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(&ur_tpl_state[slot], __ATOMIC_ACQUIRE);
#else
    return apr_atomic_read32(&ur_tpl_state[slot]);
#endif
}

static void ur_tpl_set(unsigned slot, apr_uint32_t state)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(&ur_tpl_state[slot], state, __ATOMIC_RELEASE);
#else
    apr_atomic_set32(&ur_tpl_state[slot], state);
#endif
}

static int ur_tpl_claim(unsigned slot)
{
#if defined(__GNUC__) || defined(__clang__)
    apr_uint32_t expect = UR_TPL_FREE;

    return __atomic_compare_exchange_n(&ur_tpl_state[slot], &expect,
                                       UR_TPL_BUSY, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
#else
    return apr_atomic_cas32(&ur_tpl_state[slot], UR_TPL_BUSY, UR_TPL_FREE)
           == UR_TPL_FREE;
#endif
}

static void ur_tpl_forget(void)
{
    unsigned i;

    for (i = 0; i < UR_TPL_SLOTS; i++) {
        ur_tpl_set(i, UR_TPL_FREE);
    }
}

/* The key of st's body, and its slot; 0 when it cannot be kept. */
static int ur_tpl_key_of(const ur_state *st, const ur_sent *sent,
                         int h2c_possible, ur_tpl_key *k, unsigned *slot)
{
    const ur_set *conf = st->conf;
    const ur_facts *f = &st->f;
    apr_uint64_t h = 14695981039346656037ULL;
    int i;

    if (conf->sched) {
        return 0;
    }
    k->nlines = 0;
    for (i = 0; i < conf->nrules; i++) {
        const ur_token *t = UR_RULE(conf, i)->tokens;

        if (!(st->v.unmet & ((apr_uint32_t)1 << i))) {
            continue;
        }
        if (k->nlines == UR_TPL_LINES || !t[0].interned) {
            return 0;
        }
        k->lines[k->nlines++] = t;
        h = (h ^ (apr_uint64_t)(apr_uintptr_t)t) * 1099511628211ULL;
    }
    /* the reason is the first unmet line's (ur_evaluate) */
    if (!k->nlines || k->lines[0] != UR_RULE(conf, st->v.first)->tokens) {
        return 0;
    }
    k->facts = (apr_uint64_t)(unsigned char)st->body
               | (apr_uint64_t)(unsigned char)st->v.reason << 8
               | (apr_uint64_t)(unsigned char)f->h2c_why << 16
               | (apr_uint64_t)(unsigned char)f->tls << 24
               | (apr_uint64_t)(unsigned char)f->tls_version << 32
               | (apr_uint64_t)((f->ws_key ? UR_TPK_WS_KEY : 0)
                                | (f->ws_version ? UR_TPK_WS_VERSION : 0)
                                | (f->conn_upgrade ? UR_TPK_CONN_UPGRADE : 0)
                                | (sent->upgrade ? UR_TPK_UPGRADE : 0)
                                | (st->conn_tls ? UR_TPK_CONN_TLS : 0)
                                | (h2c_possible ? UR_TPK_H2C : 0)) << 40;
    h = (h ^ k->facts) * 1099511628211ULL;
    *slot = (unsigned)(h ^ (h >> 29)) % UR_TPL_SLOTS;
    return 1;
}

static int ur_tpl_same(const ur_tpl_key *a, const ur_tpl_key *b)
{
    int i;

    if (a->nlines != b->nlines || a->facts != b->facts) {
        return 0;
    }
    for (i = 0; i < a->nlines; i++) {
        if (a->lines[i] != b->lines[i]) {
            return 0;
        }
    }
    return 1;
}

/* Keep the pieces of a body as the template of its key, if the slot is
 * free and they fit. */
static void ur_tpl_keep(const ur_buf *b, const ur_tpl_key *k, unsigned slot)
{
    int i, n = 0;
    ur_tpl *t = &ur_tpls[slot];
    apr_size_t used = 0;

    for (i = 0; i < b->n; i++) {
        if (b->v[i].hole == UR_HOLE_VOLATILE) {
            return;
        }
    }
    if (!ur_tpl_claim(slot)) {
        return;
    }
    t->key = *k;
    for (i = 0; i < b->n; i++) {
        const ur_piece *pc = &b->v[i];

        if (pc->hole != UR_HOLE_NONE) {
            if (n == UR_TPL_HOLES) {
                break;
            }
            t->hole[n] = (unsigned char)pc->hole;
            t->at[n++] = (unsigned short)used;
        }
        else if (UR_TPL_TEXT - used < 6 * pc->n) {
            break;
        }
        else if (!pc->esc || b->type == UR_BODY_PLAIN) {
            memcpy(t->text + used, pc->s, pc->n);
            used += pc->n;
        }
        else {
            used += ur_piece_write(pc, b->type, t->text + used);
        }
    }
    if (i < b->n) {
        ur_tpl_set(slot, UR_TPL_UNUSED);
        return;
    }
    t->nholes = n;
    t->static_len = used;
    ur_tpl_set(slot, UR_TPL_READY);
}

/* The body from the kept template and this request's holes: one
 * allocation, with the quote in front (as ur_buf_join). */
static const char *ur_tpl_fill(apr_pool_t *p, const ur_tpl *t,
                               ur_body_type type, const ur_where *w,
                               const char *signature)
{
    const ur_piece *hole[UR_TPL_HOLES];
    ur_piece sig;
    apr_size_t total = t->static_len, from = 0;
    int i, esc = type != UR_BODY_PLAIN;
    char *out, *o;

    sig.s = signature;
    sig.n = *signature ? strlen(signature) : 0;
    sig.esc = 0;
    for (i = 0; i < t->nholes; i++) {
        const ur_piece *h = t->hole[i] == UR_HOLE_SIG ? &sig
                                                      : &w->part[t->hole[i]];

        hole[i] = h;
        total += h->esc && esc ? 6 * h->n : h->n;
    }
    out = apr_palloc(p, total + 2);
    *out++ = '"';
    o = out;
    for (i = 0; i < t->nholes; i++) {
        memcpy(o, t->text + from, t->at[i] - from);
        o += t->at[i] - from;
        from = t->at[i];
        if (hole[i]->esc && esc) {
            o += ur_piece_write(hole[i], type, o);
        }
        else {
            memcpy(o, hole[i]->s, hole[i]->n);
            o += hole[i]->n;
        }
    }
    memcpy(o, t->text + from, t->static_len - from);
    o[t->static_len - from] = '\0';
    return out;
}

/*
 * The body of a 426 in the negotiated type (st->body): the reason, then
 * one item per unmet requirement, its alternatives joined by " Or: ".
 * Everything from the request is in w and reason, already inert; it is
 * escaped here for HTML or JSON.  signature: HTML, or "".  Written as
 * pieces, and kept as the template of key keep (if not NULL) in its slot.
 */
static UR_NOINLINE const char *ur_body_pieces(apr_pool_t *p,
                                              const ur_state *st,
                                              const ur_where *w,
                                              const char *phase,
                                              const ur_sent *sent,
                                              int h2c_possible,
                                              const char *signature,
                                              const ur_tpl_key *keep,
                                              unsigned slot)
{
    const ur_set *conf = st->conf;
    int html = st->body == UR_BODY_HTML, plain = st->body == UR_BODY_PLAIN;
    int i, k, sep;
    ur_buf b, why;

    /* the phase and the reason, as pieces: JSON says them twice */
    ur_buf_init(&why, p, st->body);
    if (*phase) {
        ur_volatile(&why, phase);
    }
    ur_reason_put(&why, st, sent->upgrade, sent->method, sent->protocol);
    ur_buf_init(&b, p, st->body);
    if (html) {
        UR_RAW(&b, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
                   "<html><head>\n<title>426 Upgrade Required</title>\n"
                   "</head><body>\n<h1>Upgrade Required</h1>\n"
                   "<p>This resource cannot be served over the protocol "
                   "this request used.");
        if (why.n) {
            UR_RAW(&b, " ");
            ur_buf_append(&b, &why);
        }
        UR_RAW(&b, "</p>\n<ul>\n");
    }
    else if (plain) {
        UR_RAW(&b, "426 Upgrade Required\n\n");
        if (why.n) {
            ur_buf_append(&b, &why);
            UR_RAW(&b, "\n\n");
        }
    }
    else {
        UR_RAW(&b, "{\"type\":\"about:blank\",\"title\":\"Upgrade "
                   "Required\",\"status\":426,\"detail\":\"");
        ur_buf_append(&b, &why);
    }
    sep = why.n > 0;
    for (i = 0; i < conf->nrules; i++) {
        const ur_rule *rule = UR_RULE(conf, i);

        if (!(st->v.unmet & ((apr_uint32_t)1 << i))) {
            continue;
        }
        if (html) {
            UR_RAW(&b, "<li>");
        }
        else if (plain) {
            UR_RAW(&b, "- ");
        }
        else if (sep) {
            UR_RAW(&b, " ");
        }
        for (k = 0; k < rule->ntokens; k++) {
            if (k) {
                UR_TXT(&b, " Or: ");
            }
            ur_advice(&b, &rule->tokens[k], st, w, h2c_possible);
        }
        if (html) {
            UR_RAW(&b, "</li>\n");
        }
        else if (plain) {
            UR_RAW(&b, "\n");
        }
        sep = 1;
    }
    if (html) {
        UR_RAW(&b, "</ul>\n");
        ur_hole_put(&b, signature, strlen(signature), 0, UR_HOLE_SIG);
        UR_RAW(&b, "</body></html>\n");
    }
    else if (!plain) {
        UR_RAW(&b, "\",\"reason\":\"");
        ur_buf_append(&b, &why);
        UR_RAW(&b, "\",\"required\":[");
        sep = 0;
        for (i = 0; i < conf->nrules; i++) {
            if (st->v.unmet & ((apr_uint32_t)1 << i)) {
                if (sep++) {
                    UR_RAW(&b, ",");
                }
                ur_raw(&b, UR_RULE(conf, i)->json);
            }
        }
        UR_RAW(&b, "],\"upgrade\":\"");
        ur_txt(&b, st->upgrade);
        if (conf->sched) {
            UR_RAW(&b, "\",\"phase\":\"");
            ur_raw(&b, ur_phase_name[st->phase]);
            UR_RAW(&b, "\",\"sunset\":\"");
            ur_raw(&b, conf->sched->sunset_http);
        }
        UR_RAW(&b, "\"}\n");
    }
    if (keep) {
        ur_tpl_keep(&b, keep, slot);
    }
    return ur_buf_join(&b);
}

/* The body: from its template when one is kept for its key, else
 * written as pieces (and kept, if it may be). */
static const char *ur_body(apr_pool_t *p, const ur_state *st,
                           const ur_where *w, const char *phase,
                           const ur_sent *sent, int h2c_possible,
                           const char *signature)
{
    unsigned slot = 0;
    ur_tpl_key key;
    int keep = !*phase && ur_tpl_key_of(st, sent, h2c_possible, &key, &slot);

    if (keep && ur_tpl_get(slot) == UR_TPL_READY
        && ur_tpl_same(&ur_tpls[slot].key, &key)) {
        return ur_tpl_fill(p, &ur_tpls[slot], st->body, w, signature);
    }
    return ur_body_pieces(p, st, w, phase, sent, h2c_possible, signature,
                          keep ? &key : NULL, slot);
}

#ifndef UR_UNIT_TEST

/* ------------------------------------------------------------------ */
/* Configuration: create and merge                                     */
/* ------------------------------------------------------------------ */

/* Every line of the server configuration, recorded as it is read (an
 * ur_line, 32 bytes, where its section points): its counter slot is its
 * index here, and "httpd -t -D DUMP_UPGRADE_REQUIRED" prints them (only
 * under that define is the section named). */
#define UR_DUMP_DEFINE      "DUMP_UPGRADE_REQUIRED"


/* Does this section say where a line applies?  <VirtualHost> is the
 * server_rec, <IfModule>/<IfDefine> only decide whether it is read. */
static int ur_scoping_section(const ap_directive_t *d)
{
    return apr_cstr_casecmp(d->directive, "<VirtualHost")
           && apr_cstr_casecmpn(d->directive, "<IfModule", 9)
           && apr_cstr_casecmpn(d->directive, "<IfDefine", 9);
}

/* "<Location /x> <If ...>" around a line, or "" */
static const char *ur_section(apr_pool_t *p, const ap_directive_t *line)
{
    const ap_directive_t *d;
    const char *section = "";

    for (d = line->parent; d; d = d->parent) {
        if (ur_scoping_section(d)) {
            section = apr_pstrcat(p, d->directive, " ", d->args,
                                  *section ? " " : "", section, NULL);
        }
    }
    return section;
}

/* In chunks that never move: 20,000 lines leave no doubled copies
 * behind in pconf, as an apr_array would. */
#define UR_LINE_CHUNK       256

typedef struct {
    apr_pool_t *pool;           /* ur_cpool */
    ur_line **chunks;           /* UR_LINE_CHUNK entries each */
    apr_uint32_t nchunks;       /* slots in chunks */
    apr_uint32_t nelts;         /* lines */
} ur_line_list;

static ur_line_list *ur_lines;

#define UR_LINE(i)          (&ur_lines->chunks[(i) / UR_LINE_CHUNK] \
                                             [(i) % UR_LINE_CHUNK])

static ur_line *ur_line_push(void)
{
    ur_line_list *l = ur_lines;

    if (l->nelts / UR_LINE_CHUNK >= l->nchunks) {
        apr_uint32_t n = l->nchunks ? l->nchunks * 2 : 16;
        ur_line **c = apr_pcalloc(l->pool, n * sizeof(*c));

        if (l->nchunks) {
            memcpy(c, l->chunks, l->nchunks * sizeof(*c));
        }
        l->chunks = c;
        l->nchunks = n;
    }
    if (l->nelts % UR_LINE_CHUNK == 0) {
        l->chunks[l->nelts / UR_LINE_CHUNK]
            = apr_palloc(l->pool, UR_LINE_CHUNK * sizeof(ur_line));
    }
    l->nelts++;
    return UR_LINE(l->nelts - 1);
}
static int ur_dumping;                  /* -D DUMP_UPGRADE_REQUIRED */

/* This generation's counters (shared memory, see ur_counters_setup) and
 * its number of slots; 0 slots: no counters, nothing is counted. */
static apr_uint64_t *ur_counts;
static apr_uint32_t ur_cnt_nslots;
static int ur_status_off;               /* UpgradeRequireServerStatus off */

/*
 * What the server configuration compiles goes into a pool of our own
 * (a subpool of pconf, made in pre_config), not between httpd's
 * per-section structures: the walk over 10,000 <Location>s on every
 * request then reads them off as few pages as without our lines.  The
 * .htaccess side stays in the request's pool.
 */
static apr_pool_t *ur_pconf;            /* pconf of this generation */
static apr_pool_t *ur_cpool;            /* ... and our part of it */

/*
 * The lines of the server configuration, compiled once per distinct
 * argument list: 10,000 virtual hosts saying "UpgradeRequire websocket"
 * share one ur_rule, its tokens and strings (in ur_cpool; each line is
 * its registry entry, which names the rule, its directive and counter
 * slot).  Not for .htaccess lines: they are read per request, by many
 * threads, in the request's pool.
 */
static apr_hash_t *ur_compiled;         /* arguments -> ur_compiled_line */

/* A compiled argument list, and in front of the hash the ones seen
 * last, direct-mapped by length and two bytes: a generated configuration
 * repeats a few lines thousands of times, and apr_hash_get would hash
 * every byte of each. */
typedef struct {
    const char *key;            /* the arguments, each ended by \n */
    apr_size_t klen;
    ur_rule rule;               /* ... as compiled */
} ur_compiled_line;

#define UR_FRONT_SLOTS      64

static const ur_compiled_line *ur_front[UR_FRONT_SLOTS];

/* pconf is cleared before the next configuration is read, and httpd
 * creates the main server's per-directory defaults before pre_config
 * runs: from then until pre_config, nothing may point into the old
 * subpool. */
static apr_status_t ur_cpool_gone(void *data)
{
    ur_pconf = NULL;
    ur_cpool = NULL;
    ur_compiled = NULL;
    memset(ur_front, 0, sizeof(ur_front));
    /* the bodies kept for its lines name them by address */
    ur_tpl_forget();
    return APR_SUCCESS;
}

static void *ur_create_dir_conf(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p == ur_pconf && ur_cpool ? ur_cpool : p,
                       sizeof(ur_dir_conf));
}

/*
 * One scope over another.  A scope with lines replaces what it inherits,
 * in its own mode or schedule (none written: enforce), so no less
 * specific section and no .htaccess can put it in report mode; a scope
 * with only a mode, or only a schedule, changes what it inherits.
 */
static void ur_merge_set(ur_set *out, const ur_set *base, const ur_set *add)
{
    if (add->lines) {
        *out = *add;
    }
    else {
        *out = *base;
        if (add->mode != UR_MODE_UNSET) {
            out->mode = add->mode;
            out->sched = NULL;
        }
        if (add->sched) {
            out->sched = add->sched;
            out->mode = UR_MODE_UNSET;
        }
    }
}

/* A merged rest: NULL when it says nothing, one side's own object when
 * it is that side's, else a copy. */
static const ur_dir_more *ur_more_of(apr_pool_t *p, const ur_dir_more *m,
                                     const ur_dir_more *base,
                                     const ur_dir_more *add)
{
    const ur_dir_more *same[3];
    int i;

    same[0] = &ur_no_more;
    same[1] = base;
    same[2] = add;
    for (i = 0; i < 3; i++) {
        const ur_dir_more *o = same[i];

        if (o->lock == m->lock && o->redirect == m->redirect
            && o->tls_url == m->tls_url
            && !memcmp(&o->extra, &m->extra, sizeof(m->extra))) {
            return i ? o : NULL;
        }
    }
    return apr_pmemdup(p, m, sizeof(*m));
}

/*
 * Runs per request for <Location>/<If>/.htaccess merges: it only picks
 * pointers and scalars, and allocates only when both sides hold a part.
 * Under UpgradeRequireLock the requirements in force stay as they are
 * and an .htaccess file only adds lines of its own (extra), which it
 * may replace, switch off or report on as it likes.
 */
static UR_NOINLINE void *ur_merge_both(apr_pool_t *p,
                                       const ur_dir_conf *base,
                                       const ur_dir_conf *add)
{
    const ur_dir_more *bm = UR_MORE(base), *am = UR_MORE(add);
    ur_dir_conf *conf = apr_palloc(p, sizeof(*conf));
    ur_dir_more m;

    memset(&m, 0, sizeof(m));
    m.lock = am->lock != UR_FLAG_UNSET ? am->lock : bm->lock;
    m.redirect = am->redirect != UR_FLAG_UNSET ? am->redirect : bm->redirect;
    m.tls_url = am->tls_url ? am->tls_url : bm->tls_url;
    if (add->own.htaccess && bm->lock == UR_FLAG_ON) {
        conf->own = base->own;
        ur_merge_set(&m.extra, &bm->extra, &add->own);
    }
    else {
        ur_merge_set(&conf->own, &base->own, &add->own);
        if (!add->own.lines) {
            m.extra = bm->extra;
        }
    }
    conf->more = ur_more_of(p, &m, bm, am);
    return conf;
}

/* Per request, per section: one side as it is, unless both hold a part;
 * the common answers without a frame.  (add is always a section's own
 * object, which never holds extra lines.) */
static void *ur_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ur_dir_conf *base = basev, *add = addv;

    if (!add->own.lines && add->own.mode == UR_MODE_UNSET && !add->own.sched
        && !add->more) {
        return basev;
    }
    if (add->own.lines && !base->more) {
        return addv;
    }
    return ur_merge_both(p, base, add);
}

/*
 * httpd makes a virtual host's object when the host has a line of ours,
 * most often a per-directory one.  Until a server directive writes to
 * it (ur_srv_to_write), it is this one unset object, and the merge hands
 * the host the main server's, as for a host without lines (the copy
 * that post_config gives each host is made either way).
 */
static const ur_srv_conf ur_srv_unset;

static void *ur_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    return s->is_virtual ? (void *)&ur_srv_unset
                         : apr_pcalloc(p, sizeof(ur_srv_conf));
}

/* The server's own object, to write: made on first use. */
static ur_srv_conf *ur_srv_to_write(cmd_parms *cmd)
{
    ur_srv_conf *sconf = ap_get_module_config(cmd->server->module_config,
                                              &upgrade_required_module);

    if (sconf == &ur_srv_unset) {
        sconf = apr_pcalloc(cmd->pool, sizeof(*sconf));
        ap_set_module_config(cmd->server->module_config,
                             &upgrade_required_module, sconf);
    }
    return sconf;
}

/*
 * Once per virtual host that has a line of ours, at startup.  One with a
 * server directive of ours has its own object: httpd replaces it by what
 * this returns and never reads it again, so the merge is written into
 * it, and such hosts keep no second copy.  Every field is read before it
 * is written.
 */
static void *ur_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ur_srv_conf *base = basev;
    ur_srv_conf *conf = addv;

    if (conf == &ur_srv_unset) {
        return basev;
    }
    if (!conf->proxies) {
        conf->proxies = base->proxies;
    }
    if (!conf->scheme_header) {
        conf->scheme_header = base->scheme_header;
        conf->scheme_value = base->scheme_value;
    }
    if (!conf->version_header) {
        conf->version_header = base->version_header;
    }
    conf->tls_port = 0;
    conf->htslot = UR_SLOT_HTACCESS;
    conf->htdup = 0;
    return conf;
}

/* ------------------------------------------------------------------ */
/* Directive handlers: the compiler                                    */
/* ------------------------------------------------------------------ */

/*
 * httpd has no trailing comments: in "UpgradeRequire TLS  # see ticket"
 * every word is an argument, and "#", "see" and "ticket" would become
 * upgrade tokens any client can send.  Every directive refuses them.
 */
static const char *ur_check_comment(cmd_parms *cmd, int argc,
                                    char *const argv[])
{
    int i;

    for (i = 0; i < argc; i++) {
        if (argv[i][0] == '#') {
            return apr_psprintf(cmd->pool, "%s: argument '%s' starts a "
                                "comment, but httpd has no trailing "
                                "comments: every word after the directive "
                                "is an argument (allowed: the comment on a "
                                "line of its own)", cmd->cmd->name,
                                ur_quote(cmd->pool, argv[i]));
        }
    }
    return NULL;
}

/* The arguments as an array, to quote them together. */
static apr_array_header_t *ur_argv_array(cmd_parms *cmd, int argc,
                                         char *const argv[])
{
    apr_array_header_t *a = apr_array_make(cmd->temp_pool, argc,
                                           sizeof(char *));
    int i;

    for (i = 0; i < argc; i++) {
        APR_ARRAY_PUSH(a, char *) = argv[i];
    }
    return a;
}

/* Is this directive read from an .htaccess file (<If> inside one too)?
 * Only there does httpd parse without RSRC_CONF and ACCESS_CONF. */
static int ur_in_htaccess(const cmd_parms *cmd)
{
    return !(cmd->override & (RSRC_CONF | ACCESS_CONF));
}

/* Where a line's compiled form goes (see ur_cpool). */
static apr_pool_t *ur_cfg_pool(const cmd_parms *cmd)
{
    return ur_in_htaccess(cmd) || !ur_cpool ? cmd->pool : ur_cpool;
}

/* Two lines of one section ask for the same alternatives. */
static int ur_same_rule(const ur_rule *a, const ur_rule *b)
{
    int i, k;

    if (a->ntokens != b->ntokens) {
        return 0;
    }
    for (i = 0; i < a->ntokens; i++) {
        for (k = 0; k < b->ntokens; k++) {
            if (ur_same_token(&a->tokens[i], &b->tokens[k])
                && a->tokens[i].tls_min == b->tokens[k].tls_min
                && a->tokens[i].proto_min == b->tokens[k].proto_min) {
                break;
            }
        }
        if (k == b->ntokens) {
            return 0;
        }
    }
    return 1;
}

/* A line's compiled form: in the server configuration the one object
 * of its arguments (see ur_compiled), else its own. */
static const char *ur_compile_cached(cmd_parms *cmd, int argc,
                                     char *const argv[], int htaccess,
                                     const ur_rule **out)
{
    char key[UR_MAX_TOKENS * (UR_TOKEN_MAX + 1)];
    apr_size_t klen = 0;
    const ur_compiled_line **front;
    const ur_compiled_line *hit;
    ur_compiled_line *kept;
    ur_rule *rule;
    const char *err;
    int i;

    if (htaccess || !ur_compiled || argc > UR_MAX_TOKENS) {
        rule = apr_pcalloc(ur_cfg_pool(cmd), sizeof(*rule));
        *out = rule;
        return ur_compile_rule(ur_cfg_pool(cmd), argc, argv, htaccess, rule);
    }
    for (i = 0; i < argc; i++) {
        apr_size_t len = strlen(argv[i]);

        if (len > UR_TOKEN_MAX) {
            /* too long to be a token: the compiler says so */
            rule = apr_pcalloc(ur_cpool, sizeof(*rule));
            *out = rule;
            return ur_compile_rule(ur_cpool, argc, argv, 0, rule);
        }
        memcpy(key + klen, argv[i], len);
        klen += len;
        key[klen++] = '\n';
    }
    front = &ur_front[(klen * 31 + (unsigned char)key[0] * 7
                       + (unsigned char)key[klen - 2]) % UR_FRONT_SLOTS];
    hit = *front;
    if (!hit || hit->klen != klen || memcmp(hit->key, key, klen)) {
        hit = apr_hash_get(ur_compiled, key, (apr_ssize_t)klen);
    }
    if (!hit) {
        kept = apr_pcalloc(ur_cpool, sizeof(*kept));
        if ((err = ur_compile_rule(ur_cpool, argc, argv, 0,
                                   &kept->rule)) != NULL) {
            return err;
        }
        /* its own allocation, in ur_cpool: a body may be kept for it */
        ((ur_token *)kept->rule.tokens)[0].interned = 1;
        kept->key = apr_pmemdup(ur_cpool, key, klen);
        kept->klen = klen;
        apr_hash_set(ur_compiled, kept->key, (apr_ssize_t)klen, kept);
        hit = kept;
    }
    *front = hit;
    *out = &hit->rule;
    return NULL;
}

/* The lines of "UpgradeRequire off": none, but set. */
static const ur_line ur_off_lines[1];

/* The set's lines are the registry's own (a section of one line, or of
 * lines that followed each other there). */
static int ur_lines_in_registry(const ur_set *set)
{
    return set->nrules && set->lines[0].slot != UR_SLOT_HTACCESS
           && set->lines == UR_LINE(set->lines[0].slot);
}

static const char *ur_cmd_require(cmd_parms *cmd, void *dconf,
                                  int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const ur_rule *rule;
    ur_line one, *line, *lines;
    const char *err;
    int i, n = conf->own.nrules;

    if ((err = ur_check_comment(cmd, argc, argv)) != NULL) {
        return err;
    }
    if (argc == 0) {
        return "UpgradeRequire: no protocol given (allowed: 'off', or one "
               "or more of websocket, TLS, TLS/1.0..TLS/1.3, HTTP/1.1, "
               "HTTP/2, h2c, or another upgrade token)";
    }
    conf->own.htaccess = ur_in_htaccess(cmd);
    if (argc == 1 && !apr_cstr_casecmp(argv[0], "off")) {
        if (n) {
            return apr_psprintf(cmd->pool, "UpgradeRequire: 'off' after "
                                "requirements in the same section (line "
                                "%d) would silently drop them (allowed: "
                                "'off' alone in a section)",
                                conf->own.lines[0].d->line_num);
        }
        conf->own.lines = ur_off_lines;
        conf->own.families = 0;
        return NULL;
    }
    if (conf->own.lines && !n) {
        return "UpgradeRequire: requirements after 'UpgradeRequire off' in "
               "the same section (allowed: 'off' alone in a section)";
    }
    if (n >= UR_MAX_RULES) {
        return apr_psprintf(cmd->pool, "UpgradeRequire: too many "
                            "requirements '%d' in one section (at most %d)",
                            n + 1, UR_MAX_RULES);
    }
    /* One object per argument list in the server configuration; an
     * .htaccess line is compiled per request, its strings waiting for a
     * refusal. */
    if ((err = ur_compile_cached(cmd, argc, argv, conf->own.htaccess,
                                 &rule)) != NULL) {
        return apr_pstrcat(cmd->pool, "UpgradeRequire: ", err, NULL);
    }
    for (i = 0; i < n; i++) {
        const ur_rule *prev = UR_RULE(&conf->own, i);

        if (ur_same_rule(prev, rule)) {
            if (!prev->text) {
                ur_build_strings(cmd->pool, (ur_rule *)prev);
            }
            return apr_psprintf(cmd->pool, "UpgradeRequire: the same "
                                "requirement '%s' is already on line %d of "
                                "this section (allowed: each requirement "
                                "once per section)", prev->text,
                                conf->own.lines[i].d->line_num);
        }
    }
    /* A line of the server configuration is its registry entry (see
     * ur_line_push); the section points there while its lines follow
     * each other in one chunk, as they do but for an <If> between them.
     * Otherwise, and in .htaccess, an array of exactly the lines so far:
     * the request path sees a plain pointer and count either way. */
    line = conf->own.htaccess ? &one : ur_line_push();
    line->rule = rule;
    line->d = cmd->directive;
    line->s = cmd->server;
    /* for the dump: the section's mode, schedule and lock, once read */
    cmd->directive->data = conf;
    line->slot = conf->own.htaccess ? UR_SLOT_HTACCESS : ur_lines->nelts - 1;
    line->dup = 0;
    if (!conf->own.htaccess
        && (!n || (ur_lines_in_registry(&conf->own)
                   && line->slot == conf->own.lines[0].slot + n
                   && line->slot % UR_LINE_CHUNK))) {
        if (!n) {
            conf->own.lines = line;
        }
    }
    else {
        lines = apr_palloc(ur_cfg_pool(cmd), sizeof(*lines) * (n + 1));
        if (n) {
            memcpy(lines, conf->own.lines, sizeof(*lines) * n);
        }
        lines[n] = *line;
        conf->own.lines = lines;
    }
    for (i = 0; i < rule->ntokens; i++) {
        if (rule->tokens[i].tls_min) {
            conf->own.need_tls_version = 1;
        }
    }
    conf->own.nrules++;
    conf->own.families |= rule->families;
    return NULL;
}

/* Exactly one word of a list; the directives that take one use this so
 * that a trailing comment gets the comment message, not httpd's. */
static const char *ur_one_arg(cmd_parms *cmd, int argc, char *const argv[],
                              const char *allowed)
{
    const char *err = ur_check_comment(cmd, argc, argv);

    if (err) {
        return err;
    }
    if (argc != 1) {
        return apr_psprintf(cmd->pool, "%s: takes one argument, %d given "
                            "(allowed: %s)", cmd->cmd->name, argc, allowed);
    }
    return NULL;
}

static const char *ur_cmd_mode(cmd_parms *cmd, void *dconf,
                               int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const char *err = ur_one_arg(cmd, argc, argv, "enforce, report");

    if (err) {
        return err;
    }
    conf->own.htaccess = ur_in_htaccess(cmd);
    if (conf->own.sched) {
        return apr_psprintf(cmd->pool, "UpgradeRequireMode: '%s' in a "
                            "section with a migration schedule (%s:%u) is "
                            "contradictory (allowed: a mode or a schedule "
                            "in one section, not both)",
                            ur_quote(cmd->pool, argv[0]),
                            conf->own.sched->file, conf->own.sched->line);
    }
    if (!apr_cstr_casecmp(argv[0], "enforce")) {
        conf->own.mode = UR_MODE_ENFORCE;
    }
    else if (!apr_cstr_casecmp(argv[0], "report")) {
        conf->own.mode = UR_MODE_REPORT;
    }
    else {
        return apr_psprintf(cmd->pool, "UpgradeRequireMode: unknown mode "
                            "'%s' (allowed: enforce, report)",
                            ur_quote(cmd->pool, argv[0]));
    }
    return NULL;
}

/* An absolute http(s) URL for a Link header: URI characters only. */
static const char *ur_check_link_url(cmd_parms *cmd, const char *url)
{
    const char *s;

    if (apr_cstr_casecmpn(url, "https://", 8)
        && apr_cstr_casecmpn(url, "http://", 7)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an http:// or "
                            "https:// URL (allowed: an absolute URL that "
                            "explains the migration)", cmd->cmd->name,
                            ur_quote(cmd->pool, url));
    }
    for (s = url; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("-._~!$&()*+,;=:/?#[]@%", *s)) {
            return apr_psprintf(cmd->pool, "%s: character '%c' at position "
                                "%d of '%s' (allowed: URI characters)",
                                cmd->cmd->name, *s, (int)(s - url) + 1,
                                ur_quote(cmd->pool, url));
        }
    }
    return NULL;
}

/* The Link values: the sunset's from the start, the deprecation's added
 * once that date has come (before it, there is nothing to announce). */
static void ur_add_link(apr_pool_t *p, ur_schedule *sc, const char *url,
                        const char *rel)
{
    const char *v = apr_psprintf(p, "<%s>; rel=\"%s\"", url, rel);

    if (!strcmp(rel, "sunset")) {
        sc->link = v;
    }
    sc->link_dep = sc->link && sc->link != v
                   ? apr_pstrcat(p, sc->link, ", ", v, NULL) : v;
}

/* A schedule directive needs the section's UpgradeRequireSunset first. */
static ur_schedule *ur_need_schedule(cmd_parms *cmd, ur_dir_conf *conf,
                                     int argc, char *const argv[],
                                     const char **err)
{
    if (!conf->own.sched) {
        *err = apr_psprintf(cmd->pool, "%s: '%s' needs an "
                            "UpgradeRequireSunset earlier in the same "
                            "section (allowed: "
                            "UpgradeRequireSunset, then "
                            "UpgradeRequireDeprecation, "
                            "UpgradeRequireBrownout, "
                            "UpgradeRequireDeprecationPercent)",
                            cmd->cmd->name, ur_quote(cmd->pool,
                                                     apr_array_pstrcat(
                                                         cmd->temp_pool,
                                                         ur_argv_array(
                                                             cmd, argc,
                                                             argv), ' ')));
    }
    /* the section's own: built here, read only once configured */
    return (ur_schedule *)conf->own.sched;
}

static const char *ur_cmd_sunset(cmd_parms *cmd, void *dconf,
                                 int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    ur_schedule *sc;
    const char *err = ur_check_comment(cmd, argc, argv);
    char date[APR_RFC822_DATE_LEN];
    apr_int64_t t;

    if (err) {
        return err;
    }
    if (argc < 1 || argc > 2) {
        return apr_psprintf(cmd->pool, "UpgradeRequireSunset: takes a date "
                            "and optionally a URL, %d given (allowed: "
                            "YYYY-MM-DD[THH:MM[:SS]Z] [URL])", argc);
    }
    if (conf->own.sched) {
        return apr_psprintf(cmd->pool, "UpgradeRequireSunset: already set "
                            "on line %u of this section (allowed: one "
                            "sunset per section)", conf->own.sched->line);
    }
    if (conf->own.mode != UR_MODE_UNSET) {
        return apr_psprintf(cmd->pool, "UpgradeRequireSunset: '%s' in a "
                            "section with an UpgradeRequireMode is "
                            "contradictory (allowed: a mode or a schedule "
                            "in one section, not both)",
                            ur_quote(cmd->pool, argv[0]));
    }
    if ((err = ur_parse_date(argv[0], &t)) != NULL) {
        return apr_psprintf(cmd->pool, "UpgradeRequireSunset: '%s': %s",
                            ur_quote(cmd->pool, argv[0]), err);
    }
    if (argc == 2 && (err = ur_check_link_url(cmd, argv[1])) != NULL) {
        return err;
    }
    sc = apr_pcalloc(cmd->pool, sizeof(*sc));
    sc->sunset = t;
    sc->percent = -1;
    apr_rfc822_date(date, apr_time_from_sec(t));
    sc->sunset_http = apr_pstrdup(cmd->pool, date);
    if (argc == 2) {
        ur_add_link(cmd->pool, sc, argv[1], "sunset");
    }
    sc->file = cmd->directive->filename;
    sc->line = cmd->directive->line_num;
    conf->own.htaccess = ur_in_htaccess(cmd);
    conf->own.sched = sc;
    return NULL;
}

static const char *ur_cmd_deprecation(cmd_parms *cmd, void *dconf,
                                      int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const char *err = ur_check_comment(cmd, argc, argv);
    ur_schedule *sc;
    apr_int64_t t;

    if (err || !(sc = ur_need_schedule(cmd, conf, argc, argv, &err))) {
        return err;
    }
    if (argc < 1 || argc > 2) {
        return apr_psprintf(cmd->pool, "UpgradeRequireDeprecation: takes a "
                            "date and optionally a URL, %d given (allowed: "
                            "YYYY-MM-DD[THH:MM[:SS]Z] [URL])", argc);
    }
    if (sc->deprecation) {
        return "UpgradeRequireDeprecation: already set in this section "
               "(allowed: one deprecation date per section)";
    }
    if ((err = ur_parse_date(argv[0], &t)) != NULL) {
        return apr_psprintf(cmd->pool, "UpgradeRequireDeprecation: '%s': %s",
                            ur_quote(cmd->pool, argv[0]), err);
    }
    if (t >= sc->sunset) {
        return apr_psprintf(cmd->pool, "UpgradeRequireDeprecation: '%s' is "
                            "not before the sunset %s (line %u; allowed: a "
                            "deprecation date earlier than the sunset)",
                            ur_quote(cmd->pool, argv[0]), sc->sunset_http,
                            sc->line);
    }
    if (argc == 2 && (err = ur_check_link_url(cmd, argv[1])) != NULL) {
        return err;
    }
    sc->deprecation = t;
    /* RFC 9745: a Structured Field Date, not "true", not an IMF date */
    sc->deprecation_sf = apr_psprintf(cmd->pool, "@%" APR_INT64_T_FMT, t);
    if (argc == 2) {
        ur_add_link(cmd->pool, sc, argv[1], "deprecation");
    }
    return NULL;
}

static const char *ur_cmd_brownout(cmd_parms *cmd, void *dconf,
                                   int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const char *err = ur_check_comment(cmd, argc, argv);
    ur_schedule *sc;
    ur_window w;

    if (err || !(sc = ur_need_schedule(cmd, conf, argc, argv, &err))) {
        return err;
    }
    if ((err = ur_parse_window(argc, argv, &w)) != NULL) {
        return apr_psprintf(cmd->pool, "UpgradeRequireBrownout: '%s': %s",
                            ur_quote(cmd->pool, apr_array_pstrcat(
                                cmd->temp_pool, ur_argv_array(cmd, argc,
                                                              argv), ' ')),
                            err);
    }
    if (w.period == UR_WIN_EXPLICIT && w.start >= sc->sunset) {
        return apr_psprintf(cmd->pool, "UpgradeRequireBrownout: '%s' starts "
                            "after the sunset %s, when enforcement is "
                            "permanent anyway (allowed: a window before the "
                            "sunset)", ur_quote(cmd->pool, argv[0]),
                            sc->sunset_http);
    }
    if (sc->nwindows >= UR_MAX_WINDOWS) {
        return apr_psprintf(cmd->pool, "UpgradeRequireBrownout: too many "
                            "windows (at most %d per section)",
                            UR_MAX_WINDOWS);
    }
    sc->windows[sc->nwindows++] = w;
    return NULL;
}

static const char *ur_cmd_percent(cmd_parms *cmd, void *dconf,
                                  int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const char *err = ur_one_arg(cmd, argc, argv, "a percentage, 0 to 100");
    ur_schedule *sc;
    char *end;
    long n;

    if (err || !(sc = ur_need_schedule(cmd, conf, argc, argv, &err))) {
        return err;
    }
    if (!sc->deprecation) {
        return "UpgradeRequireDeprecationPercent: needs an "
               "UpgradeRequireDeprecation earlier in the same section (the "
               "percentage applies between deprecation and sunset)";
    }
    n = strtol(argv[0], &end, 10);
    if (!apr_isdigit(argv[0][0]) || *end || n < 0 || n > 100) {
        return apr_psprintf(cmd->pool, "UpgradeRequireDeprecationPercent: "
                            "'%s' (allowed: a whole number from 0 to 100)",
                            ur_quote(cmd->pool, argv[0]));
    }
    sc->percent = (int)n;
    return NULL;
}

/* A section's rest, to write: its own, made on first use. */
static ur_dir_more *ur_more_to_write(cmd_parms *cmd, ur_dir_conf *conf)
{
    if (!conf->more) {
        conf->more = apr_pcalloc(ur_cfg_pool(cmd), sizeof(ur_dir_more));
    }
    return (ur_dir_more *)conf->more;
}

/* UpgradeRequireLock, UpgradeRequireTLSRedirect: on | off into the
 * ur_dir_more field at offset cmd->info, leaving "unset" for the merge. */
static const char *ur_cmd_flag(cmd_parms *cmd, void *dconf,
                               int argc, char *const argv[])
{
    const char *err = ur_one_arg(cmd, argc, argv, "on, off");
    unsigned char *field;

    if (err) {
        return err;
    }
    field = (unsigned char *)ur_more_to_write(cmd, dconf)
            + (apr_size_t)cmd->info;
    if (!apr_cstr_casecmp(argv[0], "on")) {
        *field = UR_FLAG_ON;
    }
    else if (!apr_cstr_casecmp(argv[0], "off")) {
        *field = UR_FLAG_OFF;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (allowed: "
                            "on, off)", cmd->cmd->name,
                            ur_quote(cmd->pool, argv[0]));
    }
    return NULL;
}

/*
 * https://host[:port][/prefix]: where the TLS side of this resource is,
 * for a module that cannot know it (a CDN, a proxy, another host).  It
 * goes into bodies and Location headers, so only URI characters.
 */
static const char *ur_cmd_tls_url(cmd_parms *cmd, void *dconf,
                                  int argc, char *const argv[])
{
    ur_dir_conf *conf = dconf;
    const char *err = ur_one_arg(cmd, argc, argv, "an https:// URL: "
                                 "https://host[:port][/path]");
    const char *host, *s;
    char *url;

    if (err) {
        return err;
    }
    url = apr_pstrdup(cmd->pool, argv[0]);
    if (apr_cstr_casecmpn(url, "https://", 8)) {
        return apr_psprintf(cmd->pool, "UpgradeRequireTLSURL: '%s' is not "
                            "an https:// URL (allowed: "
                            "https://host[:port][/path])",
                            ur_quote(cmd->pool, url));
    }
    host = url + 8;
    for (s = host; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("-._~!$&()*+,;=:/%[]", *s)) {
            return apr_psprintf(cmd->pool, "UpgradeRequireTLSURL: character "
                                "'%c' at position %d of '%s' (allowed: "
                                "https://host[:port][/path] without query, "
                                "fragment or user name)", *s,
                                (int)(s - url) + 1, ur_quote(cmd->pool, url));
        }
    }
    if (!*host || *host == '/' || *host == ':') {
        return apr_psprintf(cmd->pool, "UpgradeRequireTLSURL: no host in "
                            "'%s' (allowed: https://host[:port][/path])",
                            ur_quote(cmd->pool, url));
    }
    /* the request's path follows: no slash of our own at the end */
    for (s = url + strlen(url); s > host + 1 && s[-1] == '/'; s--)
        ;
    url[s - url] = '\0';
    ur_more_to_write(cmd, conf)->tls_url = url;
    return NULL;
}

static const char *ur_cmd_proxy(cmd_parms *cmd, void *dconf,
                                int argc, char *const argv[])
{
    ur_srv_conf *sconf = ur_srv_to_write(cmd);
    const char *err = ur_check_comment(cmd, argc, argv);
    int i;

    if (err) {
        return err;
    }
    if (!argc) {
        return "UpgradeRequireTrustedProxy: no address given (allowed: "
               "IPv4 or IPv6 addresses, optionally /mask or /prefix length)";
    }
    for (i = 0; i < argc; i++) {
        apr_ipsubnet_t **sub;

        if (!sconf->proxies) {
            sconf->proxies = apr_array_make(cmd->pool, 4, sizeof(*sub));
        }
        sub = apr_array_push(sconf->proxies);
        if (!ur_parse_subnet(cmd->pool, argv[i], sub)) {
            sconf->proxies->nelts--;
            return apr_psprintf(cmd->pool, "UpgradeRequireTrustedProxy: "
                                "invalid address '%s' (allowed: an IPv4 or "
                                "IPv6 address, optionally /mask or /prefix "
                                "length)", ur_quote(cmd->pool, argv[i]));
        }
    }
    return NULL;
}

/* A header name: an RFC 9110 token. */
static const char *ur_check_header_name(cmd_parms *cmd, const char *name)
{
    const char *s;

    for (s = name; *s; s++) {
        if (!ur_is_tchar((unsigned char)*s)) {
            break;
        }
    }
    if (!*name || *s) {
        return apr_psprintf(cmd->pool, "%s: invalid header name '%s' "
                            "(allowed: a header field name, RFC 9110 "
                            "token characters)", cmd->cmd->name,
                            ur_quote(cmd->pool, name));
    }
    return NULL;
}

static const char *ur_cmd_scheme_header(cmd_parms *cmd, void *dconf,
                                        int argc, char *const argv[])
{
    ur_srv_conf *sconf = ur_srv_to_write(cmd);
    const char *err = ur_check_comment(cmd, argc, argv);

    if (err) {
        return err;
    }
    if (argc < 1 || argc > 2) {
        return apr_psprintf(cmd->pool, "UpgradeRequireProxySchemeHeader: "
                            "takes a header name and optionally the value "
                            "that means TLS, %d given (allowed: "
                            "X-Forwarded-Proto, Forwarded, or another "
                            "header [value], value default https)", argc);
    }
    if ((err = ur_check_header_name(cmd, argv[0])) != NULL) {
        return err;
    }
    if (argc == 2 && (err = ur_check_header_name(cmd, argv[1])) != NULL) {
        return apr_psprintf(cmd->pool, "UpgradeRequireProxySchemeHeader: "
                            "invalid value '%s' (allowed: a single token "
                            "such as https or on)",
                            ur_quote(cmd->pool, argv[1]));
    }
    sconf->scheme_header = argv[0];
    sconf->scheme_value = argc == 2 ? argv[1] : "https";
    return NULL;
}

static const char *ur_cmd_version_header(cmd_parms *cmd, void *dconf,
                                         int argc, char *const argv[])
{
    ur_srv_conf *sconf = ur_srv_to_write(cmd);
    const char *err = ur_one_arg(cmd, argc, argv, "a header name such as "
                                 "X-Amzn-Tls-Version, or none");

    if (err) {
        return err;
    }
    if (!apr_cstr_casecmp(argv[0], "none")) {
        sconf->version_header = "";
        return NULL;
    }
    if ((err = ur_check_header_name(cmd, argv[0])) != NULL) {
        return err;
    }
    sconf->version_header = argv[0];
    return NULL;
}

/* UpgradeRequireServerStatus: the counters are server-wide, so is this */
static const char *ur_cmd_server_status(cmd_parms *cmd, void *dconf,
                                        int argc, char *const argv[])
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err || (err = ur_one_arg(cmd, argc, argv, "on, off")) != NULL) {
        return err;
    }
    if (apr_cstr_casecmp(argv[0], "on") && apr_cstr_casecmp(argv[0], "off")) {
        return apr_psprintf(cmd->pool, "UpgradeRequireServerStatus: unknown "
                            "value '%s' (allowed: on, off)",
                            ur_quote(cmd->pool, argv[0]));
    }
    ur_status_off = !apr_cstr_casecmp(argv[0], "off");
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

/*
 * TLS as a trusted proxy reports it: only the header the admin says the
 * proxy writes (default X-Forwarded-Proto), never another one the client
 * could have sent through it; the version only from the header the proxy
 * fills with it.
 */
static void ur_proxy_tls_read(request_rec *r, const ur_srv_conf *sconf,
                              ur_facts *f)
{
    const char *name = sconf->scheme_header ? sconf->scheme_header
                                            : "X-Forwarded-Proto";

    if (!ur_trusted_peer(r)
        || !ur_proxy_scheme_is(apr_table_get(r->headers_in, name),
                               !apr_cstr_casecmp(name, "Forwarded"),
                               sconf->scheme_header ? sconf->scheme_value
                                                    : "https")) {
        return;
    }
    f->tls = UR_TLS_PROXY;
    if (sconf->version_header && *sconf->version_header) {
        f->tls_version = ur_proxy_tls_version(
            apr_table_get(r->headers_in, sconf->version_header));
    }
}

/* ... where any proxy is trusted at all: most servers trust none */
static UR_INLINE void ur_proxy_tls(request_rec *r, ur_facts *f)
{
    const ur_srv_conf *sconf = ap_get_module_config(r->server->module_config,
                                                    &upgrade_required_module);

    if (sconf->proxies) {
        ur_proxy_tls_read(r, sconf, f);
    }
}

/*
 * Will the core switch this request to h2c?  core_upgrade_handler takes
 * the client's own Upgrade header, parses it strictly (one bad element
 * and it declines), and switches to what ap_select_protocol picks among
 * those offers, where mod_http2 checks HTTP2-Settings, the request body
 * and H2Upgrade.  A looser reading here would be a bypass: "Upgrade: H2C"
 * or "foo/1, h2c" are declined there and served over HTTP/1.1.
 */
static int ur_h2c_accepted(request_rec *r)
{
    conn_rec *c = r->connection;
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");
    apr_array_header_t *offers = NULL;
    const char *chosen;

    if (c->master || !upgrade || !*upgrade
        || !ap_find_token(r->pool, apr_table_get(r->headers_in,
                                                 "Connection"), "upgrade")
        || ap_parse_token_list_strict(r->pool, upgrade, &offers, 0)
        || !offers || !offers->nelts) {
        return 0;
    }
    chosen = ap_select_protocol(c, r, NULL, offers);
    return chosen && strcmp(chosen, ap_get_protocol(c))
           && !strcmp(chosen, "h2c");
}

/* Why the core did not take a client's h2c offer, as far as we can say
 * (mod_http2's checks in h2_protocol_propose, the core's strict parse). */
static int ur_h2c_why(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_array_header_t *offers = NULL;

    if (ap_ssl_conn_is_ssl(r->connection)) {
        return UR_H2C_WHY_TLS;
    }
    if (ap_parse_token_list_strict(r->pool,
                                   apr_table_get(r->headers_in, "Upgrade"),
                                   &offers, 0)
        || !offers || !ap_array_str_contains(offers, "h2c")
        || !ap_find_token(r->pool, apr_table_get(r->headers_in, "Connection"),
                          "upgrade")) {
        return UR_H2C_WHY_SYNTAX;
    }
    if (!apr_table_get(r->headers_in, "HTTP2-Settings")
        || !ap_find_token(r->pool, apr_table_get(r->headers_in, "Connection"),
                          "http2-settings")) {
        return UR_H2C_WHY_SETTINGS;
    }
    if ((cl && strcmp(cl, "0"))
        || (!cl && apr_table_get(r->headers_in, "Transfer-Encoding"))) {
        return UR_H2C_WHY_BODY;
    }
    return UR_H2C_WHY_REFUSED;
}

/*
 * Would the core take an h2c offer on this connection, had the client
 * made one?  The same question ur_h2c_accepted asks, with a well-formed
 * offer in place of the client's headers: only then may a 426 advertise
 * "Upgrade: h2c" (a client that follows a false advertisement just gets
 * another 426).
 */
static int ur_h2c_possible(request_rec *r)
{
    conn_rec *c = r->connection;
    request_rec probe;
    apr_array_header_t *offer;
    const char *chosen;

    if (c->master || ap_ssl_conn_is_ssl(c) || r->proto_num >= UR_HTTP_2) {
        return 0;
    }
    probe = *r;
    probe.headers_in = apr_table_make(r->pool, 3);
    apr_table_setn(probe.headers_in, "Upgrade", "h2c");
    apr_table_setn(probe.headers_in, "Connection", "Upgrade, HTTP2-Settings");
    apr_table_setn(probe.headers_in, "HTTP2-Settings", "");
    offer = apr_array_make(r->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(offer, const char *) = "h2c";
    chosen = ap_select_protocol(c, &probe, NULL, offer);
    return chosen && strcmp(chosen, ap_get_protocol(c))
           && !strcmp(chosen, "h2c");
}

/* Fill the facts the scope's rules need, and nothing more. */
static void ur_gather_facts(request_rec *r, int families, int need_version,
                            ur_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->proto_num = r->proto_num;
    if (families & UR_FAM_TLS) {
        conn_rec *c = r->connection->master ? r->connection->master
                                            : r->connection;
        if (ap_ssl_conn_is_ssl(c)) {
            f->tls = UR_TLS_DIRECT;
            if (need_version) {
                f->tls_version = ur_tls_version(
                    ap_ssl_var_lookup(r->pool, r->server, c, r,
                                      "SSL_PROTOCOL"));
            }
        }
        else {
            ur_proxy_tls(r, f);
        }
    }
    if (families & (UR_FAM_UPGRADE | UR_NEED_H2C)) {
        const char *upgrade = apr_table_get(r->headers_in, "Upgrade");

        f->upgrade_read = 1;
        f->upgrade_hdr = upgrade;
        if (r->proto_num < UR_HTTP_1_1) {
            f->upgrade_ignored = upgrade != NULL;
        }
        else if (upgrade) {
            /* what only an offer makes relevant is read only for one
             * (ur_log_facts reads the rest itself) */
            f->upgrade = upgrade;
            f->conn_upgrade = ur_list_has(apr_table_get(r->headers_in,
                                                        "Connection"),
                                          "upgrade", 7);
            if (f->conn_upgrade) {
                f->ws_version = apr_table_get(r->headers_in,
                                              "Sec-WebSocket-Version");
                f->ws_key = apr_table_get(r->headers_in,
                                          "Sec-WebSocket-Key");
            }
        }
        /* HEAD shares M_GET; RFC 6455 §4.1 asks for a GET itself */
        f->is_get = r->method_number == M_GET && !r->header_only;
        if ((families & UR_NEED_H2C) && r->proto_num < UR_HTTP_2
            && ur_list_has(f->upgrade, "h2c", 3)) {
            f->h2c_accepted = f->conn_upgrade && ur_h2c_accepted(r);
            if (!f->h2c_accepted) {
                f->h2c_why = ur_h2c_why(r);
            }
        }
    }
}

/* ap_psignature, with the server name made inert: under
 * UseCanonicalName Off it is the client's Host. */
static const char *ur_signature(request_rec *r)
{
    core_dir_config *conf = ap_get_core_module_config(r->per_dir_config);
    const char *name;

    if (conf->server_signature == srv_sig_off
        || conf->server_signature == srv_sig_unset) {
        return "";
    }
    name = ur_escape_html(r->pool, ur_inert_host(r->pool,
                                                 ap_get_server_name(r)));
    if (conf->server_signature == srv_sig_withmail) {
        return apr_psprintf(r->pool, "<hr>\n<address>%s Server at <a "
                            "href=\"%s%s\">%s</a> Port %u</address>\n",
                            ap_get_server_banner(),
                            ap_is_url(r->server->server_admin)
                            ? "" : "mailto:",
                            ur_escape_html(r->pool, r->server->server_admin),
                            name, (unsigned)ap_get_server_port(r));
    }
    return apr_psprintf(r->pool, "<hr>\n<address>%s Server at %s Port "
                        "%u</address>\n", ap_get_server_banner(), name,
                        (unsigned)ap_get_server_port(r));
}

/*
 * The URLs the body and a redirect name.  The path is the one the client
 * asked for (the first request of an internal redirect chain, as sent).
 * https: the admin's UpgradeRequireTLSURL; over TLS the connection's own
 * port; behind a proxy that reported https, the default port; on
 * plaintext the port of the TLS virtual host serving the same name, found
 * at startup, else 443.  wss:// whenever TLS is also required or already
 * in use: a browser on an https page refuses ws:// as mixed content.
 */
static void ur_where_to(request_rec *r, const ur_state *st, ur_where *w)
{
    const ur_dir_conf *dconf = ap_get_module_config(r->per_dir_config,
                                                    &upgrade_required_module);
    const ur_srv_conf *sconf = ap_get_module_config(r->server->module_config,
                                                    &upgrade_required_module);
    request_rec *first = r;
    conn_rec *c = r->connection->master ? r->connection->master
                                        : r->connection;
    int port = 443, rport = ap_get_server_port(r);

    while (first->prev) {
        first = first->prev;
    }
    if (st->conn_tls && c->local_addr) {
        port = c->local_addr->port;
    }
    else if (!st->proxy_tls && sconf->tls_port) {
        port = sconf->tls_port;
    }
    ur_where_make(r->pool, r->hostname ? r->hostname
                                       : r->server->server_hostname,
                  UR_MORE(dconf)->tls_url, port,
                  st->conn_tls || st->proxy_tls || ur_set_needs_tls(st->conf),
                  ap_is_default_port(rport, r) ? 0 : rport,
                  first->parsed_uri.path ? first->parsed_uri.path
                                         : first->uri,
                  first->parsed_uri.query, w);
}

/* The client's Upgrade header, looked up once where the rules read it. */
static const char *ur_upgrade_hdr(request_rec *r, const ur_facts *f)
{
    return f->upgrade_read ? f->upgrade_hdr
                           : apr_table_get(r->headers_in, "Upgrade");
}

/* where httpd keeps the texts of a 426 (ap_index_of_response), found
 * once when the hooks are registered */
static int ur_426_index;

/*
 * Our negotiated body for this 426, registered as the request's custom
 * response.  The request data (host, path, header values) are made
 * inert and escaped here; the rest comes from the compiled rules.
 */
static void ur_set_body(request_rec *r, ur_state *st)
{
    core_request_config *rc;
    const char *body;
    ur_sent sent;
    ur_where w;

    st->own_body = 1;
    st->body = ur_negotiate(apr_table_get(r->headers_in, "Accept"));
    ur_where_to(r, st, &w);
    sent.upgrade = ur_upgrade_hdr(r, &st->f);
    sent.method = r->method;
    sent.protocol = r->protocol;
    body = ur_body(r->pool, st, &w, ur_phase_sentence(r->pool, st), &sent,
                   st->h2c_possible,
                   st->body == UR_BODY_HTML ? ur_signature(r) : "");
    /* what ap_custom_response would store, without copying the body to
     * put the quote in front of it (ur_buf_join put it there) */
    rc = ap_get_core_module_config(r->request_config);
    if (!rc->response_code_strings) {
        rc->response_code_strings =
            apr_pcalloc(r->pool, sizeof(*rc->response_code_strings)
                                 * RESPONSE_CODES);
    }
    rc->response_code_strings[ur_426_index] = (char *)body - 1;
}

static const char *const ur_body_ctype[] = {
    "text/html; charset=utf-8",
    "application/problem+json",
    "text/plain; charset=utf-8",
    "application/json"
};

/* apr_is_empty_table without the call, for a table httpd made */
#define ur_table_empty(t)   (apr_table_elts(t)->nelts == 0)

/* One line of name, whichever table held it before, last in into. */
static void ur_put(request_rec *r, apr_table_t *into, const char *name,
                   const char *value)
{
    apr_table_t *other = into == r->headers_out ? r->err_headers_out
                                                : r->headers_out;

    if (!ur_table_empty(other)) {
        apr_table_unset(other, name);
    }
    apr_table_unset(into, name);
    apr_table_addn(into, name, value);
}

/* Vary: Accept, unless Vary already lists it. */
static void ur_vary_accept(apr_table_t *into)
{
    if (!ur_list_has(apr_table_get(into, "Vary"), "Accept", 6)) {
        apr_table_mergen(into, "Vary", "Accept");
    }
}

/* A header of ours: only in this table, or (exclusive) the only one. */
static void ur_set_header(request_rec *r, apr_table_t *into,
                          const char *name, const char *value, int exclusive)
{
    if (exclusive) {
        ur_put(r, into, name, value);
    }
    else {
        apr_table_setn(into, name, value);
    }
}

/*
 * RFC 8594 Sunset, RFC 9745 Deprecation and their Link relations on a
 * response to a request that misses the requirements, before the sunset;
 * on err_headers_out, so that the application's error pages keep them.
 * A brownout says so in a header of its own.  exclusive: one line of
 * each, whatever an error page set (the filter's guarantee).
 */
static void ur_schedule_headers(request_rec *r, apr_table_t *into,
                                const ur_schedule *sc, ur_phase phase,
                                apr_int64_t now, int exclusive)
{
    int dep;

    if (!sc || phase == UR_PH_ENFORCED) {
        return;
    }
    dep = sc->deprecation && now >= sc->deprecation;
    ur_set_header(r, into, "Sunset", sc->sunset_http, exclusive);
    if (dep) {
        ur_set_header(r, into, "Deprecation", sc->deprecation_sf, exclusive);
    }
    if (dep ? sc->link_dep : sc->link) {
        ur_set_header(r, into, "Link", dep ? sc->link_dep : sc->link,
                      exclusive);
    }
    if (phase == UR_PH_BROWNOUT) {
        ur_set_header(r, into, "Upgrade-Required-Phase", "brownout",
                      exclusive);
    }
}

/*
 * Make the response carry exactly our Upgrade line, Connection: Upgrade
 * and Cache-Control: no-store.  Idempotent: for an ErrorDocument the
 * hook calls it on err_headers_out, and the filter calls it (for our own
 * body, only it) just before the headers are sent, whatever error pages,
 * CGIs or mod_headers did in between.  This part: over whatever the
 * tables hold (ur_assert_headers, below, takes a fresh table itself).
 */
static UR_NOINLINE void ur_assert_headers_over(request_rec *r,
                                               const ur_state *st,
                                               apr_table_t *into)
{
    /* where a body chosen at the decision has always put Vary: ahead
     * of the lines below */
    if (st->early_body) {
        ur_vary_accept(into);
    }
    /* RFC 9113 §8.2.2: connection-specific fields do not exist in h2,
     * mod_http2 strips them; do not fight it. */
    if (!st->http2) {
        ur_put(r, into, "Upgrade", st->upgrade);
        ur_put(r, into, "Connection", "Upgrade");
    }
    /* the answer depends on hop-by-hop input no Vary can express */
    ur_put(r, into, "Cache-Control", "no-store");
    if (st->conf->sched && st->phase != UR_PH_ENFORCED) {
        /* a brownout, or a client among the deprecation percentage */
        ur_schedule_headers(r, into, st->conf->sched, st->phase,
                            apr_time_sec(r->request_time), 1);
    }
    if (st->v.ws_version) {
        /* RFC 6455 §4.2.2: tell the client the version we speak */
        ur_put(r, into, "Sec-WebSocket-Version", "13");
    }
    if (st->own_body && !st->early_body) {
        ur_vary_accept(into);
    }
}

/* The guarantee: into a table nothing wrote to it only adds, else it
 * replaces (ur_assert_headers_over). */
static UR_INLINE void ur_assert_headers(request_rec *r, const ur_state *st,
                                        apr_table_t *into)
{
    /* Nothing to replace: our lines in order (where a body chosen at
     * the decision has always put Vary: first).  The usual case for
     * our own body, which starts from a table nothing wrote to. */
    if (st->early_body && !st->http2 && !st->conf->sched && !st->v.ws_version
        && ur_table_empty(into)
        && ur_table_empty(into == r->headers_out ? r->err_headers_out
                                                 : r->headers_out)) {
        apr_table_addn(into, "Vary", "Accept");
        apr_table_addn(into, "Upgrade", st->upgrade);
        apr_table_addn(into, "Connection", "Upgrade");
        apr_table_addn(into, "Cache-Control", "no-store");
        return;
    }
    ur_assert_headers_over(r, st, into);
}

/* A new refusal's state; top is the request the client sent, loglevel
 * ours for the request that logs the refusal. */
static ur_state *ur_new_state(request_rec *top, const ur_decision *d,
                              const ur_facts *f, int loglevel)
{
    ur_state *st = apr_palloc(top->pool, sizeof(*st));
    const ur_set *set = d->set;
    const ur_rule *rule = UR_RULE(set, d->v.first);

    st->conf = set;
    st->v = d->v;
    st->f = *f;
    memset(&st->own_body, 0,
           sizeof(*st) - APR_OFFSETOF(ur_state, own_body));
    st->phase = d->phase;
    st->until = d->until;
    st->loglevel = loglevel;
    st->http2 = top->proto_num >= UR_HTTP_2;
    st->conn_tls = ap_ssl_conn_is_ssl(top->connection->master
                                      ? top->connection->master
                                      : top->connection);
    if (f->tls == UR_TLS_PROXY) {
        st->proxy_tls = 1;
    }
    else if (!st->conn_tls && !(set->families & UR_FAM_TLS)) {
        /* not gathered for the rules, but the URLs we print need it
         * (ur_proxy_tls writes only the two TLS facts) */
        ur_facts pf;

        pf.tls = UR_TLS_NONE;
        ur_proxy_tls(top, &pf);
        st->proxy_tls = pf.tls == UR_TLS_PROXY;
    }
    /* asked once: the advertisement and the body both need it */
    st->h2c_possible = (set->families & UR_NEED_H2C) && ur_h2c_possible(top);
    st->upgrade = ur_advertise(top->pool, rule, st->h2c_possible);
    return st;
}

/* Our body unless an ErrorDocument 426 applies, and our headers. */
static void ur_prepare_response(request_rec *r, ur_state *st)
{
    const char *custom = ap_response_code_string(r, ur_426_index);

    if (!custom) {
        /* the headers are for the filter alone: the error response
         * starts from this table, which nothing else writes before */
        ur_set_body(r, st);
        st->early_body = 1;
        return;
    }
    if (ap_is_url(custom)) {
        /* the configuration itself was warned about at startup (UR00004) */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00003)
                      "ErrorDocument 426 for %s is a remote URL (%s): "
                      "httpd answers 302 instead of 426, and the client "
                      "never sees Upgrade; use a local path", r->uri, custom);
    }
    ur_assert_headers(r, st, r->err_headers_out);
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
 * Is r (or the request r is a subrequest of) the ErrorDocument request
 * that serves our own 426?  ap_die redirects with the error's status
 * and r->prev pointing at the refused request.  Serving the error page
 * must never fail with a second 426; any other internal redirect
 * (mod_rewrite, an ErrorDocument of another status) is evaluated.
 */
static int ur_serves_our_426(request_rec *r)
{
    while (r->main) {
        r = r->main;
    }
    return r->prev && r->status == HTTP_UPGRADE_REQUIRED
           && r->prev->status == HTTP_UPGRADE_REQUIRED
           && ur_find_state(r->prev);
}

/* Sticky per client: the deprecation percentage must not flip one client
 * between 200 and 426 from one request to the next.  FNV-1a of the
 * address the client is known by (mod_remoteip's, if any). */
static unsigned ur_client_key(request_rec *r)
{
    const char *s = r->useragent_ip ? r->useragent_ip : "";
    unsigned h = 2166136261U;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619U;
    }
    return h;
}

/* ------------------------------------------------------------------ */
/* Live counters: the request side                                     */
/* ------------------------------------------------------------------ */

/* A line's slot: its own, or its virtual host's .htaccess slot. */
static apr_uint32_t ur_slot_of(const request_rec *r, const ur_line *line)
{
    const ur_srv_conf *sconf;

    if (line->slot != UR_SLOT_HTACCESS) {
        return line->slot;
    }
    sconf = ap_get_module_config(r->server->module_config,
                                 &upgrade_required_module);
    return sconf->htslot;
}

/* One lock-free 64-bit add: no lock, no allocation, no system call, and
 * a busy server never wraps. */
static UR_INLINE void ur_add(apr_uint64_t *c)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
#else
    apr_atomic_inc64(c);
#endif
}

static void ur_count(const request_rec *r, const ur_line *line,
                     ur_cnt_kind kind, ur_reason why)
{
    apr_uint32_t slot = ur_slot_of(r, line);

    if (slot < ur_cnt_nslots) {
        ur_add(&ur_counts[(apr_size_t)slot * UR_CNT_PER_SLOT
                          + (apr_size_t)kind * UR_NREASONS + why]);
    }
}

/* A request that met everything: every line in force passed (kind and
 * reason 0; the htaccess lookup only for .htaccess lines). */
static void ur_count_passed(const request_rec *r, const ur_set *set)
{
    int i;

    for (i = 0; i < set->nrules; i++) {
        apr_uint32_t slot = set->lines[i].slot;

        if (slot == UR_SLOT_HTACCESS) {
            slot = ur_slot_of(r, &set->lines[i]);
        }
        if (slot < ur_cnt_nslots) {
            ur_add(&ur_counts[(apr_size_t)slot * UR_CNT_PER_SLOT]);
        }
    }
}

/* The exports, for LogFormat %{UPGRADE_REQUIRED}e / %{upgrade-required}n,
 * CustomLog env=, mod_headers, CGI scripts and applications (a banner
 * "your client stops working on ..."): the requirement and the phase. */
static UR_INLINE void ur_export_to(apr_table_t *t, const char *name,
                                   const char *phase_name,
                                   const char *value, const char *phase)
{
    /* into an empty table, adding is setting: nothing to replace */
    if (ur_table_empty(t)) {
        apr_table_addn(t, name, value);
        apr_table_addn(t, phase_name, phase);
    }
    else {
        apr_table_setn(t, name, value);
        apr_table_setn(t, phase_name, phase);
    }
}

static void ur_export(request_rec *r, const ur_rule *rule, ur_phase phase)
{
    ur_export_to(r->subprocess_env, UR_ENV_NAME, UR_ENV_NAME "_PHASE",
                 rule->text, ur_phase_name[phase]);
    ur_export_to(r->notes, UR_NOTE_NAME, UR_NOTE_NAME "-phase", rule->text,
                 ur_phase_name[phase]);
}

/* "URI /x on virtual host name:port" for the info lines (the error log
 * escapes control bytes itself). */
static const char *ur_log_where(request_rec *r)
{
    return apr_psprintf(r->pool, "URI %s on virtual host %s:%u", r->uri,
                        r->server->server_hostname,
                        (unsigned)r->server->port);
}

/* LogLevel upgrade_required:debug: the facts the decision was made on. */
static void ur_log_facts(request_rec *r, const ur_facts *f)
{
    static const char *const tls[] = { "none", "direct", "proxy" };
    /* where the upgrade facts were gathered, what the gathering skips
     * without an offer, read here as the client sent it */
    int skipped = f->upgrade_read && !(f->upgrade && f->conn_upgrade);
    int conn = skipped && !f->upgrade && f->proto_num >= UR_HTTP_1_1
               ? ur_list_has(apr_table_get(r->headers_in, "Connection"),
                             "upgrade", 7)
               : f->conn_upgrade;
    const char *wsv = skipped ? apr_table_get(r->headers_in,
                                              "Sec-WebSocket-Version")
                              : f->ws_version;
    const char *wsk = skipped ? apr_table_get(r->headers_in,
                                              "Sec-WebSocket-Key")
                              : f->ws_key;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "upgrade_required: facts for %s: protocol %d, TLS %s "
                  "(version %d), Upgrade '%.*s'%s, Connection upgrade %s, "
                  "GET %s, Sec-WebSocket-Version '%.*s', Sec-WebSocket-Key "
                  "%s, h2c accepted %s", r->uri, f->proto_num,
                  tls[f->tls], f->tls_version, UR_QUOTE_MAX,
                  f->upgrade ? f->upgrade : "-",
                  f->upgrade_ignored ? " (ignored: HTTP/1.0)" : "",
                  conn ? "yes" : "no", f->is_get ? "yes" : "no",
                  UR_QUOTE_MAX, wsv ? wsv : "-",
                  !wsk ? "missing" : ur_ws_key_ok(wsk)
                                           ? "well-formed" : "malformed",
                  f->h2c_accepted ? "yes" : "no");
}

/*
 * Does every enforced requirement the request fails have a TLS
 * alternative, on a plaintext request?  Then UpgradeRequireTLSRedirect
 * may answer with a redirect instead of a 426.
 */
static int ur_fails_only_tls(const ur_dir_conf *conf, const ur_facts *f,
                             apr_int64_t now, unsigned key)
{
    const ur_set *sets[2];
    ur_verdict v;
    apr_int64_t until;
    int i, k, refuse;

    if (f->tls != UR_TLS_NONE) {
        return 0;
    }
    sets[0] = &conf->own;
    sets[1] = &UR_MORE(conf)->extra;
    for (i = 0; i < 2; i++) {
        if (!sets[i]->nrules || ur_evaluate(sets[i], f, &v) == UR_OK
            || (ur_set_phase(sets[i], now, key, &refuse, &until), !refuse)) {
            continue;
        }
        for (k = 0; k < sets[i]->nrules; k++) {
            if ((v.unmet & ((apr_uint32_t)1 << k))
                && !(UR_RULE(sets[i], k)->families & UR_FAM_TLS)) {
                return 0;
            }
        }
    }
    return 1;
}

/*
 * The body of a refused request is never wanted.  httpd would read and
 * discard it before the 426 leaves its buffers (up to LimitRequestBody,
 * 1 GiB by default): a client that sends "Content-Length: 100000000"
 * and waits would see a 408 after mod_reqtimeout's 20 s instead.  A small
 * body is read and dropped now, so the connection stays reusable and an
 * ErrorDocument (a CGI) cannot get it; a large, chunked or
 * "Expect: 100-continue" body is never read (no 100 is sent), and the
 * connection closes after the 426.  Over HTTP/2 the connection stays:
 * mod_http2 ends the stream of a large body with RST_STREAM NO_ERROR
 * after the response (RFC 9113 §8.1), a small one is read first, since
 * some clients (curl 7.88) take that reset for an error.
 */
/* Read and drop a small body of an HTTP/2 stream: ap_discard_request_body
 * does nothing there (the stream's connection is never kept alive). */
static void ur_drain_body(request_rec *r)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_off_t total = 0;
    int eos = 0;

    while (!eos && total <= UR_BODY_KEEP_MAX) {
        apr_off_t len = 0;

        if (ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, HUGE_STRING_LEN) != APR_SUCCESS) {
            break;
        }
        eos = !APR_BRIGADE_EMPTY(bb)
              && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
        apr_brigade_length(bb, 1, &len);
        total += len;
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);
}

static void ur_settle_body(request_rec *r, const ur_state *st)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    apr_off_t len = 0;
    char *end;

    if ((!st->http2 && r->connection->keepalive == AP_CONN_CLOSE)
        || (!te && (!cl || (apr_strtoff(&len, cl, &end, 10) == APR_SUCCESS
                            && !*end && len == 0)))) {
        return;
    }
    if (!te && len > 0 && len <= UR_BODY_KEEP_MAX && !r->expecting_100) {
        if (st->http2) {
            ur_drain_body(r);
            return;
        }
        if (ap_discard_request_body(r) == OK) {
            return;
        }
    }
    if (!st->http2) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
}

/* The info line of a refusal (UR00001, UR00007, UR00008): out of line,
 * for the servers that log it. */
static UR_NOINLINE void ur_log_refusal(request_rec *r, const ur_state *st,
                                       const ur_line *line)
{
    const ur_rule *rule = line->rule;

    if (st->phase == UR_PH_BROWNOUT) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00008)
                      "426 Upgrade Required in a scheduled brownout (sunset "
                      "%s): unmet requirement '%s' (%s:%d): %s%s%s; %s",
                      st->conf->sched->sunset_http, rule->text,
                      line->d->filename, line->d->line_num,
                      ur_reason_text(st->v.reason),
                      st->via_sub ? ", in the subrequest for " : "",
                      st->via_sub ? st->sub_uri : "", ur_log_where(r));
    }
    else if (st->phase == UR_PH_DEPRECATED) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00007)
                      "deprecated, 426 Upgrade Required for %d%% of clients "
                      "(sunset %s): unmet requirement '%s' (%s:%d): %s%s%s; "
                      "%s", st->conf->sched->percent,
                      st->conf->sched->sunset_http, rule->text,
                      line->d->filename, line->d->line_num,
                      ur_reason_text(st->v.reason),
                      st->via_sub ? ", in the subrequest for " : "",
                      st->via_sub ? st->sub_uri : "", ur_log_where(r));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00001)
                      "426 Upgrade Required: unmet requirement '%s' (%s:%d): "
                      "%s%s%s%s; %s", rule->text, line->d->filename,
                      line->d->line_num, ur_reason_text(st->v.reason),
                      st->conf->sched ? ", the sunset has passed" : "",
                      st->via_sub ? ", in the subrequest for " : "",
                      st->via_sub ? st->sub_uri : "", ur_log_where(r));
    }
}

/*
 * Log and export a refusal once: at the decision for a main request, or
 * when a main request answers the 426 one of its subrequests got (the
 * client sees that one; the subrequest itself is only traced).
 */
static void ur_note_refusal_now(request_rec *r, ur_state *st)
{
    const ur_line *line = &st->conf->lines[st->v.first];

    st->noted = 1;
    ur_count(r, line, ur_count_kind(1, 0, st->phase), st->v.reason);
    /* for LogFormat %{UPGRADE_REQUIRED}e / %{upgrade-required}n,
     * CustomLog env=, mod_headers and CGI scripts */
    ur_export(r, line->rule, st->phase);
    if (st->loglevel >= APLOG_INFO) {
        ur_log_refusal(r, st, line);
    }
    /* A refused upgrade attempt may be followed by bytes of the next
     * protocol (a ClientHello, websocket frames): never parse them as
     * HTTP.  This also skips reading the request body. */
    if (!st->http2 && ur_upgrade_hdr(r, &st->f)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    ur_settle_body(r, st);
}

/* ... unless it was: the test before the call, for the hooks that ask
 * again */
static UR_INLINE void ur_note_refusal(request_rec *r, ur_state *st)
{
    if (!st->noted) {
        ur_note_refusal_now(r, st);
    }
}

/*
 * The one place where a request's fate is decided: the first set of
 * requirements it fails that refuses now (enforce mode, a brownout, the
 * sunset passed), else the first it fails that only reports (report mode,
 * before the sunset), else none.  now: the request's own time, so the
 * request and its ErrorDocument agree; key: the client address's hash.
 */
static void ur_decide(const ur_dir_conf *conf, const ur_facts *f,
                      apr_int64_t now, unsigned key, ur_decision *d)
{
    const ur_set *set = &conf->own;
    ur_verdict v;
    ur_phase phase;
    apr_int64_t until;
    int i, refuse;

    d->set = NULL;
    for (i = 0; i < 2; i++, set = &UR_MORE(conf)->extra) {
        if (!set->nrules || ur_evaluate(set, f, &v) == UR_OK) {
            continue;
        }
        phase = ur_set_phase(set, now, key, &refuse, &until);
        /* a refusal decides; else the first set that only serves */
        if (refuse || !d->set) {
            d->set = set;
            d->v = v;
            d->phase = phase;
            d->refuse = refuse;
            d->until = until;
        }
        if (refuse) {
            return;
        }
    }
}

/*
 * UpgradeRequireTLSRedirect on: a plaintext request that fails only TLS
 * requirements gets 308 Permanent Redirect to the https URL (RFC 9110
 * §15.4.9 keeps the method and body), with no Upgrade header at all:
 * browsers follow it, and scanners looking for "Upgrade: TLS" (the
 * CVE-2025-49812 checks) see none.
 */
static int ur_redirect(request_rec *r, ur_state *st)
{
    const ur_line *line = &st->conf->lines[st->v.first];
    const char *url;
    ur_where w;

    ur_where_to(r, st, &w);
    url = apr_pstrcat(r->pool, UR_W(&w, HTTPS).s, UR_W(&w, TARGET).s, NULL);
    ur_count(r, line, ur_count_kind(1, 1, st->phase), st->v.reason);
    ur_export(r, line->rule, st->phase);
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00005)
                  "308 Permanent Redirect to %s: unmet requirement '%s' "
                  "(%s:%d): %s; %s", url, line->rule->text,
                  line->d->filename, line->d->line_num,
                  ur_reason_text(st->v.reason), ur_log_where(r));
    /* an "Upgrade: TLS/1.0" offer may be followed by a ClientHello */
    if (!st->http2 && ur_upgrade_hdr(r, &st->f)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return HTTP_PERMANENT_REDIRECT;
}

/* The request's own time, only where a schedule reads it, and the
 * client's hash, only where a deprecation percentage needs it. */
static UR_INLINE void ur_when(request_rec *top, const ur_dir_conf *conf,
                              const ur_set *extra, apr_int64_t *now,
                              unsigned *key)
{
    if (conf->own.sched || extra->sched) {
        *now = apr_time_sec(top->request_time);
        if ((conf->own.sched && conf->own.sched->percent > 0)
            || (extra->sched && extra->sched->percent > 0)) {
            *key = ur_client_key(top);
        }
    }
}

/*
 * The decision (SPEC §3) for a request under lines; see ur_post_perdir.
 * Kept out of line: the no-rule path must not pay for its frame.
 */
static UR_NOINLINE int ur_check_request(request_rec *r,
                                        const ur_dir_conf *conf)
{
    const ur_set *extra = &UR_MORE(conf)->extra;
    const ur_line *line;
    const ur_rule *rule;
    request_rec *top;
    ur_facts f;
    ur_decision d;
    ur_state *st;
    apr_int64_t now;
    unsigned key;
    int loglevel, verbose;

    /* only an internal redirect, or a subrequest, can be one */
    if ((r->prev || r->main) && ur_serves_our_426(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "upgrade_required: error document of a 426, "
                      "not evaluated: %s", r->uri);
        return DECLINED;
    }

    /* A subrequest says "GET INCLUDED" with no protocol version of its
     * own: the facts are those of the request the client sent. */
    for (top = r; top->main; top = top->main)
        ;
    ur_gather_facts(top, conf->own.families | extra->families,
                    conf->own.need_tls_version | extra->need_tls_version, &f);
    /* trace1 is above debug: one level test for both, and for info */
    loglevel = ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
    verbose = loglevel >= APLOG_DEBUG;
    if (verbose) {
        ur_log_facts(r, &f);
    }
    now = 0;
    key = 0;
    if (conf->own.nrules == 1 && !extra->nrules
        && conf->own.lines->rule->ntokens == 1) {
        /* the common scope, one line of one protocol and nothing added
         * by .htaccess: its one token is the verdict (ur_evaluate and
         * ur_decide would come to the same) */
        ur_reason why = ur_check_token(conf->own.lines->rule->tokens, &f);

        d.set = NULL;
        if (why != UR_OK) {
            ur_when(top, conf, extra, &now, &key);
            d.set = &conf->own;
            d.v.first = 0;
            d.v.reason = why;
            d.v.unmet = 1;
            d.v.ws_version = why == UR_WS_VERSION;
            d.phase = ur_set_phase(d.set, now, key, &d.refuse, &d.until);
        }
    }
    else {
        ur_when(top, conf, extra, &now, &key);
        ur_decide(conf, &f, now, key, &d);
    }
    if (!d.set) {
        if (!r->main) {
            ur_count_passed(r, &conf->own);
            if (extra->nrules) {
                ur_count_passed(r, extra);
            }
        }
        if (verbose) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                          "upgrade_required: all %d requirement(s) met: %s",
                          conf->own.nrules + extra->nrules, r->uri);
        }
        return DECLINED;
    }
    /* an .htaccess line's strings, now that a log or a body needs them */
    ur_rule_strings(top->pool, d.set);
    line = &d.set->lines[d.v.first];
    rule = line->rule;

    if (r->main) {
        /* A subrequest: never served, included or redirected into, and
         * only traced; the main request answers for the client. */
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "upgrade_required: subrequest %s: unmet requirement "
                      "'%s' (%s:%d): %s (%s)", r->uri, rule->text,
                      line->d->filename, line->d->line_num,
                      ur_reason_text(d.v.reason),
                      ur_phase_name[d.phase]);
        if (!d.refuse) {
            return DECLINED;
        }
        if (!ap_get_module_config(top->request_config,
                                  &upgrade_required_module)) {
            /* if the main request ends in this 426 (mod_dir does so when
             * no other index is found), it carries our headers and body */
            /* the subrequest's merged configuration (and an .htaccess
             * file only it read) end with its pool: the main request
             * answers with a copy of its own */
            d.set = ur_set_keep(top->pool, d.set);
            /* the main request logs it, at its own LogLevel */
            st = ur_new_state(top, &d, &f,
                              ap_get_request_module_loglevel(
                                  top, APLOG_MODULE_INDEX));
            st->via_sub = 1;
            st->sub_uri = apr_pstrdup(top->pool, r->uri);
            ap_set_module_config(top->request_config,
                                 &upgrade_required_module, st);
        }
        return HTTP_UPGRADE_REQUIRED;
    }

    if (!d.refuse) {
        /* served: report mode, or a schedule before its sunset */
        ur_count(r, line, ur_count_kind(0, 0, d.phase), d.v.reason);
        ur_export(r, rule, d.phase);
        ur_schedule_headers(r, r->err_headers_out, d.set->sched, d.phase,
                            now, 0);
        if (d.phase == UR_PH_DEPRECATED) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00007)
                          "deprecated, served with Deprecation and Sunset "
                          "%s: unmet requirement '%s' (%s:%d): %s; %s",
                          d.set->sched->sunset_http, rule->text,
                          line->d->filename, line->d->line_num,
                          ur_reason_text(d.v.reason), ur_log_where(r));
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, URLOGNO(00002)
                          "report mode, would answer 426%s%s: unmet "
                          "requirement '%s' (%s:%d): %s; %s",
                          d.set->sched ? " from the sunset " : "",
                          d.set->sched ? d.set->sched->sunset_http : "",
                          rule->text, line->d->filename, line->d->line_num,
                          ur_reason_text(d.v.reason), ur_log_where(r));
        }
        return DECLINED;
    }

    /* what the body, the filter and the ErrorDocument request need */
    st = ur_new_state(r, &d, &f, loglevel);
    if (UR_MORE(conf)->redirect == UR_FLAG_ON && !st->conn_tls
        && ur_fails_only_tls(conf, &f, now, key)) {
        return ur_redirect(r, st);
    }
    ap_set_module_config(r->request_config, &upgrade_required_module, st);
    ur_note_refusal(r, st);
    ur_prepare_response(r, st);
    return HTTP_UPGRADE_REQUIRED;
}

/*
 * The decision (SPEC §3): after the per-directory merge and before
 * authentication.  Runs for every request, subrequests included (mod_dir's
 * index lookup, MultiViews, SSI #include virtual reach files through
 * them, and httpd's own Require covers them), so the no-rule path is two
 * integer tests and returns without allocating.
 */
static int ur_post_perdir(request_rec *r)
{
    const ur_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                   &upgrade_required_module);

    if (!conf->own.nrules && (!conf->more || !conf->more->extra.nrules)) {
        return DECLINED;
    }
    return ur_check_request(r, conf);
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

/* A fresh list for each reading of the configuration, when asked for. */
static int ur_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    ur_dumping = ap_exists_config_define(UR_DUMP_DEFINE);
    ur_pconf = pconf;
    apr_pool_create(&ur_cpool, pconf);
    apr_pool_tag(ur_cpool, "upgrade_required_config");
    apr_pool_cleanup_register(ur_cpool, NULL, ur_cpool_gone,
                              apr_pool_cleanup_null);
    ur_lines = apr_pcalloc(ur_cpool, sizeof(*ur_lines));
    ur_lines->pool = ur_cpool;
    ur_compiled = apr_hash_make(ur_cpool);
    ur_status_off = 0;
    return OK;
}

/*
 * httpd -t -D DUMP_UPGRADE_REQUIRED, after httpd's own -D DUMP_VHOSTS and
 * -D DUMP_MODULES: one JSON object per compiled rule on stdout, for
 * control panels that generate thousands of vhost snippets.
 */
static void ur_test_config(apr_pool_t *pconf, server_rec *s)
{
    static const int js = 0;
    apr_file_t *out;
    int i;

    if (!ur_dumping || apr_file_open_stdout(&out, pconf) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < (int)ur_lines->nelts; i++) {
        const ur_line *e = UR_LINE(i);
        const ur_rule *rule = e->rule;
        const ur_dir_conf *conf = e->d->data;
        server_rec *vs = e->s;

        apr_file_printf(out, "{\"vhost\":\"%s\",\"port\":%u,"
                        "\"vhost_defined\":%s,\"section\":\"%s\","
                        "\"file\":\"%s\",\"line\":%u,\"tokens\":%s,"
                        "\"mode\":\"%s\",\"sunset\":%s,\"lock\":%s,"
                        "\"upgrade\":\"%s\"}\n",
                        ur_json_escape(pconf, vs->server_hostname
                                              ? vs->server_hostname : "", js),
                        (unsigned)(vs->port ? vs->port
                                   : vs->addrs ? vs->addrs->host_port : 0),
                        vs->defn_name
                        ? apr_psprintf(pconf, "\"%s:%d\"",
                                       ur_json_escape(pconf, vs->defn_name,
                                                      js),
                                       vs->defn_line_number)
                        : "null",
                        ur_json_escape(pconf, ur_section(pconf, e->d), js),
                        ur_json_escape(pconf, e->d->filename, js),
                        (unsigned)e->d->line_num, rule->json,
                        conf->own.sched ? "schedule"
                        : conf->own.mode == UR_MODE_REPORT ? "report"
                                                           : "enforce",
                        conf->own.sched
                        ? apr_psprintf(pconf, "\"%s\"",
                                       conf->own.sched->sunset_http)
                        : "null",
                        UR_MORE(conf)->lock == UR_FLAG_ON ? "true" : "false",
                        ur_json_escape(pconf, rule->upgrade, js));
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

/* Collect the <VirtualHost> sections (file:line) that say SSLEngine on;
 * *main_tls is set when the main server itself does. */
static void ur_find_tls_vhosts(apr_pool_t *p, const ap_directive_t *d,
                               const ap_directive_t *vhost, apr_hash_t *tls,
                               int *main_tls)
{
    for (; d; d = d->next) {
        if (!apr_cstr_casecmp(d->directive, "<VirtualHost")) {
            ur_find_tls_vhosts(p, d->first_child, d, tls, main_tls);
        }
        else if (!apr_cstr_casecmp(d->directive, "SSLEngine") && d->args
                 && !apr_cstr_casecmp(d->args, "on")) {
            if (vhost) {
                apr_hash_set(tls, apr_psprintf(p, "%s:%d", vhost->filename,
                                               vhost->line_num),
                             APR_HASH_KEY_STRING, "");
            }
            else {
                *main_tls = 1;
            }
        }
        else if (d->first_child && d->directive[0] == '<'
                 && !apr_cstr_casecmpn(d->directive, "<If", 3)
                 && apr_cstr_casecmp(d->directive, "<If")) {
            /* <IfModule>, <IfDefine>, <IfDirective>, <IfVersion>... */
            ur_find_tls_vhosts(p, d->first_child, vhost, tls, main_tls);
        }
    }
}

/* One name of a TLS vhost: the first vhost defined for a name wins,
 * unless a later one listens on 443, the port browsers try. */
static void ur_add_tls_name(apr_pool_t *p, apr_hash_t *names,
                            const char *name, int port)
{
    if (name && (port == 443
                 || !apr_hash_get(names, name, APR_HASH_KEY_STRING))) {
        apr_hash_set(names, name, APR_HASH_KEY_STRING, apr_itoa(p, port));
    }
}

/*
 * The https:// URL a plaintext 426 names must have the right port: that
 * of the TLS virtual host serving the same ServerName or ServerAlias.
 * Found once here, through a hash of names, so 10,000 vhosts cost no
 * more than a pass over them.
 */
static void ur_map_tls_ports(apr_pool_t *p, server_rec *main_s)
{
    apr_hash_t *tls = apr_hash_make(p), *names = apr_hash_make(p);
    server_rec *s;
    int main_tls = 0, i;

    ur_find_tls_vhosts(p, ap_conftree, NULL, tls, &main_tls);
    for (s = main_s; s; s = s->next) {
        int port;

        if (s == main_s ? !main_tls
            : !s->defn_name
              || !apr_hash_get(tls, apr_psprintf(p, "%s:%d", s->defn_name,
                                                 s->defn_line_number),
                               APR_HASH_KEY_STRING)) {
            continue;
        }
        port = s->addrs && s->addrs->host_port ? s->addrs->host_port
                                               : s->port ? s->port : 443;
        ur_add_tls_name(p, names, s->server_hostname, port);
        for (i = 0; s->names && i < s->names->nelts; i++) {
            ur_add_tls_name(p, names, APR_ARRAY_IDX(s->names, i,
                                                    const char *), port);
        }
    }
    for (s = main_s; s; s = s->next) {
        ur_srv_conf *sconf = ap_get_module_config(s->module_config,
                                                  &upgrade_required_module);
        const char *port = s->server_hostname
                           ? apr_hash_get(names, s->server_hostname,
                                          APR_HASH_KEY_STRING) : NULL;

        for (i = 0; !port && s->names && i < s->names->nelts; i++) {
            port = apr_hash_get(names, APR_ARRAY_IDX(s->names, i,
                                                     const char *),
                                APR_HASH_KEY_STRING);
        }
        sconf->tls_port = port ? atoi(port) : 0;
    }
}

/*
 * httpd hands every virtual host without a directive of ours the main
 * server's configuration object itself.  What is worked out per virtual
 * host at startup (the port of its TLS twin, its .htaccess counter slot)
 * needs an object of its own: a copy, before either is written.
 */
static void ur_own_srv_confs(apr_pool_t *pconf, server_rec *main_s)
{
    const ur_srv_conf *main_conf = ap_get_module_config(
                                       main_s->module_config,
                                       &upgrade_required_module);
    server_rec *s;

    for (s = main_s->next; s; s = s->next) {
        const void *conf = ap_get_module_config(s->module_config,
                                                &upgrade_required_module);

        /* the merge replaced the unset object; were it still there, it
         * inherits all the same, and is never written */
        if (conf == main_conf || conf == &ur_srv_unset) {
            ap_set_module_config(s->module_config, &upgrade_required_module,
                                 apr_pmemdup(pconf, main_conf,
                                             sizeof(*main_conf)));
        }
    }
}

/* ------------------------------------------------------------------ */
/* Live counters: shared memory across children and restarts           */
/* ------------------------------------------------------------------ */

/*
 * The segment: a header, one key hash per slot (which line it counts, to
 * carry counts over a graceful restart), then the counters.  The object
 * that describes it lives in a subpool of the process pool, so it stays
 * from one configuration generation to the next; the anonymous mapping
 * itself stays valid in every child that inherited it, however long an
 * old generation's child takes to finish its requests.
 */
#define UR_CNT_USERDATA     "upgrade_required_counters"
#define UR_CNT_HEAD         64      /* header bytes: one cache line */

typedef struct {
    apr_uint64_t dirty;         /* a child may have counted since zeroed */
} ur_cnt_head;

typedef struct {
    apr_pool_t *pool;           /* the segment's own subpool */
    ur_cnt_head *head;          /* its header ... */
    apr_uint64_t *keys;         /* ... nslots key hashes ... */
    apr_uint64_t *counts;       /* ... and nslots * UR_CNT_PER_SLOT */
    apr_uint32_t nslots;
} ur_cnt_seg;

typedef struct {
    ur_cnt_seg *seg;            /* the segment in use, or NULL */
} ur_cnt_holder;

static ur_cnt_head *ur_cnt_head_now;    /* this generation's header */
static server_rec **ur_ht_servers;      /* the server of each .htaccess
                                         * slot, from the first one on */

/* "name:port" of a (virtual) server, as in the dump; "name" where the
 * port is not known (a main server whose ServerName has none) */
static const char *ur_vhost_name(apr_pool_t *p, const server_rec *s)
{
    unsigned port = s->port ? s->port
                    : s->addrs ? s->addrs->host_port : 0;
    const char *name = s->server_hostname ? s->server_hostname : "";

    return port ? apr_psprintf(p, "%s:%u", name, port) : name;
}

/* FNV-1a, 64 bits, over a string and its terminating NUL */
static apr_uint64_t ur_hash64(apr_uint64_t h, const char *s)
{
    do {
        h = (h ^ (unsigned char)*s) * APR_UINT64_C(1099511628211);
    } while (*s++);
    return h;
}

#define UR_HASH64_INIT      APR_UINT64_C(14695981039346656037)

/* ... over a number */
static apr_uint64_t ur_hash64_num(apr_uint64_t h, apr_uint64_t n)
{
    int i;

    for (i = 0; i < 8; i++, n >>= 8) {
        h = (h ^ (n & 0xff)) * APR_UINT64_C(1099511628211);
    }
    return h;
}

/* ... over a server's "name:port" */
static apr_uint64_t ur_hash64_vhost(apr_uint64_t h, const server_rec *s)
{
    return ur_hash64_num(ur_hash64(h, s->server_hostname
                                      ? s->server_hostname : ""),
                         s->port ? s->port
                         : s->addrs ? s->addrs->host_port : 0);
}

typedef struct {
    apr_uint64_t h;
    apr_uint32_t i;
} ur_hash_ix;

static int ur_hash_ix_cmp(const void *a, const void *b)
{
    const ur_hash_ix *x = a, *y = b;

    return x->h != y->h ? (x->h < y->h ? -1 : 1)
                        : (x->i < y->i ? -1 : x->i > y->i);
}

/*
 * ord[i]: how many of h[0..i-1] equal h[i].  Sorting, not a hash table:
 * 10,000 virtual hosts must not leave megabytes of hash entries in the
 * allocator of every process.  0 on an allocation failure (no ordinals).
 */
static int ur_ordinals(const apr_uint64_t *h, apr_uint32_t n,
                       apr_uint32_t *ord)
{
    ur_hash_ix *v = malloc((n ? n : 1) * sizeof(*v));
    apr_uint32_t i, run = 0;

    if (!v) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        v[i].h = h[i];
        v[i].i = i;
    }
    qsort(v, n, sizeof(*v), ur_hash_ix_cmp);
    for (i = 0; i < n; i++) {
        run = i && v[i].h == v[i - 1].h ? run + 1 : 0;
        ord[v[i].i] = run;
    }
    free(v);
    return 1;
}

static ur_cnt_seg *ur_cnt_create(apr_pool_t *parent, apr_uint32_t nslots,
                                 server_rec *s)
{
    apr_size_t keys = ((apr_size_t)nslots * 8 + 63) & ~(apr_size_t)63;
    apr_size_t size = UR_CNT_HEAD + keys
                      + (apr_size_t)nslots * UR_CNT_PER_SLOT * 8;
    apr_pool_t *pool;
    apr_shm_t *shm;
    ur_cnt_seg *seg;
    apr_status_t rv;
    char *base;

    apr_pool_create(&pool, parent);
    apr_pool_tag(pool, "upgrade_required_counters");
    /* anonymous: nothing to clean up in the file system, and the pages
     * stay unmapped (zero) until a counter on them moves */
    rv = apr_shm_create(&shm, size, NULL, pool);
    if (rv == APR_ENOTIMPL) {
        const char *file = ap_runtime_dir_relative(pool,
                                                   "upgrade_required.shm");
        apr_shm_remove(file, pool);
        rv = apr_shm_create(&shm, size, file, pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, URLOGNO(00009)
                     "cannot create %" APR_SIZE_T_FMT " bytes of shared "
                     "memory for the counters of %u lines: nothing is "
                     "counted (the requirements are enforced as usual)",
                     size, (unsigned)nslots);
        apr_pool_destroy(pool);
        return NULL;
    }
    base = apr_shm_baseaddr_get(shm);
    seg = apr_pcalloc(pool, sizeof(*seg));
    seg->pool = pool;
    seg->head = (ur_cnt_head *)base;
    seg->keys = (apr_uint64_t *)(base + UR_CNT_HEAD);
    seg->counts = (apr_uint64_t *)(base + UR_CNT_HEAD + keys);
    seg->nslots = nslots;
    return seg;
}

/*
 * A line's identity across generations: its virtual host, its file, the
 * sections around it and what it asks, not its line number, so that a
 * section added above it keeps its counts; the n+1th of one identity (a
 * file Included twice in a section) is told apart by n.  Its labels, for
 * the Prometheus series that must differ: virtual host, file:line and
 * what it asks.
 */
static void ur_line_hashes(const ur_line *e, apr_uint64_t *ident,
                           apr_uint64_t *label)
{
    const ur_rule *rule = e->rule;
    apr_uint64_t h = ur_hash64(ur_hash64_vhost(UR_HASH64_INIT, e->s),
                               e->d->filename);
    const ap_directive_t *d;

    *label = ur_hash64(ur_hash64_num(h, (unsigned)e->d->line_num),
                       rule->text);
    for (d = e->d->parent; d; d = d->parent) {
        if (ur_scoping_section(d)) {
            h = ur_hash64(ur_hash64(h, d->directive), d->args);
        }
    }
    *ident = ur_hash64(h, rule->text);
}

/* Where old counters are for a key: the sorted (key, slot) pairs of the
 * old segment. */
static const apr_uint64_t *ur_old_counts(const ur_cnt_seg *old,
                                         const ur_hash_ix *sorted,
                                         apr_uint64_t key)
{
    apr_uint32_t lo = 0, hi = old->nslots;

    while (lo < hi) {
        apr_uint32_t mid = lo + (hi - lo) / 2;

        if (sorted[mid].h < key) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo < old->nslots && sorted[lo].h == key
           ? &old->counts[(apr_size_t)sorted[lo].i * UR_CNT_PER_SLOT] : NULL;
}

/* A new segment: the keys, and the counts of the lines still there. */
static void ur_cnt_carry(ur_cnt_seg *seg, const ur_cnt_seg *old)
{
    ur_hash_ix *sorted = malloc((old->nslots ? old->nslots : 1)
                                * sizeof(*sorted));
    apr_uint32_t i;

    if (!sorted) {
        return;
    }
    for (i = 0; i < old->nslots; i++) {
        sorted[i].h = old->keys[i];
        sorted[i].i = i;
    }
    qsort(sorted, old->nslots, sizeof(*sorted), ur_hash_ix_cmp);
    for (i = 0; i < seg->nslots; i++) {
        const apr_uint64_t *from = ur_old_counts(old, sorted, seg->keys[i]);

        if (from) {
            memcpy(&seg->counts[(apr_size_t)i * UR_CNT_PER_SLOT], from,
                   UR_CNT_PER_SLOT * sizeof(*from));
        }
    }
    seg->head->dirty = old->head->dirty;
    free(sorted);
}

/*
 * At every (re)start, in the parent: one slot per line of the server
 * configuration, then one .htaccess slot per virtual host.  An unchanged
 * configuration (same slots, same keys) keeps its segment: after a
 * graceful restart old and new children count on, in the same place.  A
 * changed one gets a new segment, and the lines still there bring their
 * counts (what an old child counts after the copy is lost).  Zeroing on a
 * full restart is ur_pre_mpm's.  The scratch arrays are malloc'd and
 * freed: in ptemp they would stay in the allocator of every child.
 */
static void ur_counters_setup(server_rec *main_s)
{
    apr_pool_t *proc = main_s->process->pool;
    apr_uint32_t nlines = ur_lines->nelts, nslots, i;
    ur_cnt_holder *holder = NULL;
    ur_cnt_seg *old, *seg = NULL;
    apr_uint64_t *keys, *labels;
    apr_uint32_t *ord;
    server_rec *s;

    nslots = nlines;
    for (s = main_s; s; s = s->next) {
        nslots++;
    }
    keys = malloc((apr_size_t)nslots * 2 * sizeof(*keys));
    ord = malloc((apr_size_t)nslots * sizeof(*ord));
    if (!keys || !ord) {
        free(keys);
        free(ord);
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_ENOMEM, main_s,
                     URLOGNO(00009) "cannot index the counters of %u lines: "
                     "nothing is counted (the requirements are enforced "
                     "as usual)", (unsigned)nslots);
        ur_counts = NULL;
        ur_cnt_nslots = 0;
        ur_cnt_head_now = NULL;
        return;
    }
    labels = keys + nslots;
    for (i = 0; i < nlines; i++) {
        ur_line_hashes(UR_LINE(i), &keys[i], &labels[i]);
    }
    for (s = main_s; s; s = s->next, i++) {
        keys[i] = labels[i] = ur_hash64_vhost(ur_hash64(UR_HASH64_INIT,
                                                        ".htaccess"), s);
    }
    /* the n+1th line of one set of labels gets "#n+1" in its rule label */
    if (!ur_ordinals(labels, nslots, ord)) {
        memset(ord, 0, (apr_size_t)nslots * sizeof(*ord));
    }
    for (i = 0; i < nlines; i++) {
        UR_LINE(i)->dup = ord[i];
    }
    ur_ht_servers = apr_palloc(ur_cpool,
                               sizeof(*ur_ht_servers) * (nslots - nlines));
    for (s = main_s; s; s = s->next, i++) {
        ur_srv_conf *sconf = ap_get_module_config(s->module_config,
                                                  &upgrade_required_module);

        sconf->htslot = i;
        sconf->htdup = (int)ord[i];
        ur_ht_servers[i - nlines] = s;
    }
    if (!ur_ordinals(keys, nslots, ord)) {
        memset(ord, 0, (apr_size_t)nslots * sizeof(*ord));
    }
    for (i = 0; i < nslots; i++) {
        if (ord[i]) {
            keys[i] = ur_hash64_num(keys[i], ord[i]);
        }
    }

    apr_pool_userdata_get((void **)&holder, UR_CNT_USERDATA, proc);
    if (!holder) {
        holder = apr_pcalloc(proc, sizeof(*holder));
        apr_pool_userdata_set(holder, UR_CNT_USERDATA, NULL, proc);
    }
    old = holder->seg;
    if (old && old->nslots == nslots
        && !memcmp(old->keys, keys, (apr_size_t)nslots * sizeof(*keys))) {
        seg = old;
    }
    else if ((seg = ur_cnt_create(proc, nslots, main_s)) != NULL) {
        memcpy(seg->keys, keys, (apr_size_t)nslots * sizeof(*keys));
        if (old) {
            ur_cnt_carry(seg, old);
        }
    }
    free(keys);
    free(ord);
    if (seg != old) {
        holder->seg = seg;
        if (old) {
            /* unmapped here only: every old child keeps its mapping */
            apr_pool_destroy(old->pool);
        }
    }
    ur_counts = seg ? seg->counts : NULL;
    ur_cnt_nslots = seg ? nslots : 0;
    ur_cnt_head_now = seg ? seg->head : NULL;
}

/* Before the MPM starts children on a start or a full restart, never on
 * a graceful one: every counter back to zero, as mod_status's totals. */
static int ur_pre_mpm(apr_pool_t *p, ap_scoreboard_e sb_type)
{
    if (ur_cnt_head_now && ur_cnt_head_now->dirty) {
        memset(ur_counts, 0,
               (apr_size_t)ur_cnt_nslots * UR_CNT_PER_SLOT
               * sizeof(*ur_counts));
        ur_cnt_head_now->dirty = 0;
    }
    return OK;
}

/* a child may count from now on: the next full restart zeroes */
static void ur_child_init(apr_pool_t *p, server_rec *s)
{
    if (ur_cnt_head_now && !ur_cnt_head_now->dirty) {
        ur_cnt_head_now->dirty = 1;
    }
}

static apr_uint64_t ur_counter(apr_uint32_t slot, int kind, int why)
{
    const apr_uint64_t *c = &ur_counts[(apr_size_t)slot * UR_CNT_PER_SLOT
                                       + (apr_size_t)kind * UR_NREASONS
                                       + why];
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(c, __ATOMIC_RELAXED);
#else
    return apr_atomic_read64(c);
#endif
}

/* A slot's totals per outcome: passed, refused, redirected, served. */
static void ur_slot_totals(apr_uint32_t slot, apr_uint64_t tot[4])
{
    int k, why;

    tot[0] = tot[1] = tot[2] = tot[3] = 0;
    for (k = 0; k < UR_CNT_KINDS; k++) {
        int o = k == UR_CNT_PASSED ? 0
                : k <= UR_CNT_REFUSED_BROWNOUT ? 1
                : k <= UR_CNT_REDIRECTED_BROWNOUT ? 2 : 3;

        for (why = 0; why < UR_NREASONS; why++) {
            tot[o] += ur_counter(slot, k, why);
        }
    }
}

/* A slot's labels, unescaped: its virtual host, its rule, what it asks. */
static void ur_slot_labels(apr_pool_t *p, apr_uint32_t slot,
                           const char **vhost, const char **rule,
                           const char **requirement)
{
    apr_uint32_t nlines = ur_lines->nelts;
    server_rec *s;
    int dup;

    if (slot < nlines) {
        const ur_line *e = UR_LINE(slot);
        const ur_rule *r = e->rule;

        *vhost = ur_vhost_name(p, e->s);
        *requirement = r->text;
        dup = (int)e->dup;
        *rule = dup ? apr_psprintf(p, "%s:%d#%d", e->d->filename,
                                   e->d->line_num, dup + 1)
                    : apr_psprintf(p, "%s:%d", e->d->filename,
                                   e->d->line_num);
        return;
    }
    if (ur_ht_servers && slot - nlines < ur_cnt_nslots - nlines) {
        const ur_srv_conf *sconf;

        s = ur_ht_servers[slot - nlines];
        sconf = ap_get_module_config(s->module_config,
                                     &upgrade_required_module);
        *vhost = ur_vhost_name(p, s);
        *requirement = "";
        *rule = sconf->htdup ? apr_psprintf(p, ".htaccess#%d",
                                            sconf->htdup + 1)
                             : ".htaccess";
        return;
    }
    *vhost = *rule = *requirement = "";
}

/*
 * mod_status: a section on /server-status, "Key: integer" lines on
 * /server-status?auto (apache_exporter and friends split on ": ").  Only
 * slots with a count are listed; [n] is the slot, as in the table.
 */
static int ur_status_hook(request_rec *r, int flags)
{
    apr_uint32_t nlines = ur_lines->nelts, slot;
    apr_uint64_t sum[4] = { 0, 0, 0, 0 }, tot[4];
    static const char *const name[4] = {
        "Passed", "Refused", "Redirected", "Served"
    };
    int o;

    if (ur_status_off || !ur_cnt_nslots) {
        return OK;
    }
    for (slot = 0; slot < ur_cnt_nslots; slot++) {
        ur_slot_totals(slot, tot);
        for (o = 0; o < 4; o++) {
            sum[o] += tot[o];
        }
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "UpgradeRequiredRules: %u\n", (unsigned)ur_cnt_nslots);
        for (o = 0; o < 4; o++) {
            ap_rprintf(r, "UpgradeRequired%s: %" APR_UINT64_T_FMT "\n",
                       name[o], sum[o]);
        }
        for (slot = 0; slot < ur_cnt_nslots; slot++) {
            ur_slot_totals(slot, tot);
            if (!(tot[0] | tot[1] | tot[2] | tot[3])) {
                continue;
            }
            for (o = 0; o < 4; o++) {
                ap_rprintf(r, "UpgradeRequiredRule[%u]%s: %"
                           APR_UINT64_T_FMT "\n", (unsigned)slot, name[o],
                           tot[o]);
            }
        }
        return OK;
    }
    ap_rputs("<hr />\n<h2>UpgradeRequired</h2>\n", r);
    ap_rprintf(r, "<p>%u counted lines (%u in the configuration, one "
               ".htaccess slot per virtual host): %" APR_UINT64_T_FMT
               " passed, %" APR_UINT64_T_FMT " refused, %" APR_UINT64_T_FMT
               " redirected, %" APR_UINT64_T_FMT " served.</p>\n",
               (unsigned)ur_cnt_nslots, (unsigned)nlines, sum[0], sum[1],
               sum[2], sum[3]);
    if (flags & AP_STATUS_NOTABLE) {
        return OK;
    }
    ap_rputs("<table border=\"1\"><tr><th>Slot</th><th>Virtual host</th>"
             "<th>Line</th><th>Requirement</th><th>Passed</th>"
             "<th>Refused</th><th>Redirected</th><th>Served</th></tr>\n", r);
    for (slot = 0; slot < ur_cnt_nslots; slot++) {
        const char *vhost, *rule, *req;

        ur_slot_totals(slot, tot);
        if (slot >= nlines && !(tot[0] | tot[1] | tot[2] | tot[3])) {
            continue;
        }
        ur_slot_labels(r->pool, slot, &vhost, &rule, &req);
        ap_rprintf(r, "<tr><td>%u</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT "</td></tr>\n", (unsigned)slot,
                   ap_escape_html(r->pool, vhost),
                   ap_escape_html(r->pool, rule),
                   ap_escape_html(r->pool, req), tot[0], tot[1], tot[2],
                   tot[3]);
    }
    ap_rputs("</table>\n", r);
    return OK;
}

/*
 * SetHandler upgrade-required-metrics: the Prometheus text format 0.0.4,
 * for scrapers without mod_status.  A line's "passed" series is always
 * there (a rate starts at its first scrape); every other only once it
 * has counted, so 10,000 virtual hosts do not print a million zeros.
 */
static UR_NOINLINE int ur_metrics(request_rec *r)
{
    apr_uint32_t nlines, slot;
    int k, why;

    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!ur_cnt_nslots) {
        return HTTP_SERVICE_UNAVAILABLE;    /* UR00009 at startup says why */
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    nlines = ur_lines->nelts;
    ap_rputs("# HELP upgrade_required_requests_total Main requests decided "
             "under UpgradeRequire lines, by line, outcome, phase and "
             "reason.\n# TYPE upgrade_required_requests_total counter\n", r);
    for (slot = 0; slot < ur_cnt_nslots; slot++) {
        const char *labels = NULL;

        for (k = 0; k < UR_CNT_KINDS; k++) {
            for (why = 0; why < UR_NREASONS; why++) {
                apr_uint64_t n = ur_counter(slot, k, why);

                if (!n && !(k == UR_CNT_PASSED && why == UR_OK
                            && slot < nlines)) {
                    continue;
                }
                if (!labels) {
                    const char *vhost, *rule, *req;

                    ur_slot_labels(r->pool, slot, &vhost, &rule, &req);
                    labels = apr_pstrcat(r->pool, "vhost=\"",
                                         ur_prom_escape(r->pool, vhost),
                                         "\",rule=\"",
                                         ur_prom_escape(r->pool, rule),
                                         "\",requirement=\"",
                                         ur_prom_escape(r->pool, req),
                                         "\"", NULL);
                }
                ap_rprintf(r, "upgrade_required_requests_total{%s,"
                           "outcome=\"%s\",phase=\"%s\",reason=\"%s\"} %"
                           APR_UINT64_T_FMT "\n", labels, ur_cnt_outcome[k],
                           ur_cnt_phase[k], ur_reason_label[why], n);
            }
        }
    }
    ap_rprintf(r, "# HELP upgrade_required_rules Counted lines: "
               "UpgradeRequire lines of the server configuration, plus one "
               ".htaccess slot per virtual host.\n# TYPE "
               "upgrade_required_rules gauge\nupgrade_required_rules %u\n",
               (unsigned)ur_cnt_nslots);
    return OK;
}

/* every request of the server passes here: one byte first, no frame */
static int ur_metrics_handler(request_rec *r)
{
    if (!r->handler || r->handler[0] != 'u'
        || strcmp(r->handler, "upgrade-required-metrics")) {
        return DECLINED;
    }
    return ur_metrics(r);
}

/* a real (re)start: say it in the error log, once, not in the preflight */
static int ur_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    ur_own_srv_confs(pconf, s);
    ur_map_tls_ports(ptemp, s);
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, URLOGNO(00006)
                     "mod_upgrade_required " UR_VERSION " loaded");
        ur_check_errordocs(ptemp, s, ap_conftree);
        ur_counters_setup(s);
    }
    return OK;
}

/* ------------------------------------------------------------------ */
/* The header-guarantee filter                                         */
/* ------------------------------------------------------------------ */

/* registered once: added by handle, not looked up by name per 426 */
static ap_filter_rec_t *ur_filter;

static apr_status_t ur_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const ur_state *st = f->ctx;

    /* once per response: the headers go out with its first brigade (a
     * NULL context costs the later ones less than unlinking the filter) */
    if (!st) {
        return ap_pass_brigade(f->next, bb);
    }
    f->ctx = NULL;
    if (r->status != HTTP_UPGRADE_REQUIRED) {
        /* an error page (a CGI's "Status: 200", a proxied page whose
         * backend answers 404) never changes the status of the refusal */
        r->status = HTTP_UPGRADE_REQUIRED;
        r->status_line = NULL;
    }
    ur_assert_headers(r, st, r->headers_out);
    /* own_body: this filter sits on the request that carries our body
     * (an ErrorDocument request never does) */
    if (st->own_body) {
        ap_set_content_type(r, ur_body_ctype[st->body]);
    }
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
    /* the 426 of a subrequest that this request answers with */
    ur_note_refusal(r, st);
    if (!st->own_body) {
        custom = ap_response_code_string(r, ur_426_index);
        if (!custom || custom[0] == '/') {
            ur_set_body(r, st);
        }
    }
    ap_add_output_filter_handle(ur_filter, st, r, r->connection);
}

/* the ErrorDocument request that serves our 426 */
static void ur_insert_filter(request_rec *r)
{
    ur_state *st;

    if (!r->prev || r->main || r->status != HTTP_UPGRADE_REQUIRED) {
        return;
    }
    if ((st = ur_find_state(r->prev)) != NULL) {
        const ur_rule *rule = UR_RULE(st->conf, st->v.first);

        ur_note_refusal(r->prev, st);
        /* the error page never gets the refused request's body: it was
         * read and dropped, or it is left unread on a closing connection
         * (without one, nothing to hide and nothing to copy) */
        if (apr_table_get(r->headers_in, "Content-Length")
            || apr_table_get(r->headers_in, "Transfer-Encoding")) {
            r->headers_in = apr_table_copy(r->pool, r->headers_in);
            apr_table_unset(r->headers_in, "Content-Length");
            apr_table_unset(r->headers_in, "Transfer-Encoding");
        }
        /* the access log and the error page's CGI see this request */
        ur_export(r, rule, st->phase);
        ap_add_output_filter_handle(ur_filter, st, r, r->connection);
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
    AP_INIT_TAKE_ARGV("UpgradeRequireMode", ur_cmd_mode, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "'enforce' (answer 426) or 'report' (serve, log, "
                      "export)"),
    AP_INIT_TAKE_ARGV("UpgradeRequireSunset", ur_cmd_sunset, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "date [URL]: requests missing the requirements are "
                      "served with Sunset until then, refused from then on"),
    AP_INIT_TAKE_ARGV("UpgradeRequireDeprecation", ur_cmd_deprecation, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "date [URL]: from then on those responses also carry "
                      "Deprecation"),
    AP_INIT_TAKE_ARGV("UpgradeRequireBrownout", ur_cmd_brownout, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "a window before the sunset in which the requirements "
                      "are enforced: hourly :MM-:MM, daily HH:MM-HH:MM, "
                      "weekly Day HH:MM-HH:MM, or START/END"),
    AP_INIT_TAKE_ARGV("UpgradeRequireDeprecationPercent", ur_cmd_percent,
                      NULL, RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "0-100: the share of non-compliant clients refused "
                      "between deprecation and sunset, sticky per address"),
    /* not OR_AUTHCFG: httpd itself refuses it in .htaccess */
    AP_INIT_TAKE_ARGV("UpgradeRequireLock", ur_cmd_flag,
                      (void *)APR_OFFSETOF(ur_dir_more, lock),
                      RSRC_CONF | ACCESS_CONF,
                      "'on': .htaccess files can add requirements here, "
                      "never remove, replace or report on these"),
    AP_INIT_TAKE_ARGV("UpgradeRequireTLSRedirect", ur_cmd_flag,
                      (void *)APR_OFFSETOF(ur_dir_more, redirect),
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "'on': a plaintext request that fails only TLS "
                      "requirements gets 308 to the https:// URL"),
    AP_INIT_TAKE_ARGV("UpgradeRequireTLSURL", ur_cmd_tls_url, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                      "https://host[:port][/path]: where the TLS side of "
                      "these resources is (bodies and redirects)"),
    /* trust is a property of the server's network, not of a path */
    AP_INIT_TAKE_ARGV("UpgradeRequireTrustedProxy", ur_cmd_proxy, NULL,
                      RSRC_CONF,
                      "addresses or networks of TLS-terminating proxies "
                      "whose scheme header is believed"),
    AP_INIT_TAKE_ARGV("UpgradeRequireProxySchemeHeader",
                      ur_cmd_scheme_header, NULL, RSRC_CONF,
                      "the header trusted proxies write with the client's "
                      "scheme, and the value meaning TLS (default "
                      "X-Forwarded-Proto https)"),
    AP_INIT_TAKE_ARGV("UpgradeRequireServerStatus", ur_cmd_server_status,
                      NULL, RSRC_CONF,
                      "'off': no UpgradeRequired section and lines on "
                      "mod_status's server-status (default on)"),
    AP_INIT_TAKE_ARGV("UpgradeRequireProxyTLSVersionHeader",
                      ur_cmd_version_header, NULL, RSRC_CONF,
                      "the header trusted proxies write with the "
                      "negotiated TLS version (TLSv1.2), or 'none'"),
    { NULL }
};

static void ur_register_hooks(apr_pool_t *p)
{
    ur_426_index = ap_index_of_response(HTTP_UPGRADE_REQUIRED);
    /* decide after the per-dir merge (.htaccess, <If>) and before authn,
     * so no credentials are asked for over a refused protocol */
    ap_hook_post_perdir_config(ur_post_perdir, NULL, NULL, APR_HOOK_FIRST);
    /* configuration checks that need the whole tree: under -t on the
     * console, on a real start in the error log */
    ap_hook_check_config(ur_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* -D DUMP_UPGRADE_REQUIRED: record the rules, print them under -t */
    ap_hook_pre_config(ur_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(ur_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ur_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* our canned/string 426: guarantee the headers as they go out */
    ap_hook_insert_error_filter(ur_insert_error_filter, NULL, NULL,
                                APR_HOOK_LAST);
    /* the redirected ErrorDocument request of our 426: same guarantee */
    ap_hook_insert_filter(ur_insert_filter, NULL, NULL, APR_HOOK_LAST);
    /* after every content filter (mod_headers' error filter is at
     * CONTENT_SET), before the protocol filters that write headers */
    ur_filter = ap_register_output_filter(UR_FILTER_NAME, ur_out_filter,
                                          NULL, AP_FTYPE_PROTOCOL - 1);
    /* live counters: zeroed on a full (re)start, read by mod_status and
     * by the metrics handler */
    ap_hook_pre_mpm(ur_pre_mpm, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ur_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, ur_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_handler(ur_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
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
