# Kiln build. `make run` and `make test` are the two commands; everything else is a helper.
#   make            release build  -> build/release/kiln
#   make asan       ASan+UBSan     -> build/asan/kiln
#   make check-layers  the include rules (no PHP header outside src/php/; run first by make test)
#   make unit       cmocka unit tests (ASan build)
#   make integration  pytest against build/asan/kiln (all but the applications)
#   make test-apps  WordPress, DokuWiki, ... from Debian's packages (tests/integration/test_app_*.py)
#   make fuzz-smoke short libFuzzer runs of every target (clang)
#   make valgrind   memcheck of the master under a few hundred mixed requests (not in make test)
#   make bench      kiln vs nginx + php-fpm (see bench/README.md)
#   make soak       1M mixed requests; fails if the master's RSS or fds grow (not in make test)
#   make man        the man page build/kiln.8, generated from the settings table of --help
#   make install    release binary, man page, systemd unit, docs under $(DESTDIR)$(PREFIX)
#   make uninstall  removes what make install put there

ifeq ($(origin CC),default)
CC        := gcc
endif
FUZZ_CC   ?= clang
PYTHON    ?= /usr/bin/python3
LISTEN    ?= 127.0.0.1:8080
FUZZ_SECS ?= 10

LLHTTP_DIR  := /usr/share/llhttp
LLHTTP_INC  := /usr/share/include/llhttp
LLHTTP_SRCS := $(wildcard $(LLHTTP_DIR)/*.c)

PHP_CONFIG  ?= php-config8.2
# PHP's headers are system headers to us: our warnings are not theirs to pass. Only objects
# from src/php/ get them (the pattern-specific CPPFLAGS below): the master never sees PHP.
PHP_INCLUDES = $(patsubst -I%,-isystem %,$(shell $(PHP_CONFIG) --includes 2>/dev/null))
PHP_LIBS    := -L/usr/lib -lphp8.2

VERSION   := 0.1.0
WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS  += -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' -Isrc -I$(LLHTTP_INC)
CSTD      := -std=c11
# libphp is not here: only what links php/ (kiln, test_php_worker) adds $(PHP_LIBS).
LDLIBS    := -lssl -lcrypto -lnghttp2 -lbrotlienc -lbrotlidec -lzstd -lz

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

define objs
$(patsubst src/%.c,$(1)/obj/%.o,$(2))
endef

REL_DIR  := build/release
ASAN_DIR := build/asan
FUZZ_DIR := build/fuzz

REL_CFLAGS  := $(CSTD) $(WARN) -O2 -g
ASAN_CFLAGS := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer-no-link,address,undefined
LLHTTP_CFLAGS := -DLLHTTP_STRICT_MODE=1 -w

.PHONY: all asan deps run test test-apps check-layers unit integration fuzz fuzz-smoke bench \
        soak clean man install uninstall
# Objects built through pattern rules are not temporary: keep them for the next build.
.SECONDARY:

$(REL_DIR)/obj/php/%.o $(ASAN_DIR)/obj/php/%.o $(FUZZ_DIR)/obj/php/%.o: CPPFLAGS += $(PHP_INCLUDES)

# The library objects as an archive: a test or fuzzer links only the members it references,
# so php/*.o (and libphp) come in only for what calls zygote_main.
%/libkiln.a:
	@rm -f $@
	$(AR) rcs $@ $^

all: $(REL_DIR)/kiln

deps:
	@./scripts/install-deps.sh

# ---- release ---------------------------------------------------------------
$(REL_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(REL_CFLAGS) -MMD -MP -c $< -o $@

$(REL_DIR)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) -O2 $(LLHTTP_CFLAGS) -c $< -o $@

REL_LLHTTP := $(patsubst $(LLHTTP_DIR)/%.c,$(REL_DIR)/llhttp/%.o,$(LLHTTP_SRCS))
REL_OBJS   := $(call objs,$(REL_DIR),$(SRCS)) $(REL_LLHTTP)

$(REL_DIR)/kiln: $(REL_OBJS)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PHP_LIBS) $(LDLIBS)

# ---- ASan + UBSan -----------------------------------------------------------
$(ASAN_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(ASAN_DIR)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) -O1 -g $(LLHTTP_CFLAGS) -c $< -o $@

ASAN_LLHTTP  := $(patsubst $(LLHTTP_DIR)/%.c,$(ASAN_DIR)/llhttp/%.o,$(LLHTTP_SRCS))
ASAN_LIBOBJS := $(call objs,$(ASAN_DIR),$(LIB_SRCS)) $(ASAN_LLHTTP)

asan: $(ASAN_DIR)/kiln

$(ASAN_DIR)/kiln: $(ASAN_DIR)/obj/main.o $(ASAN_LIBOBJS)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(PHP_LIBS) $(LDLIBS)

$(ASAN_DIR)/libkiln.a: $(ASAN_LIBOBJS)

# ---- unit tests (cmocka, ASan build) ----------------------------------------
UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_DIR)/unit/%,$(UNIT_SRCS))

$(ASAN_DIR)/unit/%: tests/unit/%.c $(ASAN_DIR)/libkiln.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN_CFLAGS) -Wno-missing-prototypes -o $@ $^ $(TEST_PHP_LIBS) $(LDLIBS) -lcmocka

# The one unit test that runs PHP (a real zygote and workers).
$(ASAN_DIR)/unit/test_php_worker: TEST_PHP_LIBS = $(PHP_LIBS)

unit: $(UNIT_BINS)
	@./scripts/run-unit.sh $(UNIT_BINS)

# ---- integration tests (pytest, real binary) --------------------------------
# The applications' tests take minutes (databases, installers): make test-apps runs them.
integration: $(ASAN_DIR)/kiln
	KILN_BIN=$(abspath $(ASAN_DIR)/kiln) $(PYTHON) -m pytest -q -p no:cacheprovider \
	  --ignore-glob='*/test_app_*.py' tests/integration

test-apps: deps
	@$(MAKE) --no-print-directory asan
	KILN_BIN=$(abspath $(ASAN_DIR)/kiln) $(PYTHON) -m pytest -q -p no:cacheprovider \
	  $(sort $(wildcard tests/integration/test_app_*.py))

# ---- libFuzzer targets (clang) ----------------------------------------------
$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -I$(LLHTTP_INC) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(LLHTTP_CFLAGS) -c $< -o $@

FUZZ_LIBOBJS := $(call objs,$(FUZZ_DIR),$(LIB_SRCS)) $(patsubst $(LLHTTP_DIR)/%.c,$(FUZZ_DIR)/llhttp/%.o,$(LLHTTP_SRCS))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))

