/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Table-driven tests of mod_upgrade_required's pure core: the header list
 * scanner, Accept negotiation, the token and rule compiler, the policy
 * (ur_evaluate) and the proxy-header parsers.  The module source is
 * included with UR_UNIT_TEST, which leaves out everything that needs
 * httpd, so this runs with APR alone.  Output is TAP.
 */
#include "../mod_upgrade_required.c"

#include <stdio.h>
#include "apr_general.h"

static int ntest, nfail;

static void ok(int cond, const char *what, const char *detail)
{
    ntest++;
    if (!cond) {
        nfail++;
    }
    printf("%sok %d - %s%s%s\n", cond ? "" : "not ", ntest, what,
           detail ? ": " : "", detail ? detail : "");
}

/* ---------------- the list scanner ---------------- */

static const struct {
    const char *list, *tok;
    int expect;
} list_cases[] = {
    { "Upgrade", "upgrade", 1 },
    { "keep-alive, Upgrade", "upgrade", 1 },
    { "keep-alive,Upgrade", "upgrade", 1 },
    { "\tkeep-alive\t,\tUPGRADE\t", "upgrade", 1 },
    { "upgrade-insecure-requests", "upgrade", 0 },
    { "xupgrade", "upgrade", 0 },
    { "", "upgrade", 0 },
    { ",,,", "upgrade", 0 },
    { " , ,\t,", "upgrade", 0 },
    { ",,,upgrade,,,", "upgrade", 1 },
    { "\"upgrade\"", "upgrade", 0 },
    { "\"a,upgrade\"", "upgrade", 0 },
    { "\"a,upgrade\", b", "upgrade", 0 },
    { "\"a\\\",upgrade\"", "upgrade", 0 },
    { "\"unterminated, upgrade", "upgrade", 0 },
    { "WebSocket", "websocket", 1 },
    { "websocket/13", "websocket", 0 },
    { "h2c, websocket", "websocket", 1 },
    { "w\xc3\xa9" "bsocket", "websocket", 0 },
    { "websocket\xff", "websocket", 0 },
    { "\xff\xfe,websocket", "websocket", 1 },
    { "up grade", "upgrade", 0 },
    { "13", "13", 1 },
    { " 13 ", "13", 1 },
    { "8, 13", "13", 1 },
    { "130", "13", 0 },
};

static void test_list(apr_pool_t *p)
{
    char *big;
    apr_size_t i, n;
    const char *cur, *item;
    apr_size_t len;

    for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
        int got = ur_list_has(list_cases[i].list, list_cases[i].tok,
                              strlen(list_cases[i].tok));
        ok(got == list_cases[i].expect, "list_has",
           apr_psprintf(p, "'%s' has '%s' = %d", list_cases[i].list,
                        list_cases[i].tok, got));
    }
    ok(ur_list_has(NULL, "upgrade", 7) == 0, "list_has", "NULL list");

    /* element counting: empty elements are not elements */
    cur = ",,a,,b,";
    for (n = 0; ur_list_next(&cur, &item, &len); n++)
        ;
    ok(n == 2, "list_next", "',,a,,b,' has two elements");
    cur = "";
    ok(!ur_list_next(&cur, &item, &len), "list_next", "empty string");

    /* 8 KB values: a long run of commas with the token at the end, a
     * single 8 KB element, an 8 KB quoted string */
    big = apr_palloc(p, 8200);
    memset(big, ',', 8192);
    strcpy(big + 8192, "upgrade");
    ok(ur_list_has(big, "upgrade", 7), "list_has",
       "8 KB of commas, token last");
    memset(big, 'a', 8192);
    big[8192] = '\0';
    ok(!ur_list_has(big, "upgrade", 7), "list_has", "one 8 KB element");
    big[0] = '"';
    ok(!ur_list_has(big, "upgrade", 7), "list_has", "8 KB unterminated quote");
    memset(big, '\t', 8192);
    ok(!ur_list_has(big, "upgrade", 7), "list_has", "8 KB of tabs");
}

/* ---------------- Accept negotiation ---------------- */

static const struct {
    const char *accept;
    ur_body_type expect;
} neg_cases[] = {
    { NULL, UR_BODY_HTML },
    { "", UR_BODY_HTML },
    { "*/*", UR_BODY_HTML },
    { "text/html", UR_BODY_HTML },
    { "application/json", UR_BODY_JSON },
    { "application/problem+json", UR_BODY_JSON },
    { "APPLICATION/JSON", UR_BODY_JSON },
    { "text/plain", UR_BODY_PLAIN },
    { "text/*", UR_BODY_HTML },
    { "application/*", UR_BODY_JSON },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      UR_BODY_HTML },
    { "application/json, text/html;q=0.5", UR_BODY_JSON },
    { "text/html;q=0.9, application/json", UR_BODY_JSON },
    { "application/json;q=0.5, text/html", UR_BODY_HTML },
    { "application/json;q=0, */*", UR_BODY_HTML },
    { "text/plain;q=1.0, text/html;q=0.1", UR_BODY_PLAIN },
    { "text/plain; q=0.3, application/json; q=0.3", UR_BODY_JSON },
    { "text/plain;q=0.5, */*;q=0.1", UR_BODY_PLAIN },
    { "image/png", UR_BODY_HTML },
    { "application/json;q=bogus, text/html;q=0.2", UR_BODY_HTML },
    { ",,,", UR_BODY_HTML },
    { ";;;q=1", UR_BODY_HTML },
    { "application/json;charset=\"a,b\";q=0.9", UR_BODY_JSON },
    { "text/plain;q=0.001", UR_BODY_PLAIN },
    /* named types beat wildcards on ties: axios, fetch() defaults */
    { "application/json, text/plain, */*", UR_BODY_JSON },
    { "text/plain, */*", UR_BODY_PLAIN },
    { "text/plain, text/*", UR_BODY_PLAIN },
    { "*/*, text/plain", UR_BODY_PLAIN },
    { "text/*, application/json", UR_BODY_JSON },
    /* a type with q=0 is never sent */
    { "application/problem+json;q=0, application/json", UR_BODY_JSON_APP },
    { "application/json, application/problem+json;q=0", UR_BODY_JSON_APP },
    { "application/json;q=0, application/problem+json", UR_BODY_JSON },
    { "text/html;q=0", UR_BODY_PLAIN },
    { "text/html;q=0, text/plain;q=0", UR_BODY_JSON },
    { "text/html;q=0, text/plain;q=0, application/*;q=0", UR_BODY_HTML },
    { "text/html;q=0, */*", UR_BODY_JSON },
    { "text/*;q=0, application/json;q=0.1", UR_BODY_JSON },
    { "*/*;q=0, text/plain;q=0.5", UR_BODY_PLAIN },
    /* the bare text/html in front that decides without the list */
    { "TEXT/Html,application/json", UR_BODY_HTML },
    { "text/html,text/html;q=0", UR_BODY_HTML },
    { "text/html;q=0,text/plain", UR_BODY_PLAIN },
    { "text/html ;q=0,text/plain", UR_BODY_PLAIN },
    { "text/htmlx,text/plain", UR_BODY_PLAIN },
    { "text.html,text/plain", UR_BODY_PLAIN },
    { "text\x0fhtml,text/plain", UR_BODY_PLAIN },
};

