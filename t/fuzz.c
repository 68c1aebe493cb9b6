/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * libFuzzer target for everything in mod_upgrade_required's pure core that
 * reads client-controlled bytes: the header list scanner (Upgrade,
 * Connection, Sec-WebSocket-Version), Accept negotiation, the proxy scheme
 * parsers (Forwarded or a plain header), the proxy TLS version parser, the
 * Sec-WebSocket-Key check, the SSL_PROTOCOL parser, and the policy
 * itself with the input as the Upgrade/Connection values; plus the token
 * compiler, which reads .htaccess text.  Build and run: make fuzz.
 */
#include "../mod_upgrade_required.c"

#include <stdint.h>
#include "apr_general.h"

static apr_pool_t *pool;       /* the compiled rules */
static apr_pool_t *scratch;    /* one input's allocations */
static ur_set conf;
static ur_rule rules[3];

static void setup(void)
{
    char *l1[] = { "websocket", "h2c" };
    char *l2[] = { "foo/2", "TLS/1.2" };
    char *l3[] = { "HTTP/1.1" };

    apr_initialize();
    apr_pool_create(&pool, NULL);
    ur_compile_rule(pool, 2, l1, &rules[0]);
    ur_compile_rule(pool, 2, l2, &rules[1]);
    ur_compile_rule(pool, 1, l3, &rules[2]);
    conf.rules = rules;
    conf.nrules = 3;
    apr_pool_create(&scratch, pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *half;
    ur_facts f;
    ur_verdict v;
    ur_token t;

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

    memset(&f, 0, sizeof(f));
    f.proto_num = UR_HTTP_1_1;
    f.upgrade = s;
    f.conn_upgrade = ur_list_has(half, "upgrade", 7);
    f.ws_version = half;
    f.ws_key = half;
    f.is_get = size & 1;
    ur_evaluate(&conf, &f, &v);
    if (v.first >= conf.nrules || (v.first < 0 && v.unmet)) {
        __builtin_trap();
    }

    ur_compile_token(scratch, s, &t);
    apr_pool_clear(scratch);
    return 0;
}
