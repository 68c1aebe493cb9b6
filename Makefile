# mod_upgrade_required: build, install and test over apxs.
#
#   make               build .libs/mod_upgrade_required.so
#   make test          install missing Debian packages, build, unit + Apache::Test
#   make asan          the whole Apache::Test suite against an ASan+UBSan build
#                      of the module (t/asan-build/), libasan preloaded into
#                      httpd only (t/bin/asan-httpd); fails on any report
#                      (t/logs/sanitizer/) and proves the sanitizers trip
#                      (t/asan_probe.c, t/asan-check)
#   make install       module (+ Debian mods-available files); honours DESTDIR
#   make run           foreground demo httpd (t/demo/run)
#   make deb           Debian package in dist/ (packaging in conf/debian)
#
# apxs-derived values are recursive (=) on purpose: "make test" may install
# apache2-dev itself (t/deps) before anything asks apxs a question.

APXS       ?= apxs
MODNAME    := upgrade_required
SRC        := mod_upgrade_required.c
SO         := .libs/mod_upgrade_required.so

LIBEXECDIR  = $(shell $(APXS) -q LIBEXECDIR)
SBINDIR     = $(shell $(APXS) -q SBINDIR)
MANDIR     ?= /usr/share/man

comma      := ,
APXS_CFLAGS = -Wc,-Wall
# Calls into httpd and APR through the GOT, not the PLT: apr_dso_load
# opens modules RTLD_NOW, so every symbol is bound at load anyway, and the
# PLT's extra jump is one instruction per call for nothing (about 50 per
# refused request; make bench).  Kept apart from APXS_CFLAGS, which the
# Debian build replaces with dpkg-buildflags.
CODEGEN_CFLAGS = -Wc,-fno-plt

# Strict build for development and CI; tune the list here, nowhere else.
MAINTAINER_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter \
    -Wno-missing-field-initializers -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wdeclaration-after-statement -Wpointer-arith \
    -Wformat=2

# Debian-style layout: the .load/.conf pair that a2enmod links into
# mods-enabled.  Set DEBIAN_CONF=yes to force it (e.g. packaging into
# DESTDIR on a build host without apache2), DEBIAN_CONF= to suppress it.
DEBIAN_CONF ?= $(shell test -d /etc/apache2/mods-available && echo yes)
MODS_AVAILABLE = $(DESTDIR)/etc/apache2/mods-available
MODS_ENABLED   = $(DESTDIR)/etc/apache2/mods-enabled

# The C harness includes the module source with its httpd glue compiled out
# (-DUR_UNIT_TEST), so it only needs APR.  The core's helpers that only the
# glue calls are unused there: -Wno-unused-function (the module's own
# build, "make maintainer", still warns about any unused function).
UNIT_SRC    := t/unit.c
UNIT_SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_BIN    := t/unit
UNIT_CFLAGS  = $(shell $(APXS) -q CFLAGS) -Wall -Wno-unused-function -DUR_UNIT_TEST \
    $(shell $(APXS) -q EXTRA_CPPFLAGS) -I. -I$(shell $(APXS) -q INCLUDEDIR) \
    $(shell $(APXS) -q EXTRA_INCLUDES)
UNIT_LIBS    = $(shell apr-1-config --link-ld --libs) \
    $(shell apu-1-config --link-ld --libs)

# Everything Apache::Test generates from a *.conf.in next to it.
GENERATED_CONF = $(patsubst %.conf.in,%.conf,$(wildcard t/conf/*.conf.in t/conf/*/*.conf.in)) \
    t/conf/httpd.conf t/conf/apache_test_config.pm conf/upgrade_required.load

.PHONY: all maintainer install uninstall test unit asan asan-build fuzz bench run deb clean FORCE

# The version is defined once, as UR_VERSION in the source; the package
# version comes from there, and conf/debian/changelog must agree with it.
VERSION     = $(shell awk '$$1 ~ /define$$/ && $$2 == "UR_VERSION" { gsub(/"/, "", $$3); print $$3 }' $(SRC))
DEB_PKG    := libapache2-mod-upgrade-required
DIST       := dist
# What the package is built from (the test suite is not part of it).
DEB_FILES  := $(SRC) Makefile LICENSE README.md conf/upgrade_required.conf \
    conf/upgrade_required.load.in conf/upgrade-required-check \
    conf/upgrade-required-check.8

# Default target: the module only.
all: $(SO)

# apxs drives libtool: .lo/.slo/.la next to the source, the .so in .libs/.
$(SO): $(SRC)
	$(APXS) -c $(APXS_CFLAGS) $(CODEGEN_CFLAGS) $(SRC)

# Always recompiles: the point is to see the warnings, not to be up to date.
maintainer:
	$(APXS) -c $(addprefix -Wc$(comma),$(MAINTAINER_CFLAGS)) $(CODEGEN_CFLAGS) $(SRC)