/* Whatever the fast path answers, the whole list says the same. */
static void test_negotiate_fast(apr_pool_t *p)
{
    static const char *const lists[] = {
        "text/html", "text/html,", "Text/HTML,*/*;q=0.1",
        "text/html,application/problem+json", "text/html,text/plain",
        "text/html,text/plain;q=1,application/json;q=1",
        "text/html,text/html;q=0.1,text/*;q=1"
    };
    apr_size_t i;
    int same = 1;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        same &= ur_negotiate(lists[i]) == ur_negotiate_ranges(lists[i])
                && ur_negotiate(lists[i]) == UR_BODY_HTML;
    }
    ok(same, "negotiate", apr_psprintf(p, "a bare text/html first: the "
                                       "whole list agrees (%d lists)",
                                       (int)i));
}

static void test_accept_tables(apr_pool_t *p)
{
    int i, same = 1;

    for (i = 0; i < 4; i++) {
        same &= strlen(ur_accept_exact[i]) == ur_accept_exact_len[i]
                && strlen(ur_accept_major[i]) == ur_accept_major_len[i]
                && !strncmp(ur_accept_exact[i], ur_accept_major[i],
                            ur_accept_major_len[i]);
    }
    ok(same, "negotiate", "the media type tables' lengths are their strlen");
}

static void test_negotiate(apr_pool_t *p)
{
    apr_size_t i;
    char *big;

    for (i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
        ur_body_type got = ur_negotiate(neg_cases[i].accept);
        ok(got == neg_cases[i].expect, "negotiate",
           apr_psprintf(p, "'%s' -> %d", neg_cases[i].accept
                        ? neg_cases[i].accept : "(none)", (int)got));
    }
    big = apr_palloc(p, 8300);
    memset(big, ',', 8192);
    strcpy(big + 8192, "text/plain");
    ok(ur_negotiate(big) == UR_BODY_PLAIN, "negotiate", "8 KB of commas");
    test_negotiate_fast(p);
}

/* ---------------- token and rule compiler ---------------- */

static const struct {
    const char *arg;
    int family;
    int tls_min, proto_min;
    const char *error;          /* expected error substring, or NULL */
} tok_cases[] = {
    { "websocket", UR_FAM_WEBSOCKET, 0, 0, NULL },
    { "WebSocket", UR_FAM_WEBSOCKET, 0, 0, NULL },
    { "TLS", UR_FAM_TLS, 0, 0, NULL },
    { "tls", UR_FAM_TLS, 0, 0, NULL },
    { "TLS/1.0", UR_FAM_TLS, 10, 0, NULL },
    { "TLS/1.3", UR_FAM_TLS, 13, 0, NULL },
    { "TLS/1.4", 0, 0, 0, "unknown TLS version 'TLS/1.4'" },
    { "TLS/2.0", 0, 0, 0, "unknown TLS version 'TLS/2.0'" },
    { "TLS/1", 0, 0, 0, "unknown TLS version" },
    { "HTTP/1.1", UR_FAM_HTTP, 0, UR_HTTP_1_1, NULL },
    { "HTTP/2", UR_FAM_HTTP, 0, UR_HTTP_2, NULL },
    { "http/2.0", UR_FAM_HTTP, 0, UR_HTTP_2, NULL },
    { "HTTP/3", 0, 0, 0, "cannot serve HTTP/3" },
    { "HTTP/1.0", 0, 0, 0, "unsupported HTTP version 'HTTP/1.0'" },
    { "HTTP", 0, 0, 0, "needs a version" },
    { "h2c", UR_FAM_H2C, 0, 0, NULL },
    { "H2C", UR_FAM_H2C, 0, 0, NULL },
    { "h2", 0, 0, 0, "TLS ALPN" },
    { "foo", UR_FAM_OTHER, 0, 0, NULL },
    { "foo/1.0", UR_FAM_OTHER, 0, 0, NULL },
    { "IRC/6.9", UR_FAM_OTHER, 0, 0, NULL },
    { "tcp", UR_FAM_OTHER, 0, 0, NULL },
    { "smtp/2", UR_FAM_OTHER, 0, 0, NULL },
    { "h2c-14", 0, 0, 0, "did you mean 'h2c'?" },
    /* near-misses of the known names are refused, with the right one */
    { "TSL", 0, 0, 0, "did you mean 'TLS'?" },
    { "TSL/1.2", 0, 0, 0, "did you mean 'TLS/1.2'?" },
    { "websockets", 0, 0, 0, "did you mean 'websocket'?" },
    { "web-socket", 0, 0, 0, "did you mean 'websocket'?" },
    { "Websokcet", 0, 0, 0, "did you mean 'websocket'?" },
    { "TLSv1.2", 0, 0, 0, "did you mean 'TLS/1.2'?" },
    { "TLSv1", 0, 0, 0, "did you mean 'TLS/1.0'?" },
    { "TLS1.2", 0, 0, 0, "did you mean 'TLS/1.2'?" },
    { "tlsv1_3", 0, 0, 0, "did you mean 'TLS/1.3'?" },
    { "TLS13", 0, 0, 0, "did you mean 'TLS/1.3'?" },
    { "TLSv2", 0, 0, 0, "did you mean 'TLS'?" },
    { "SSLv3", 0, 0, 0, "did you mean 'TLS'?" },
    { "websocket/13", 0, 0, 0, "Sec-WebSocket-Version: 13" },
    { "h2c/1", 0, 0, 0, "did you mean 'h2c'?" },
    { "http2", 0, 0, 0, "did you mean 'HTTP/2'?" },
    { "HTTP2", 0, 0, 0, "did you mean 'HTTP/2'?" },
    { "HTTP-1.1", 0, 0, 0, "did you mean 'HTTP/1.1'?" },
    { "htp", 0, 0, 0, "did you mean 'HTTP/1.1' or 'HTTP/2'?" },
    { "https", 0, 0, 0, "did you mean 'TLS'?" },
    { "ssl", 0, 0, 0, "did you mean 'TLS'?" },
    { "ws", 0, 0, 0, "did you mean 'websocket'?" },
    { "wss", 0, 0, 0, "on two lines" },
    { "h3", 0, 0, 0, "cannot serve HTTP/3" },
    { "", 0, 0, 0, "invalid protocol token" },
    { "/1.0", 0, 0, 0, "invalid protocol token" },
    { "foo/", 0, 0, 0, "invalid protocol token" },
    { "a/b/c", 0, 0, 0, "invalid protocol token" },
    { "we<b", 0, 0, 0, "invalid protocol token" },
    { "a,b", 0, 0, 0, "invalid protocol token" },
    { "\"quoted\"", 0, 0, 0, "invalid protocol token" },
    { "t\xc3\xa9st", 0, 0, 0, "invalid protocol token" },
    { "tab\tbed", 0, 0, 0, "invalid protocol token" },
};

