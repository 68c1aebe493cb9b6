/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * libFuzzer target for everything in mod_upgrade_required's pure core that
 * reads client-controlled bytes or configuration text:
 *   - the header list scanner, Accept negotiation, the proxy scheme and TLS
 *     version parsers, the Sec-WebSocket-Key check, SSL_PROTOCOL;
 *   - the policy over facts taken from the input (protocol, TLS and its
 *     version, method, Upgrade, Connection, Sec-WebSocket-*, h2c);
 *   - the whole 426 body: URLs from a hostile Host, path and query, the
 *     advice, the reason quoting client headers, the advertisement, and
 *     the three body types, with oracles: every body is ASCII, the HTML
 *     has exactly the markup of a neutral request, the JSON parses;
 *   - the token and rule compilers over whole lines (.htaccess text), the
 *     UpgradeRequireTrustedProxy address parser, and the schedule's date
 *     and window parsers (a window that holds ends after now).
 * Build and run: make fuzz.
 */
#include "../mod_upgrade_required.c"

#include <stdint.h>
#include "apr_general.h"

static apr_pool_t *pool;       /* the compiled rules */
static apr_pool_t *scratch;    /* one input's allocations */
static ur_set sets[3];
static ur_rule rules[8];

static void setup(void)
{
    char *l1[] = { "websocket", "h2c" };
    char *l2[] = { "foo/2", "TLS/1.2" };
    char *l3[] = { "HTTP/1.1" };
    char *l4[] = { "TLS" };
    char *l5[] = { "HTTP/2", "websocket", "TLS/1.3" };
    char *l6[] = { "h2c" };

    apr_initialize();
    apr_pool_create(&pool, NULL);
    ur_compile_rule(pool, 2, l1, 0, &rules[0]);
    ur_compile_rule(pool, 2, l2, 0, &rules[1]);
    ur_compile_rule(pool, 1, l3, 0, &rules[2]);
    ur_compile_rule(pool, 1, l4, 0, &rules[3]);
    ur_compile_rule(pool, 3, l5, 0, &rules[4]);
    ur_compile_rule(pool, 1, l6, 0, &rules[5]);
    sets[0].rules = rules;
    sets[0].nrules = 3;
    sets[1].rules = rules + 3;
    sets[1].nrules = 2;
    sets[2].rules = rules + 5;
    sets[2].nrules = 1;
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < sets[i].nrules; k++) {
            sets[i].families |= sets[i].rules[k].families;
        }
    }
    apr_pool_create(&scratch, pool);
}

/* A JSON value, strictly (RFC 8259): returns the end, or NULL. */
static const char *json_value(const char *s, int depth);

static const char *json_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
        s++;
    }
    return s;
}

static const char *json_string(const char *s)
{
    if (*s++ != '"') {
        return NULL;
    }
    while (*s != '"') {
        if ((unsigned char)*s < 0x20) {
            return NULL;
        }
        if (*s == '\\') {
            s++;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (!apr_isxdigit(s[i])) {
                        return NULL;
                    }
                }
                s += 4;
            }
            else if (!*s || !strchr("\"\\/bfnrt", *s)) {
                return NULL;
            }
        }
        s++;
    }
    return s + 1;
}

static const char *json_value(const char *s, int depth)
{
    s = json_ws(s);
    if (depth > 8) {
        return NULL;
    }
    if (*s == '"') {
        return json_string(s);
    }
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = json_ws(s + 1);
        if (*s == close) {
            return s + 1;
        }
        for (;;) {
            if (close == '}') {
                if (!(s = json_string(json_ws(s)))) {
                    return NULL;
                }
                s = json_ws(s);
                if (*s++ != ':') {
                    return NULL;
                }
            }
            if (!(s = json_value(s, depth + 1))) {
                return NULL;
            }
            s = json_ws(s);
            if (*s == close) {
                return s + 1;
            }
            if (*s++ != ',') {
                return NULL;
            }
        }
    }
    if (apr_isdigit(*s)) {
        while (apr_isdigit(*s)) {
            s++;
        }
        return s;
    }
    return NULL;
}

static void count_markup(const char *s, int n[3])
{
    n[0] = n[1] = n[2] = 0;
    for (; *s; s++) {
        n[0] += *s == '<';
        n[1] += *s == '>';
        n[2] += *s == '"';
    }
}

static void check_ascii(const char *body)
{
    for (const char *q = body; *q; q++) {
        if (*q != '\n' && (*q < 0x20 || *q > 0x7e)) {
            __builtin_trap();
        }
    }
}