# Regenerated on every install: LIBEXECDIR belongs to whichever apxs is used.
conf/upgrade_required.load: conf/upgrade_required.load.in FORCE
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $< > $@

# Never "apxs -i -a": that edits the live httpd.conf.  An admin-edited
# mods-available conf is kept; the shipped one then lands next to it as .new.
install: $(SO) $(if $(DEBIAN_CONF),conf/upgrade_required.load)
	install -D -m 644 $(SO) $(DESTDIR)$(LIBEXECDIR)/mod_upgrade_required.so
	install -D -m 755 conf/upgrade-required-check $(DESTDIR)$(SBINDIR)/upgrade-required-check
	install -D -m 644 conf/upgrade-required-check.8 $(DESTDIR)$(MANDIR)/man8/upgrade-required-check.8
ifneq ($(DEBIAN_CONF),)
	install -D -m 644 conf/upgrade_required.load $(MODS_AVAILABLE)/$(MODNAME).load
	@if [ -e $(MODS_AVAILABLE)/$(MODNAME).conf ] && \
	    ! cmp -s conf/upgrade_required.conf $(MODS_AVAILABLE)/$(MODNAME).conf; then \
	    echo "install: keeping modified $(MODS_AVAILABLE)/$(MODNAME).conf, new one is $(MODNAME).conf.new"; \
	    install -m 644 conf/upgrade_required.conf $(MODS_AVAILABLE)/$(MODNAME).conf.new; \
	else \
	    echo "install -D -m 644 conf/upgrade_required.conf $(MODS_AVAILABLE)/$(MODNAME).conf"; \
	    install -D -m 644 conf/upgrade_required.conf $(MODS_AVAILABLE)/$(MODNAME).conf; \
	fi
	@echo "Enable with: a2enmod $(MODNAME)"
endif

# Refuses while enabled: a dangling mods-enabled link stops httpd from starting.
# A locally modified conf stays, like a Debian conffile on "remove".
uninstall:
	@if [ -e $(MODS_ENABLED)/$(MODNAME).load ] || [ -L $(MODS_ENABLED)/$(MODNAME).load ]; then \
	    echo "uninstall: $(MODNAME) is enabled; run a2dismod $(MODNAME) first" >&2; exit 1; \
	fi
	rm -f $(DESTDIR)$(LIBEXECDIR)/mod_upgrade_required.so \
	    $(DESTDIR)$(SBINDIR)/upgrade-required-check \
	    $(DESTDIR)$(MANDIR)/man8/upgrade-required-check.8
ifneq ($(DEBIAN_CONF),)
	rm -f $(MODS_AVAILABLE)/$(MODNAME).load $(MODS_AVAILABLE)/$(MODNAME).conf.new
	@if cmp -s conf/upgrade_required.conf $(MODS_AVAILABLE)/$(MODNAME).conf; then \
	    rm -f $(MODS_AVAILABLE)/$(MODNAME).conf; \
	elif [ -e $(MODS_AVAILABLE)/$(MODNAME).conf ]; then \
	    echo "uninstall: keeping modified $(MODS_AVAILABLE)/$(MODNAME).conf"; \
	fi
endif

# Steps run in order (not as prerequisites) because t/deps may first have to
# install the very tools the build needs.  Any failing step fails the target;
# the module is built with the strict warnings, so CI sees every warning.
# The configure step (httpd.conf and, on a first run, the test CA: some 250
# lines of openssl output) writes to TEST_CONFIGURE_LOG, printed only when
# it fails.
TEST_CONFIGURE_LOG := t/logs/configure.log
test:
	t/deps
	$(MAKE) --no-print-directory maintainer
	$(MAKE) --no-print-directory unit
	@mkdir -p $(dir $(TEST_CONFIGURE_LOG))
	@echo "t/TEST -configure > $(TEST_CONFIGURE_LOG) 2>&1"
	@t/TEST -configure > $(TEST_CONFIGURE_LOG) 2>&1 || { \
	    cat $(TEST_CONFIGURE_LOG) >&2; \
	    echo "make test: t/TEST -configure failed; its output (above) is in $(TEST_CONFIGURE_LOG)" >&2; \
	    exit 1; }
	t/TEST $(if $(filter-out 0,$(TEST_VERBOSE)),-verbose)

# C unit tests of the policy core, under AddressSanitizer and UBSan: the
# hostile-input tables must not read out of bounds either.  prove prints the
# summary, and every failing case.
unit: $(UNIT_BIN)
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1 \
	    prove -f --exec '' $(UNIT_BIN)

# The harness #includes the module source, so both are prerequisites.
$(UNIT_BIN): $(UNIT_SRC) $(SRC)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SANITIZE) -o $@ $(UNIT_SRC) $(UNIT_LIBS)

# The module and t/asan_probe.c under AddressSanitizer and UBSan, built from
# copies in t/asan-build/ so that .libs/mod_upgrade_required.so and the
# objects next to the source stay the normal build.  t/asan-check runs the
# suite with "t/TEST -httpd t/bin/asan-httpd", whose -D UR_ASAN makes
# t/conf/extra.conf.in load these instead; "make test" never sees them.
ASAN_DIR    := t/asan-build
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_SO     := $(ASAN_DIR)/.libs/mod_upgrade_required.so $(ASAN_DIR)/.libs/asan_probe.so