/* The lines of a set, one per compiled rule, as .htaccess lines are
 * (no registry, no counters) */
static const ur_line *lines_of(apr_pool_t *p, const ur_rule *rules, int n)
{
    ur_line *lines = apr_pcalloc(p, sizeof(*lines) * (n ? n : 1));
    int i;

    for (i = 0; i < n; i++) {
        lines[i].rule = &rules[i];
        lines[i].slot = UR_SLOT_HTACCESS;
    }
    return lines;
}

static void test_compile(apr_pool_t *p)
{
    apr_size_t i;
    ur_token t;
    ur_rule rule;

    for (i = 0; i < sizeof(tok_cases) / sizeof(tok_cases[0]); i++) {
        const char *err = ur_compile_token(p, tok_cases[i].arg, &t);
        if (tok_cases[i].error) {
            ok(err && strstr(err, tok_cases[i].error) != NULL,
               "compile_token rejects",
               apr_psprintf(p, "'%s' -> %s", tok_cases[i].arg,
                            err ? err : "(accepted)"));
        }
        else {
            ok(!err && t.family == tok_cases[i].family
               && t.tls_min == tok_cases[i].tls_min
               && t.proto_min == tok_cases[i].proto_min,
               "compile_token accepts",
               apr_psprintf(p, "'%s' -> %s family %d", tok_cases[i].arg,
                            err ? err : "ok", t.family));
        }
    }

    {
        /* lengths: 255 bytes is a token, 256 is refused, quoted short */
        char *tok = apr_palloc(p, 300);
        const char *err;
        memset(tok, 'a', 299);
        tok[255] = '\0';
        ok(!ur_compile_token(p, tok, &t), "compile_token", "255 bytes");
        tok[255] = 'a';
        tok[256] = '\0';
        err = ur_compile_token(p, tok, &t);
        ok(err && strstr(err, "is 256 bytes long (allowed: at most 255)")
           && strlen(err) < 200, "compile_token", err ? err : "256 bytes");
        ok(!strcmp(ur_quote(p, "a\x01\xff\""), "a\\x01\\xff\""),
           "quote", "control and high bytes as \\xHH");
        memset(tok, 'q', 299);
        tok[299] = '\0';
        ok(strlen(ur_quote(p, tok)) == 67, "quote", "64 bytes and ...");
    }
    {
        char *a1[] = { "TLS" };
        char *a2[] = { "TLS/1.2", "websocket" };
        char *a3[] = { "WebSocket", "foo/2" };
        char *d1[] = { "websocket", "WEBSOCKET" };
        char *d2[] = { "HTTP/2", "HTTP/2.0" };
        char *d3[] = { "TLS", "TLS/1.3" };
        char *o1[] = { "websocket", "off" };
        const char *err;

        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 1, a1, 0, &rule);
        ok(!err && !strcmp(rule.upgrade, "TLS/1.0, HTTP/1.1"),
           "compile_rule", apr_psprintf(p, "TLS advertises '%s'",
                                        rule.upgrade));
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, a2, 0, &rule);
        ok(!err && !strcmp(rule.upgrade, "TLS/1.2, websocket, HTTP/1.1")
           && !strcmp(rule.text, "TLS/1.2 or websocket")
           && rule.families == (UR_FAM_TLS | UR_FAM_WEBSOCKET),
           "compile_rule", apr_psprintf(p, "alternatives '%s' / '%s'",
                                        rule.upgrade, rule.text));
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, a3, 0, &rule);
        ok(!err && !strcmp(rule.upgrade, "websocket, foo/2")
           && !strcmp(rule.json, "[\"websocket\", \"foo/2\"]"),
           "compile_rule", "websocket advertised in lower case, others as "
           "written");
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, d1, 0, &rule);
        ok(err && strstr(err, "duplicate protocol 'WEBSOCKET'"),
           "compile_rule", err ? err : "duplicate accepted");
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, d2, 0, &rule);
        ok(err && strstr(err, "duplicate protocol 'HTTP/2.0'"),
           "compile_rule", err ? err : "HTTP/2 alias accepted twice");
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, d3, 0, &rule);
        ok(err && strstr(err, "duplicate"), "compile_rule",
           err ? err : "TLS twice accepted");
        memset(&rule, 0, sizeof(rule));
        err = ur_compile_rule(p, 2, o1, 0, &rule);
        ok(err && strstr(err, "'off' cannot be combined"), "compile_rule",
           err ? err : "off mixed accepted");
        {
            /* an .htaccess line: the same strings, built on demand */
            ur_rule eager, lazy;
            ur_set set;

            memset(&eager, 0, sizeof(eager));
            memset(&lazy, 0, sizeof(lazy));
            ur_compile_rule(p, 2, a2, 0, &eager);
            err = ur_compile_rule(p, 2, a2, 1, &lazy);
            ok(!err && !lazy.text && !lazy.upgrade && !lazy.json
               && lazy.families == eager.families, "compile_rule",
               "lazy: tokens only");
            memset(&set, 0, sizeof(set));
            set.lines = lines_of(p, &lazy, 1);
            set.nrules = 1;
            ur_rule_strings(p, &set);
            ok(lazy.text && !strcmp(lazy.text, eager.text)
               && !strcmp(lazy.upgrade, eager.upgrade)
               && !strcmp(lazy.json, eager.json), "compile_rule",
               "lazy: the eager strings, once asked for");
            ok(ur_upgrade_len(eager.tokens, eager.ntokens)
               == strlen(eager.upgrade), "compile_rule",
               "the Upgrade length is computed without the string");
        }
    }
}

/* ---------------- the policy ---------------- */

/* a compact way to write facts: protocol, tls, tls version, Upgrade,
 * Connection, method GET?, Sec-WebSocket-Version, h2c accepted */