$(FUZZ_DIR)/libkiln.a: $(FUZZ_LIBOBJS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libkiln.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS)
	@./scripts/fuzz-smoke.sh $(FUZZ_SECS) $(FUZZ_BINS)

# ---- man page and installation ----------------------------------------------
# The man page's OPTIONS come from config.c's settings table (the one behind --help), through
# tools/mkman.c; the rest of the page is packaging/kiln.8.in.
PREFIX  ?= /usr/local
SBINDIR  = $(PREFIX)/sbin
MAN8DIR  = $(PREFIX)/share/man/man8
UNITDIR  = $(PREFIX)/lib/systemd/system
DOCDIR   = $(PREFIX)/share/doc/kiln
INSTALL ?= install
DOCS    := README.md LICENSE docs/operations.md docs/configuration.md docs/observability.md \
           docs/php.md docs/frameworks.md
EXAMPLES := $(wildcard examples/*.php)

$(REL_DIR)/libkiln.a: $(call objs,$(REL_DIR),$(LIB_SRCS)) $(REL_LLHTTP)

$(REL_DIR)/mkman: tools/mkman.c $(REL_DIR)/libkiln.a
	$(CC) $(CPPFLAGS) $(REL_CFLAGS) -o $@ $^ $(LDLIBS)

build/kiln.8: packaging/kiln.8.in $(REL_DIR)/mkman
	$(REL_DIR)/mkman $< > $@.tmp
	mv $@.tmp $@

man: build/kiln.8

install: all man
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(REL_DIR)/kiln $(DESTDIR)$(SBINDIR)/kiln
	$(INSTALL) -m 644 build/kiln.8 $(DESTDIR)$(MAN8DIR)/kiln.8
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/kiln.service > $(DESTDIR)$(UNITDIR)/kiln.service
	chmod 644 $(DESTDIR)$(UNITDIR)/kiln.service
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/kiln $(DESTDIR)$(MAN8DIR)/kiln.8 $(DESTDIR)$(UNITDIR)/kiln.service
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples
	-rmdir $(DESTDIR)$(DOCDIR)

# ---- valgrind memcheck of the master (off-CI) --------------------------------
# A debug build without sanitizers (valgrind and ASan do not mix).
VG_DIR    := build/vg
VG_CFLAGS := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer

$(VG_DIR)/obj/php/%.o: CPPFLAGS += $(PHP_INCLUDES)

$(VG_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(VG_CFLAGS) -MMD -MP -c $< -o $@

$(VG_DIR)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) -O1 -g $(LLHTTP_CFLAGS) -c $< -o $@

VG_OBJS := $(call objs,$(VG_DIR),$(SRCS)) $(patsubst $(LLHTTP_DIR)/%.c,$(VG_DIR)/llhttp/%.o,$(LLHTTP_SRCS))

$(VG_DIR)/kiln: $(VG_OBJS)
	$(CC) $(VG_CFLAGS) -o $@ $^ $(PHP_LIBS) $(LDLIBS)

# valgrind 3.19 has no openat2: the shim runs it as openat (tests/valgrind/openat2-shim.c).
$(VG_DIR)/openat2-shim.so: tests/valgrind/openat2-shim.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -shared -fPIC -o $@ $< -ldl

.PHONY: valgrind
valgrind: deps $(VG_DIR)/kiln $(VG_DIR)/openat2-shim.so
	KILN=$(VG_DIR)/kiln VG_SHIM=$(VG_DIR)/openat2-shim.so ./scripts/valgrind.sh

# ---- the two commands -------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	$(REL_DIR)/kiln --listen $(LISTEN) --docroot www

check-layers:
	@./scripts/check-layers.sh

test: deps
	@$(MAKE) --no-print-directory check-layers
	@$(MAKE) --no-print-directory all asan
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory test-apps

bench: deps all
	./bench/run.sh

# SOAK_REQUESTS, SOAK_CHUNK, SOAK_CONNS, SOAK_RSS_MAX_KB from the environment (bench/README.md).
soak: deps all
	./scripts/soak.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