/* Split the input at NULs into up to n fields (missing ones: NULL). */
static int fields(char *s, size_t size, char **f, int n)
{
    int i = 0;
    char *end = s + size;

    while (i < n && s <= end) {
        f[i++] = s;
        s += strlen(s) + 1;
    }
    for (int k = i; k < n; k++) {
        f[k] = NULL;
    }
    return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *half, *fl[8], *argv[UR_MAX_TOKENS + 2], *w, *last;
    unsigned char flags = size ? data[0] : 0, flags2 = size > 1 ? data[1] : 0;
    ur_facts f;
    ur_verdict v;
    ur_token t;
    ur_rule rule;
    int argc = 0, i;

    if (!pool) {
        setup();
    }
    /* headers reach the module as NUL-terminated strings */
    s = apr_palloc(scratch, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    half = s + strlen(s) / 2;

    ur_list_has(s, "upgrade", 7);
    ur_list_has(s, "13", 2);
    ur_negotiate(s);
    ur_proxy_scheme_is(s, 1, "https");
    ur_proxy_scheme_is(s, 0, "https");
    ur_proxy_tls_version(s);
    ur_ws_key_ok(s);
    ur_tls_version(s);

    /* the facts of one request, from the first two bytes and the fields */
    {
        char *copy = apr_pmemdup(scratch, s, size + 1);
        fields(copy, size, fl, 8);
    }
    memset(&f, 0, sizeof(f));
    f.proto_num = (flags & 3) == 0 ? 1000 : (flags & 3) == 3 ? 2000 : 1001;
    f.tls = (flags >> 2) % 3;
    f.tls_version = f.tls ? 10 + ((flags >> 4) & 3) : 0;
    f.is_get = (flags >> 6) & 1;
    f.h2c_accepted = flags >> 7;
    if (f.proto_num >= UR_HTTP_1_1) {
        f.upgrade = fl[3];
        f.conn_upgrade = ur_list_has(fl[4], "upgrade", 7);
    }
    else {
        f.upgrade_ignored = fl[3] != NULL;
    }
    f.ws_version = fl[5];
    f.ws_key = fl[6];
    f.h2c_why = flags2 % 6;

    for (i = 0; i < 3; i++) {
        const ur_set *set = &sets[i];
        ur_state st;
        ur_where wh, neutral;
        ur_sent sent, nsent;
        const char *body, *nbody;
        int n1[3], n2[3], type;

        ur_evaluate(set, &f, &v);
        if (v.first >= set->nrules || (v.first < 0 && v.unmet)) {
            __builtin_trap();
        }
        if (v.first < 0) {
            continue;
        }
        memset(&st, 0, sizeof(st));
        st.conf = set;
        st.v = v;
        st.f = f;
        st.conn_tls = (flags2 >> 3) & 1;
        st.proxy_tls = (flags2 >> 4) & 1;
        st.upgrade = ur_advertise(scratch, &set->rules[v.first],
                                  (flags2 >> 5) & 1);
        ur_where_make(scratch, fl[0], (flags2 & 0x40) ? "https://cdn.example"
                                                      : NULL,
                      (flags2 & 0x80) ? 8443 : 443, (flags2 >> 2) & 1,
                      (flags2 & 1) ? 8080 : 0, fl[1], fl[2], &wh);
        ur_where_make(scratch, "h", (flags2 & 0x40) ? "https://cdn.example"
                                                    : NULL,
                      (flags2 & 0x80) ? 8443 : 443, (flags2 >> 2) & 1,
                      (flags2 & 1) ? 8080 : 0, "/p", fl[2] ? "q" : NULL,
                      &neutral);
        sent.upgrade = fl[3];
        sent.method = sent.protocol = fl[7] ? fl[7] : "";
        nsent.upgrade = fl[3] ? "x" : NULL;
        nsent.method = nsent.protocol = "P";
        for (type = 0; type < 4; type++) {
            st.body = (ur_body_type)type;
            body = ur_body(scratch, &st, &wh, "", &sent, (flags2 >> 5) & 1,
                           "<hr>\n");
            check_ascii(body);
            if (type == UR_BODY_HTML) {
                /* only our own markup: as much of it as for a neutral
                 * request of the same shape */
                nbody = ur_body(scratch, &st, &neutral, "", &nsent,
                                (flags2 >> 5) & 1, "<hr>\n");
                count_markup(body, n1);
                count_markup(nbody, n2);
                if (memcmp(n1, n2, sizeof(n1))) {
                    __builtin_trap();
                }
            }
            else if (type != UR_BODY_PLAIN) {
                const char *end = json_value(body, 0);
                if (!end || strcmp(json_ws(end), "")) {
                    __builtin_trap();
                }
            }
        }
    }

    /* configuration text: one token, a proxy address, a date, a window,
     * a whole line */
    ur_compile_token(scratch, s, &t);
    {
        apr_int64_t when, until;
        ur_window win;
        char *wv[3];
        int wc = 0;

        if (!ur_parse_date(s, &when) && when < 0) {
            __builtin_trap();
        }
        for (w = apr_strtok(apr_pstrdup(scratch, s), " ", &last);
             w && wc < 3; w = apr_strtok(NULL, " ", &last)) {
            wv[wc++] = w;
        }
        if (wc && !ur_parse_window(wc, wv, &win)) {
            apr_int64_t at = (apr_int64_t)flags * 7919 + flags2 * 104729;
            if (ur_in_window(&win, at, &until) && until <= at) {
                __builtin_trap();
            }
        }
    }
    {
        apr_ipsubnet_t *sub;
        ur_parse_subnet(scratch, s, &sub);
    }
    for (w = apr_strtok(apr_pstrdup(scratch, s), " \t", &last);
         w && argc < UR_MAX_TOKENS + 2; w = apr_strtok(NULL, " \t", &last)) {
        argv[argc++] = w;
    }
    if (argc) {
        memset(&rule, 0, sizeof(rule));
        if (!ur_compile_rule(scratch, argc, argv, 0, &rule)
            && (rule.ntokens > UR_MAX_TOKENS
                || strlen(rule.upgrade) > UR_UPGRADE_MAX)) {
            __builtin_trap();
        }
    }
    (void)half;
    apr_pool_clear(scratch);
    return 0;
}