static const struct {
    const char *rules;          /* lines separated by '|' */
    int proto, tls, tlsv;
    const char *upgrade, *connection;
    int get;
    const char *wsver;
    int h2c_ok;
    ur_reason expect;
    int first;
    apr_uint32_t unmet;
    int ws_version;
} pol_cases[] = {
    /* websocket */
    { "websocket", 1001, 0, 0, "websocket", "Upgrade", 1, "13", 0,
      UR_OK, -1, 0, 0 },
    { "websocket", 1001, 0, 0, "WebSocket", "keep-alive, Upgrade", 1, "13",
      0, UR_OK, -1, 0, 0 },
    { "websocket", 1001, 0, 0, NULL, NULL, 1, NULL, 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket", NULL, 1, "13", 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket", "close", 1, "13", 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1000, 0, 0, "websocket", "Upgrade", 1, "13", 0,
      UR_HTTP10_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket", "Upgrade", 0, "13", 0,
      UR_WS_METHOD, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket", "Upgrade", 1, "8", 0,
      UR_WS_VERSION, 0, 1, 1 },
    { "websocket", 1001, 0, 0, "websocket", "Upgrade", 1, NULL, 0,
      UR_WS_VERSION, 0, 1, 1 },
    /* RFC 8441, as mod_http2 presents it */
    { "websocket", 2000, 1, 13, "websocket", "Upgrade", 1, "13", 0,
      UR_OK, -1, 0, 0 },
    /* TLS */
    { "TLS", 1001, 0, 0, NULL, NULL, 1, NULL, 0, UR_NO_TLS, 0, 1, 0 },
    { "TLS", 1001, 1, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "TLS", 1001, 2, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "TLS/1.3", 1001, 1, 12, NULL, NULL, 1, NULL, 0, UR_TLS_OLD, 0, 1, 0 },
    { "TLS/1.3", 1001, 1, 13, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "TLS/1.2", 2000, 1, 13, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "TLS/1.2", 1001, 2, 0, NULL, NULL, 1, NULL, 0,
      UR_TLS_UNPROVEN, 0, 1, 0 },
    { "TLS/1.0", 1001, 1, 0, NULL, NULL, 1, NULL, 0, UR_TLS_OLD, 0, 1, 0 },
    /* HTTP versions */
    { "HTTP/1.1", 1000, 0, 0, NULL, NULL, 1, NULL, 0, UR_PROTO_OLD, 0, 1, 0 },
    { "HTTP/1.1", 1001, 0, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "HTTP/1.1", 2000, 0, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "HTTP/2", 1001, 0, 0, NULL, NULL, 1, NULL, 0, UR_PROTO_OLD, 0, 1, 0 },
    { "HTTP/2", 2000, 0, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    /* h2c */
    { "h2c", 2000, 0, 0, NULL, NULL, 1, NULL, 0, UR_OK, -1, 0, 0 },
    { "h2c", 1001, 0, 0, "h2c", "Upgrade, HTTP2-Settings", 1, NULL, 1,
      UR_OK, -1, 0, 0 },
    { "h2c", 1001, 0, 0, "h2c", "Upgrade, HTTP2-Settings", 1, NULL, 0,
      UR_H2C_REFUSED, 0, 1, 0 },
    { "h2c", 1001, 0, 0, NULL, NULL, 1, NULL, 0, UR_NO_UPGRADE, 0, 1, 0 },
    { "h2c", 1000, 0, 0, NULL, NULL, 1, NULL, 0, UR_NO_UPGRADE, 0, 1, 0 },
    /* generic tokens: exact match */
    { "foo/2", 1001, 0, 0, "foo/2", "upgrade", 0, NULL, 0, UR_OK, -1, 0, 0 },
    { "foo/2", 1001, 0, 0, "foo/3", "upgrade", 0, NULL, 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "foo", 1001, 0, 0, "FOO", "upgrade", 0, NULL, 0, UR_OK, -1, 0, 0 },
    /* the whole value, as mod_proxy compares it: a list never matches */
    { "foo", 1001, 0, 0, "bar, foo", "upgrade", 0, NULL, 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "foo, websocket", "Upgrade", 1, "13", 0,
      UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket, websocket", "Upgrade", 1, "13",
      0, UR_NO_UPGRADE, 0, 1, 0 },
    { "websocket", 1001, 0, 0, "websocket", "Upgrade", 1, "13, 8", 0,
      UR_WS_VERSION, 0, 1, 1 },
    { "foo", 1000, 0, 0, "foo", "upgrade", 0, NULL, 0,
      UR_HTTP10_UPGRADE, 0, 1, 0 },
    /* alternatives and several lines */
    { "TLS websocket", 1001, 0, 0, NULL, NULL, 1, NULL, 0,
      UR_NO_TLS, 0, 1, 0 },
    { "TLS websocket", 1001, 0, 0, "websocket", "upgrade", 1, "13", 0,
      UR_OK, -1, 0, 0 },
    { "TLS/1.2|websocket", 1001, 1, 13, NULL, NULL, 1, NULL, 0,
      UR_NO_UPGRADE, 1, 2, 0 },
    { "TLS/1.2|websocket", 1001, 0, 0, NULL, NULL, 1, NULL, 0,
      UR_NO_TLS, 0, 3, 0 },
    { "TLS/1.2|websocket", 1001, 1, 12, "websocket", "upgrade", 1, "13", 0,
      UR_OK, -1, 0, 0 },
    { "HTTP/1.1|TLS|foo", 1000, 1, 13, NULL, NULL, 1, NULL, 0,
      UR_PROTO_OLD, 0, 5, 0 },
    /* a websocket alternative failing on version only */
    { "h2c websocket", 1001, 0, 0, "websocket", "upgrade", 1, "7", 0,
      UR_NO_UPGRADE, 0, 1, 1 },
};

static void test_policy(apr_pool_t *p)
{
    apr_size_t i;

    for (i = 0; i < sizeof(pol_cases) / sizeof(pol_cases[0]); i++) {
        ur_rule rules[8];
        ur_set conf;
        ur_facts f;
        ur_verdict v;
        char *lines = apr_pstrdup(p, pol_cases[i].rules), *line, *last;
        ur_reason got;

        memset(&conf, 0, sizeof(conf));
        memset(rules, 0, sizeof(rules));
        for (line = apr_strtok(lines, "|", &last); line;
             line = apr_strtok(NULL, "|", &last)) {
            char *argv[8], *w, *wl;
            int argc = 0;
            const char *err;
            for (w = apr_strtok(line, " ", &wl); w;
                 w = apr_strtok(NULL, " ", &wl)) {
                argv[argc++] = w;
            }
            err = ur_compile_rule(p, argc, argv, 0, &rules[conf.nrules]);
            if (err) {
                ok(0, "policy setup", err);
                return;
            }
            conf.families |= rules[conf.nrules].families;
            conf.nrules++;
        }
        conf.lines = lines_of(p, rules, conf.nrules);

        memset(&f, 0, sizeof(f));
        f.proto_num = pol_cases[i].proto;
        f.tls = pol_cases[i].tls;
        f.tls_version = pol_cases[i].tlsv;
        if (f.proto_num >= UR_HTTP_1_1) {
            f.upgrade = pol_cases[i].upgrade;
            f.conn_upgrade = ur_list_has(pol_cases[i].connection,
                                         "upgrade", 7);
        }
        else {
            f.upgrade_ignored = pol_cases[i].upgrade != NULL;
        }
        f.is_get = pol_cases[i].get;
        f.ws_version = pol_cases[i].wsver;
        f.ws_key = "dGhlIHNhbXBsZSBub25jZQ==";
        f.h2c_accepted = pol_cases[i].h2c_ok;

        got = ur_evaluate(&conf, &f, &v);
        ok(got == pol_cases[i].expect && v.first == pol_cases[i].first
           && v.unmet == pol_cases[i].unmet
           && v.ws_version == pol_cases[i].ws_version, "evaluate",
           apr_psprintf(p, "[%s] proto %d tls %d/%d upgrade '%s' conn '%s' "
                        "-> reason %d first %d unmet %x wsver %d",
                        pol_cases[i].rules, f.proto_num, f.tls,
                        f.tls_version, pol_cases[i].upgrade
                        ? pol_cases[i].upgrade : "-",
                        pol_cases[i].connection
                        ? pol_cases[i].connection : "-", (int)got,
                        v.first, (unsigned)v.unmet, v.ws_version));
    }
}

/* ---------------- WebSocket keys (RFC 6455 4.1) ---------------- */

static const struct {
    const char *key;
    int expect;
} key_cases[] = {
    { "dGhlIHNhbXBsZSBub25jZQ==", 1 },
    { "AAAAAAAAAAAAAAAAAAAAAA==", 1 },
    { "+/+/+/+/+/+/+/+/+/+/+w==", 1 },
    { NULL, 0 },
    { "", 0 },
    { "dGhlIHNhbXBsZSBub25jZQ=", 0 },            /* 23 characters */
    { "dGhlIHNhbXBsZSBub25jZQ===", 0 },          /* 25 */
    { "dGhlIHNhbXBsZSBub25jZ===", 0 },           /* 15 bytes */
    { "dGhlIHNhbXBsZSBub25jZQAB", 0 },           /* 18 bytes */
    { "dGhlIHNhbXBsZSBub2*jZQ==", 0 },           /* not base64 */
    { "dGhlIHNhbXBsZSBub25jZQ==, AAAAAAAAAAAAAAAAAAAAAA==", 0 },
};

static void test_ws_key(apr_pool_t *p)
{
    apr_size_t i;

    for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
        ok(ur_ws_key_ok(key_cases[i].key) == key_cases[i].expect,
           "ws_key_ok", apr_psprintf(p, "'%s' -> %d", key_cases[i].key
                                     ? key_cases[i].key : "(none)",
                                     key_cases[i].expect));
    }
}

/* ---------------- proxy headers, TLS version strings ---------------- */

static const struct {
    const char *value;
    int forwarded;
    const char *want;
    int expect;
} fwd_cases[] = {
    { "proto=https", 1, "https", 1 },
    { "for=192.0.2.60;proto=https;by=203.0.113.43", 1, "https", 1 },
    { "for=192.0.2.60;proto=\"https\"", 1, "https", 1 },
    { "PROTO=HTTPS", 1, "https", 1 },
    { "proto=http", 1, "https", 0 },
    { "proto=https, for=10.0.0.1;proto=http", 1, "https", 0 },
    { "for=10.0.0.1;proto=http, proto=https", 1, "https", 1 },
    { "for=\"[2001:db8::1];proto=https\";proto=http", 1, "https", 0 },
    { "for=\"a;b\", proto=https", 1, "https", 1 },
    { "proto=httpsx", 1, "https", 0 },
    { "", 1, "https", 0 },
    { ",,,", 1, "https", 0 },
    { "proto=", 1, "https", 0 },
    { "proto=\"", 1, "https", 0 },
    { NULL, 1, "https", 0 },
    { "https", 0, "https", 1 },
    { "http, https", 0, "https", 1 },
    { "https, http", 0, "https", 0 },
    { "HTTPS", 0, "https", 1 },
    { "proto=https", 0, "https", 0 },
    { "", 0, "https", 0 },
    { NULL, 0, "https", 0 },
    { "on", 0, "on", 1 },
    { "off", 0, "on", 0 },
};

static const struct {
    const char *value;
    int expect;
} pver_cases[] = {
    { "TLSv1.3", 13 }, { "TLSv1.2", 12 }, { "TLSv1.1", 11 }, { "TLSv1", 10 },
    { "TLSv1.2, TLSv1.3", 13 }, { "TLSv1.3, TLSv1", 10 },
    { "SSLv3", 0 }, { "garbage", 0 }, { "TLSv1.2x", 0 }, { "", 0 },
    { NULL, 0 }, { "TLSv1.2222222222", 0 }, { "tlsv1.2", 0 },
};

static void test_proxy(apr_pool_t *p)
{
    apr_size_t i;

    for (i = 0; i < sizeof(fwd_cases) / sizeof(fwd_cases[0]); i++) {
        int got = ur_proxy_scheme_is(fwd_cases[i].value,
                                     fwd_cases[i].forwarded,
                                     fwd_cases[i].want);
        ok(got == fwd_cases[i].expect, "proxy_scheme_is",
           apr_psprintf(p, "%s '%s' want %s -> %d",
                        fwd_cases[i].forwarded ? "Forwarded" : "header",
                        fwd_cases[i].value ? fwd_cases[i].value : "-",
                        fwd_cases[i].want, got));
    }
    for (i = 0; i < sizeof(pver_cases) / sizeof(pver_cases[0]); i++) {
        int got = ur_proxy_tls_version(pver_cases[i].value);
        ok(got == pver_cases[i].expect, "proxy_tls_version",
           apr_psprintf(p, "'%s' -> %d", pver_cases[i].value
                        ? pver_cases[i].value : "-", got));
    }
    ok(ur_tls_version("TLSv1.3") == 13, "tls_version", "TLSv1.3");
    ok(ur_tls_version("TLSv1.2") == 12, "tls_version", "TLSv1.2");
    ok(ur_tls_version("TLSv1") == 10, "tls_version", "TLSv1");
    ok(ur_tls_version("SSLv3") == 0, "tls_version", "SSLv3");
    ok(ur_tls_version(NULL) == 0, "tls_version", "NULL");
    ok(ur_tls_version("TLSv1.3x") == 0, "tls_version", "TLSv1.3x");
}

/* ---------------- the 426 body ---------------- */

/* A literal with a quote is escaped as it is copied until its call site
 * has claimed it, and copied escaped once per process after that: a
 * first and a later body are the same bytes, in every type, whichever
 * type came first.  A websocket advice carries such literals. */
static void test_body_literals(apr_pool_t *p)
{
    static const char *const want[4] = {
        "new WebSocket(&#39;ws://h/x&#39;)).",
        "new WebSocket(\\u0027ws://h/x\\u0027)).",
        "new WebSocket('ws://h/x')).",
        "new WebSocket(\\u0027ws://h/x\\u0027))."
    };
    char *argv[1] = { "websocket" };
    ur_rule rule;
    ur_set set;
    ur_state st;
    ur_where w;
    const char *first[4], *again;
    ur_sent sent = { NULL, "GET", "HTTP/1.1" };
    int i, same = 1, right = 1;

    memset(&rule, 0, sizeof(rule));
    ur_compile_rule(p, 1, argv, 0, &rule);
    memset(&set, 0, sizeof(set));
    set.lines = lines_of(p, &rule, 1);
    set.nrules = 1;
    set.families = rule.families;
    memset(&st, 0, sizeof(st));
    st.conf = &set;
    st.v.unmet = 1;
    st.upgrade = rule.upgrade;
    ur_where_make(p, "h", NULL, 443, 0, 0, "/x", NULL, &w);
    for (i = 3; i >= 0; i--) {
        st.body = (ur_body_type)i;
        first[i] = ur_body(p, &st, &w, "", &sent, 0, "");
        right &= strstr(first[i], want[i]) != NULL;
    }
    for (i = 0; i < 4; i++) {
        st.body = (ur_body_type)i;
        again = ur_body(p, &st, &w, "", &sent, 0, "");
        same &= !strcmp(again, first[i]);
    }
    ok(right, "body", "quoted literals escaped for HTML and JSON, as is in "
       "text");
    ok(same, "body", "a literal's later copies are its first one's bytes");
    /* '&' is the one byte of an inert URL that HTML and JSON escape */
    ur_where_make(p, "h", "https://t.example/a&b", 443, 1, 0, "/x&y", "q&r",
                  &w);
    st.body = UR_BODY_HTML;
    again = ur_body(p, &st, &w, "", &sent, 0, "");
    right = strstr(again, "wss://t.example/a&amp;b/x&amp;y?q&amp;r") != NULL;
    st.body = UR_BODY_JSON;
    again = ur_body(p, &st, &w, "", &sent, 0, "");
    right &= strstr(again, "wss://t.example/a\\u0026b/x\\u0026y?q\\u0026r")
             != NULL;
    st.body = UR_BODY_PLAIN;
    again = ur_body(p, &st, &w, "", &sent, 0, "");
    right &= strstr(again, "wss://t.example/a&b/x&y?q&r") != NULL;
    ok(right, "body", "an & in the TLS URL, the path or the query escaped "
       "for HTML and JSON");
}

/* A body from a kept template is the body written as pieces, byte for
 * byte: the same lines, interned (templates) and copied (never kept),
 * over reasons, facts, types and URLs; every body twice, so the second
 * comes from the template where one was kept. */
static void test_body_templates(apr_pool_t *p)
{
    static const char *const lines[][3] = {
        { "websocket", NULL, NULL },
        { "TLS/1.2", "h2c", NULL },
        { "HTTP/2", "TLS", "foo/1" },
    };
    static const struct {
        const char *host, *path, *query, *tls_url;
        int port, wss, ws_port;
    } where[] = {
        { "example.org", "/chat", NULL, NULL, 443, 0, 0 },
        { "[::1]", "/a&b", "x=1&y", NULL, 8443, 1, 0 },
        { "h", "/", NULL, "https://cdn.example/p&q", 443, 1, 8080 },
        { "h.example", "/", NULL, NULL, 443, 0, 8080 },
    };
    static const int reasons[] = { UR_NO_UPGRADE, UR_NO_TLS, UR_TLS_OLD,
                                   UR_WS_KEY, UR_PROTO_OLD };
    ur_rule kept[3], copied[3];
    ur_set skept, scopied;
    ur_state st;
    ur_sent sent = { NULL, "GET", "HTTP/1.1" };
    int i, k, n = 0, same = 1, hits = 0;
    unsigned m;

    for (i = 0; i < 3; i++) {
        char *argv[3];
        ur_token *t;
        int argc = 0;

        while (argc < 3 && lines[i][argc]) {
            argv[argc] = (char *)lines[i][argc];
            argc++;
        }
        memset(&kept[i], 0, sizeof(kept[i]));
        ur_compile_rule(p, argc, argv, 0, &kept[i]);
        copied[i] = kept[i];
        t = apr_pmemdup(p, kept[i].tokens, sizeof(*t) * kept[i].ntokens);
        copied[i].tokens = t;
        ((ur_token *)kept[i].tokens)[0].interned = 1;
    }
    memset(&skept, 0, sizeof(skept));
    skept.lines = lines_of(p, kept, 3);
    skept.nrules = 3;
    scopied = skept;
    scopied.lines = lines_of(p, copied, 3);
    for (m = 1; m < 8; m++) {
        for (i = 0; i < (int)(sizeof(reasons) / sizeof(reasons[0])); i++) {
            for (k = 0; k < 4 * 4 * 4; k++) {
                const char *a, *b, *ref;
                ur_where w;

                memset(&st, 0, sizeof(st));
                st.v.unmet = m;
                st.v.first = m & 1 ? 0 : m & 2 ? 1 : 2;
                st.v.reason = reasons[i];
                st.body = (ur_body_type)((k / 16) % 4);
                st.conn_tls = (k / 4) & 1;
                st.f.tls = (k / 8) & 1 ? UR_TLS_DIRECT : UR_TLS_NONE;
                st.f.tls_version = st.f.tls ? 11 : 0;
                st.f.ws_key = (k / 4) & 2 ? "x" : NULL;
                ur_where_make(p, where[k % 4].host, where[k % 4].tls_url,
                              where[k % 4].port, where[k % 4].wss,
                              where[k % 4].ws_port, where[k % 4].path,
                              where[k % 4].query, &w);
                st.conf = &scopied;
                st.upgrade = copied[st.v.first].upgrade;
                ref = ur_body(p, &st, &w, "", &sent, k & 1, "<hr>sig\n");
                st.conf = &skept;
                a = ur_body(p, &st, &w, "", &sent, k & 1, "<hr>sig\n");
                b = ur_body(p, &st, &w, "", &sent, k & 1, "<hr>sig\n");
                same &= !strcmp(a, ref) && !strcmp(b, ref);
                n++;
            }
        }
    }
    for (i = 0; i < UR_TPL_SLOTS; i++) {
        hits += ur_tpl_state[i] == UR_TPL_READY;
    }
    ok(same && hits > 0, "body", apr_psprintf(p, "%d bodies from templates "
                                              "(%d kept) are the bodies "
                                              "written as pieces", n, hits));
    ur_tpl_forget();
}

static void test_body(apr_pool_t *p)
{
    ur_rule rules[UR_MAX_RULES];
    ur_set set;
    ur_state st;
    ur_where w;
    ur_sent sent = { NULL, "GET", "HTTP/1.1" };
    const char *body;
    int i, k;
    char *argv[UR_MAX_TOKENS];

    /* the documented maxima: 32 requirements of 16 alternatives */
    memset(&set, 0, sizeof(set));
    for (i = 0; i < UR_MAX_RULES; i++) {
        for (k = 0; k < UR_MAX_TOKENS; k++) {
            argv[k] = apr_psprintf(p, "p%d-%d/1", i, k);
        }
        memset(&rules[i], 0, sizeof(rules[i]));
        ur_compile_rule(p, UR_MAX_TOKENS, argv, 0, &rules[i]);
        set.families |= rules[i].families;
    }
    set.lines = lines_of(p, rules, UR_MAX_RULES);
    set.nrules = UR_MAX_RULES;
    memset(&st, 0, sizeof(st));
    st.conf = &set;
    st.v.first = 0;
    st.v.unmet = 0xffffffffU;
    st.upgrade = rules[0].upgrade;
    ur_where_make(p, "example.org", NULL, 8443, 0, 0, "/a b", "x=<y>", &w);
    ok(!strcmp(UR_W(&w, HTTPS).s, "https://example.org:8443")
       && !strcmp(UR_W(&w, TARGET).s, "/a%20b?x=%3Cy%3E"), "where_make",
       apr_psprintf(p, "%s %s", UR_W(&w, HTTPS).s, UR_W(&w, TARGET).s));
    for (i = 0; i < 3; i++) {
        st.body = (ur_body_type)i;
        body = ur_body(p, &st, &w, "", &sent, 0, "");
        ok(strstr(body, "p31-15/1") && strlen(body) > 20000
           && strlen(body) < 120000, "body",
           apr_psprintf(p, "type %d, 512 alternatives: %d bytes", i,
                        (int)strlen(body)));
    }
    st.body = UR_BODY_HTML;
    ur_where_make(p, "a\x01<b>\"c", NULL, 443, 1, 0, "/\xff\"'", NULL, &w);
    st.v.reason = UR_WS_METHOD;
    sent.method = "x<y";
    body = ur_body(p, &st, &w, "", &sent, 0, "");
    ok(!strstr(body, "<b>") && !strstr(body, "x<y") && strstr(body, "x&lt;y"),
       "body", "hostile host and reason escaped in HTML");
    test_body_literals(p);
}