asan:
	t/deps
	$(MAKE) --no-print-directory asan-build
	t/asan-check $(if $(filter-out 0,$(TEST_VERBOSE)),-verbose)

asan-build: $(ASAN_SO)

$(ASAN_DIR)/mod_upgrade_required.c: $(SRC)
	mkdir -p $(ASAN_DIR)
	cp $< $@

$(ASAN_DIR)/asan_probe.c: t/asan_probe.c
	mkdir -p $(ASAN_DIR)
	cp $< $@

$(ASAN_DIR)/.libs/%.so: $(ASAN_DIR)/%.c
	cd $(ASAN_DIR) && $(APXS) -c -Wc$(comma)-Wall \
	    $(addprefix -Wc$(comma),$(ASAN_FLAGS)) $(addprefix -Wl$(comma),$(ASAN_FLAGS)) $*.c

# libFuzzer (clang, Debian libclang-rt-14-dev) over every parser of client
# bytes in the core; not part of "make test".  FUZZ_SECONDS=600 for longer.
FUZZ_SECONDS ?= 60
FUZZ_BIN     := t/fuzz
fuzz: $(FUZZ_BIN)
	mkdir -p t/fuzz-corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=9000 t/fuzz-corpus t/fuzz-seeds

$(FUZZ_BIN): t/fuzz.c $(SRC)
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -DUR_UNIT_TEST \
	    $(shell apr-1-config --includes --cppflags) -o $@ t/fuzz.c \
	    $(shell apr-1-config --link-ld --libs)

# Instructions per request under callgrind for every case of issue 12, the
# 10,000-vhost config, and cache misses of an unmatched request among
# 10,000 <Location> sections, with each ratio next to its target
# (t/bench/run); exits 0 whether or not the targets are met.  Not part of
# "make test".  t/deps first, as for "make test": on a fresh machine it
# installs apxs and httpd.
bench:
	t/deps
	$(MAKE) --no-print-directory all
	t/bench/run

# dpkg-buildpackage in a temporary copy of the source with conf/debian as
# debian/ (the top level of this repository stays as it is), then lintian,
# which must find nothing worse than an informational tag.  The .deb, the
# -dbgsym .deb, .buildinfo and .changes end up in dist/.
deb:
	@set -e; v='$(VERSION)'; \
	[ -n "$$v" ] || { echo "deb: no UR_VERSION in $(SRC)" >&2; exit 1; }; \
	cv=$$(dpkg-parsechangelog -l conf/debian/changelog -S Version); \
	[ "$$cv" = "$$v" ] || { echo "deb: conf/debian/changelog is at $$cv but UR_VERSION in $(SRC) is $$v: add an entry (dch -c conf/debian/changelog -v $$v)" >&2; exit 1; }; \
	command -v lintian >/dev/null || { echo "deb: lintian is missing (apt-get install lintian, or t/deps as root)" >&2; exit 1; }; \
	tmp=$$(mktemp -d /tmp/ur-deb.XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	src=$$tmp/$(DEB_PKG)-$$v; mkdir "$$src"; \
	cp -p --parents $(DEB_FILES) "$$src/"; \
	cp -pR conf/debian "$$src/debian"; \
	echo "deb: dpkg-buildpackage -us -uc -b in $$src"; \
	(cd "$$src" && dpkg-buildpackage -us -uc -b); \
	rm -rf $(DIST); mkdir $(DIST); \
	cp -p "$$tmp"/*.deb "$$tmp"/*.buildinfo "$$tmp"/*.changes $(DIST)/; \
	for f in "$$tmp"/*.ddeb; do [ ! -e "$$f" ] || cp -p "$$f" $(DIST)/; done; \
	echo "deb: lintian $(DIST)/$(DEB_PKG)_$${v}_*.changes"; \
	lintian --fail-on error,warning $(DIST)/$(DEB_PKG)_$${v}_*.changes; \
	echo "deb: lintian clean"; ls -l $(DIST)

# Foreground demo server with the echo backend; see t/demo/run.  Ctrl-C
# ends it with status 0, so make stops without "Error 130".
run: all
	t/demo/run

# t/TEST -clean stops a running test httpd first; it never removes the test
# CA (t/conf/ssl/ca), hence the explicit rm.  Tolerates a missing Apache::Test.
clean:
	-t/TEST -clean
	rm -rf .libs *.la *.lo *.slo *.o t/logs t/state t/conf/ssl/ca \
	    $(GENERATED_CONF) $(UNIT_BIN) $(FUZZ_BIN) t/fuzz-corpus t/demo/run.d \
	    $(DIST) \
	    $(ASAN_DIR)

# Prerequisite that is never up to date.
FORCE:
