/*
 * asan_probe: proof that "make asan" really runs the test httpd under
 * AddressSanitizer and UBSan.  Built only by "make asan" (same flags as the
 * module) and loaded only there (t/conf/extra.conf.in, <IfDefine UR_ASAN>);
 * never part of the product.  t/asan-check drives it.
 *
 * Handler "asan-probe".  Without the header below it answers 200 "idle", so
 * a stray request does nothing.  With "X-UR-Sanitizer-Probe: heap-overflow"
 * it writes one byte past a malloc'ed buffer (ASan: heap-buffer-overflow);
 * with "X-UR-Sanitizer-Probe: ubsan" it overflows a signed int (UBSan:
 * signed integer overflow).  Before the bug it points the sanitizer report
 * path at t/logs/sanitizer/asan-probe.<pid>, so the expected report never
 * looks like a real finding (asan.<pid>, ubsan.<pid>; see t/bin/asan-httpd).
 * The sanitizers then end this child with exit status 1, which httpd
 * replaces silently.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include <sanitizer/common_interface_defs.h>

#define PROBE_HEADER "X-UR-Sanitizer-Probe"

/* volatile: the compiler must neither see the bug nor fold it away */
static volatile size_t probe_len = 16;
static volatile int probe_int = 2147483647;

/* libasan (preloaded, so first in the global scope) and libubsan each keep
 * their own report path: set both. */
static void probe_report_path(request_rec *r)
{
    const char *path = ap_server_root_relative(r->pool, "logs/sanitizer/asan-probe");
    void *ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);

    __sanitizer_set_report_path(path);
    if (ubsan) {
        void (*set)(const char *);

        *(void **)&set = dlsym(ubsan, "__sanitizer_set_report_path");
        if (set)
            set(path);
    }
}

static int asan_probe_handler(request_rec *r)
{
    const char *what;

    if (!r->handler || strcmp(r->handler, "asan-probe"))
        return DECLINED;

    what = apr_table_get(r->headers_in, PROBE_HEADER);
    if (what && (!strcmp(what, "heap-overflow") || !strcmp(what, "ubsan"))) {
        probe_report_path(r);
        if (!strcmp(what, "heap-overflow")) {
            char *buf = malloc(probe_len);
            size_t n = probe_len;

            buf[n] = 'x';                   /* one past the end */
            ap_rprintf(r, "not caught: %c\n", buf[n]);
            free(buf);
        }
        else {
            int v = probe_int;

            v = v + 1;                      /* INT_MAX + 1 */
            ap_rprintf(r, "not caught: %d\n", v);
        }
        return OK;
    }
    ap_set_content_type(r, "text/plain");
    ap_rputs("idle\n", r);
    return OK;
}

static void asan_probe_hooks(apr_pool_t *p)
{
    ap_hook_handler(asan_probe_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA asan_probe_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    asan_probe_hooks
};