/* ---------------- migration schedules: dates, windows, phases ---------------- */

static const struct {
    const char *date;
    apr_int64_t expect;         /* -1: refused */
} date_cases[] = {
    { "1970-01-01", 0 },
    { "2000-03-01", 951868800 },
    { "2024-02-29", 1709164800 },           /* leap year */
    { "2000-02-29", 951782400 },            /* 400-year leap */
    { "2100-02-29", -1 },                   /* century, no leap */
    { "2023-02-29", -1 },
    { "2027-04-31", -1 },                   /* end of the month */
    { "2027-12-31", 1830211200 },
    { "2027-13-01", -1 },
    { "2027-00-10", -1 },
    { "2027-01-15T14:00Z", 1800021600 },
    { "2027-01-15T14:00:30Z", 1800021630 },
    { "2027-01-15T14:00+00:00", 1800021600 },
    { "2027-01-15t14:00z", 1800021600 },
    { "2027-01-15T14:00", -1 },             /* local time: ambiguous */
    { "2027-01-15T14:00+01:00", -1 },
    { "2027-01-15T24:00Z", -1 },
    { "2027-01-15T23:60Z", -1 },
    { "2027-01-15T23:59:60Z", -1 },
    { "2027-1-15", -1 },
    { "1969-12-31", -1 },
    { "2027-01-15 ", -1 },
    { "", -1 },
};

static void test_schedule(apr_pool_t *p)
{
    apr_size_t i;
    apr_int64_t t, until;
    ur_window w;
    ur_schedule sc;
    int refuse;
    /* Tue 2027-01-12 00:00:00 UTC */
    const apr_int64_t tue = 1799712000;

    for (i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
        const char *err = ur_parse_date(date_cases[i].date, &t);
        ok(date_cases[i].expect < 0 ? err != NULL
           : !err && t == date_cases[i].expect, "parse_date",
           apr_psprintf(p, "'%s' -> %s %" APR_INT64_T_FMT,
                        date_cases[i].date, err ? err : "ok",
                        err ? (apr_int64_t)-1 : t));
    }
    {
        char *a1[] = { "hourly", ":55-:05" };
        char *a2[] = { "daily", "23:00-01:00" };
        char *a3[] = { "weekly", "Sun", "23:00-01:00" };
        char *a4[] = { "weekly", "Tue", "14:00-16:00" };
        char *a5[] = { "2027-01-12T10:00Z/2027-01-12T12:00Z" };
        char *b1[] = { "hourly", ":10-:10" };
        char *b2[] = { "hourly", ":60-:05" };
        char *b3[] = { "daily", "25:00-01:00" };
        char *b4[] = { "weekly", "Fun", "10:00-11:00" };
        char *b5[] = { "2027-01-12T12:00Z/2027-01-12T10:00Z" };
        char *b6[] = { "monthly", "1" };
        char *b7[] = { "weekly", "Mon", "10:00-10:00" };

        ok(!ur_parse_window(2, a1, &w) && ur_in_window(&w, tue + 58 * 60,
                                                      &until)
           && until == tue + 3600 + 5 * 60
           && ur_in_window(&w, tue + 3600 + 3 * 60, &until)
           && !ur_in_window(&w, tue + 3600 + 6 * 60, &until)
           && !ur_in_window(&w, tue + 54 * 60, &until), "window",
           "hourly :55-:05 wraps over the hour");
        ok(!ur_parse_window(2, a2, &w)
           && ur_in_window(&w, tue - 1800, &until) && until == tue + 3600
           && ur_in_window(&w, tue + 1800, &until)
           && !ur_in_window(&w, tue + 3600, &until), "window",
           "daily 23:00-01:00 crosses midnight, ends at 01:00 sharp");
        ok(!ur_parse_window(3, a3, &w)
           && ur_in_window(&w, tue - 86400 + 1800, &until)   /* Mon 00:30 */
           && ur_in_window(&w, tue - 2 * 86400 + 23 * 3600 + 60, &until)
           && !ur_in_window(&w, tue + 1800, &until), "window",
           "weekly Sun 23:00-01:00 runs into Monday");
        ok(!ur_parse_window(3, a4, &w)
           && ur_in_window(&w, tue + 15 * 3600, &until)
           && until == tue + 16 * 3600
           && !ur_in_window(&w, tue + 86400 + 15 * 3600, &until)
           && !ur_in_window(&w, tue + 7 * 86400 + 16 * 3600, &until)
           && ur_in_window(&w, tue + 7 * 86400 + 14 * 3600, &until),
           "window", "weekly Tue 14:00-16:00, every week");
        ok(!ur_parse_window(1, a5, &w)
           && ur_in_window(&w, tue + 11 * 3600, &until)
           && !ur_in_window(&w, tue + 12 * 3600, &until), "window",
           "explicit START/END, end excluded");
        ok(ur_parse_window(2, b1, &w) && ur_parse_window(2, b2, &w)
           && ur_parse_window(2, b3, &w) && ur_parse_window(3, b4, &w)
           && ur_parse_window(1, b5, &w) && ur_parse_window(2, b6, &w)
           && ur_parse_window(3, b7, &w), "window",
           "empty, out of range, unknown day, backwards, unknown kind");
    }
    memset(&sc, 0, sizeof(sc));
    sc.sunset = tue + 86400;
    sc.deprecation = tue;
    sc.percent = -1;
    ok(ur_schedule_phase(&sc, tue - 1, 0, &refuse, &until) == UR_PH_REPORT
       && !refuse, "phase", "before deprecation: report, served");
    ok(ur_schedule_phase(&sc, tue, 0, &refuse, &until) == UR_PH_DEPRECATED
       && !refuse, "phase", "the second of the deprecation: deprecated");
    ok(ur_schedule_phase(&sc, tue + 86399, 0, &refuse, &until)
       == UR_PH_DEPRECATED, "phase", "the second before the sunset");
    ok(ur_schedule_phase(&sc, tue + 86400, 0, &refuse, &until)
       == UR_PH_ENFORCED && refuse, "phase", "the second of the sunset");
    sc.percent = 30;
    ok(ur_schedule_phase(&sc, tue + 10, 129, &refuse, &until)
       == UR_PH_DEPRECATED && refuse
       && (ur_schedule_phase(&sc, tue + 10, 150, &refuse, &until), !refuse),
       "phase", "30%: key 129 (29) refused, key 150 (50) served");
    sc.windows[0].period = UR_WIN_DAILY;
    sc.windows[0].start = 23 * 3600;
    sc.windows[0].end = 3600;
    sc.nwindows = 1;
    ok(ur_schedule_phase(&sc, tue + 86400 - 60, 150, &refuse, &until)
       == UR_PH_BROWNOUT && refuse && until == sc.sunset, "phase",
       "a brownout ends at the sunset at the latest");
}

/* ---------------- escaping, against a byte-by-byte reference ---------------- */

static const char *ref_html(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 6 + 1), *o = out;

    for (; *s; s++) {
        switch (*s) {
        case '&':  strcpy(o, "&amp;");  break;
        case '<':  strcpy(o, "&lt;");   break;
        case '>':  strcpy(o, "&gt;");   break;
        case '"':  strcpy(o, "&quot;"); break;
        case '\'': strcpy(o, "&#39;");  break;
        default:   o[0] = *s; o[1] = '\0';
        }
        o += strlen(o);
    }
    *o = '\0';
    return out;
}

static const char *ref_json(apr_pool_t *p, const char *s, int html_safe)
{
    char *out = apr_palloc(p, strlen(s) * 6 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\'
            || (html_safe && (c == '<' || c == '>' || c == '&' || c == '\''))) {
            sprintf(o, "\\u%04x", c);
            o += 6;
        }
        else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

static void test_escape(apr_pool_t *p)
{
    static const char *const fixed[] = {
        "", "plain", "&", "<script>alert('x')</script>", "\"quoted\"",
        "a&&b", "'", "tab\there", "\x7f\x01", "back\\slash", "x&",
        "&x", "\xc3\xa9t\xc3\xa9 & <caf\xc3\xa9>",
    };
    unsigned seed = 12345;
    int i, k, bad_html = 0, bad_json = 0, bad_jsonh = 0;

    for (i = 0; i < (int)(sizeof(fixed) / sizeof(fixed[0])); i++) {
        ok(!strcmp(ur_escape_html(p, fixed[i]), ref_html(p, fixed[i]))
           && !strcmp(ur_json_escape(p, fixed[i], 0),
                      ref_json(p, fixed[i], 0))
           && !strcmp(ur_json_escape(p, fixed[i], 1),
                      ref_json(p, fixed[i], 1)),
           "escape", apr_psprintf(p, "fixed case %d as the reference", i));
    }
    /* 2,000 random strings over every byte value */
    for (i = 0; i < 2000; i++) {
        char buf[48];
        int len = (int)((seed = seed * 1103515245 + 12345) >> 16) % 47;

        for (k = 0; k < len; k++) {
            seed = seed * 1103515245 + 12345;
            buf[k] = (char)(((seed >> 16) % 255) + 1);
        }
        buf[len] = '\0';
        bad_html += strcmp(ur_escape_html(p, buf), ref_html(p, buf)) != 0;
        bad_json += strcmp(ur_json_escape(p, buf, 0), ref_json(p, buf, 0)) != 0;
        bad_jsonh += strcmp(ur_json_escape(p, buf, 1),
                            ref_json(p, buf, 1)) != 0;
    }
    ok(!bad_html && !bad_json && !bad_jsonh, "escape",
       apr_psprintf(p, "2000 random strings: %d html, %d json, %d "
                    "html-safe json differ from the reference", bad_html,
                    bad_json, bad_jsonh));
}

/* ---------------- live counters: kinds and labels ---------------- */

static void test_counters(apr_pool_t *p)
{
    static const struct {
        int refuse, redirect;
        ur_phase phase;
        const char *outcome, *phase_label;
    } cases[] = {
        { 1, 0, UR_PH_ENFORCED,   "refused",    "enforced" },
        { 1, 0, UR_PH_DEPRECATED, "refused",    "deprecated" },
        { 1, 0, UR_PH_BROWNOUT,   "refused",    "brownout" },
        { 1, 1, UR_PH_ENFORCED,   "redirected", "enforced" },
        { 1, 1, UR_PH_DEPRECATED, "redirected", "deprecated" },
        { 1, 1, UR_PH_BROWNOUT,   "redirected", "brownout" },
        { 0, 0, UR_PH_REPORT,     "served",     "report" },
        { 0, 0, UR_PH_DEPRECATED, "served",     "deprecated" },
    };
    static const struct {
        const char *in, *out;
    } esc[] = {
        { "/etc/apache2/sites-enabled/a.conf:12",
          "/etc/apache2/sites-enabled/a.conf:12" },
        { "/srv/\"quoted\"/x.conf", "/srv/\\\"quoted\\\"/x.conf" },
        { "C:\\back\\slash", "C:\\\\back\\\\slash" },
        { "two\nlines", "two\\nlines" },
        { "", "" },
    };
    unsigned seen = 0;
    int i;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        ur_cnt_kind k = ur_count_kind(cases[i].refuse, cases[i].redirect,
                                      cases[i].phase);

        seen |= 1U << k;
        ok(!strcmp(ur_cnt_outcome[k], cases[i].outcome)
           && !strcmp(ur_cnt_phase[k], cases[i].phase_label), "count kind",
           apr_psprintf(p, "%s/%s", cases[i].outcome, cases[i].phase_label));
    }
    ok(seen == ((1U << UR_CNT_KINDS) - 1) - (1U << UR_CNT_PASSED),
       "count kind", "every kind but passed is reached, each once");
    ok(!strcmp(ur_cnt_outcome[UR_CNT_PASSED], "passed")
       && !strcmp(ur_reason_label[UR_OK], "none")
       && !strcmp(ur_reason_label[UR_H2C_REFUSED], "h2c_refused")
       && !strcmp(ur_reason_label[UR_NO_TLS], "plaintext"),
       "reason labels", "aligned with ur_reason");
    for (i = 0; i < (int)(sizeof(esc) / sizeof(esc[0])); i++) {
        const char *got = ur_prom_escape(p, esc[i].in);

        ok(!strcmp(got, esc[i].out), "label escape",
           apr_psprintf(p, "'%s' -> '%s'", esc[i].in, got));
    }
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_list(p);
    test_negotiate(p);
    test_accept_tables(p);
    test_compile(p);
    test_policy(p);
    test_ws_key(p);
    test_proxy(p);
    test_body(p);
    test_body_templates(p);
    test_schedule(p);
    test_counters(p);
    test_escape(p);
    printf("1..%d\n", ntest);
    if (nfail) {
        printf("# %d of %d unit tests failed\n", nfail, ntest);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return nfail ? 1 : 0;
}
