# attrib — plain Makefile over pkg-config (STYLE.md: one build system).
#
#   make            build build/attrib
#   make demo       install what is missing, generate ~100k sessions, run the pipeline
#   make test       install what is missing, build, run every test (starts its own
#                   PostgreSQL unless ATTRIB_PG_URI is set; a skipped test fails)
#   make test-quick build, run the tests without starting PostgreSQL (skips allowed)
#   make asan       the test suite under ASan+UBSan (in build/asan)
#   make tsan       the threaded tests under ThreadSanitizer (in build/tsan)
#   make valgrind   the unit tests under valgrind
#   make fuzz       build the libFuzzer targets (clang) and run each briefly
#   make bench      benchmarks (see bench/README.md); make bench-pg  the same on PostgreSQL
#   make format     clang-format the tree;  make lint  checks format and banned calls
#   make install    PREFIX=/usr/local DESTDIR=: attrib, libattrib (.a and .so),
#                   headers, attrib.pc, attrib(1), bash/zsh completion; make uninstall

B       ?= build
CC      ?= cc
PKGS     = sqlite3 libcurl jansson libpq libmicrohttpd
OPT     ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wshadow \
              -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral -Iinclude -Isrc -I$(B)/gen
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ifeq ($(SAN),1)
  CFLAGS_BASE += $(SAN_FLAGS)
  LDSAN = $(SAN_FLAGS)
endif
# ThreadSanitizer: a build of its own (it cannot be combined with ASan).
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
ifeq ($(TSAN),1)
  ifeq ($(SAN),1)
    $(error SAN=1 and TSAN=1 cannot be combined)
  endif
  CFLAGS_BASE += $(TSAN_FLAGS)
  LDSAN = $(TSAN_FLAGS)
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS)
LIBS       = $(PKG_LIBS) -lpthread -lm
# The attrib binary loads libpq, libcurl and libmicrohttpd when first called
# (src/cli/lazy.c: a SQLite run never needs them, and their dependencies cost
# ~14 ms of every start); it links the others. Their sonames, read from the
# libraries pkg-config names, are what lazy.c opens.
LAZY_PKGS  = libpq libcurl libmicrohttpd
EAGER_LIBS = $(shell pkg-config --libs $(filter-out $(LAZY_PKGS),$(PKGS)) 2>/dev/null) -lpthread -lm
soname     = $(shell readelf -d $(shell pkg-config --variable=libdir $(1) 2>/dev/null)/$(2) \
                 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
LAZY_DEFS  = -DATTRIB_SONAME_PQ='"$(call soname,libpq,libpq.so)"' \
             -DATTRIB_SONAME_CURL='"$(call soname,libcurl,libcurl.so)"' \
             -DATTRIB_SONAME_MHD='"$(call soname,libmicrohttpd,libmicrohttpd.so)"'

LIB_SRC  = $(sort $(wildcard src/lib/*/*.c src/util/*.c))
CLI_SRC  = $(sort $(wildcard src/cli/*.c))
TEST_SRC = $(sort $(wildcard tests/unit/test_*.c))
MODELS   = $(sort $(wildcard models/*.json))

LIB_OBJ  = $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/embed_models.o
# The shared library's objects: the same sources compiled position-independent.
PIC_OBJ  = $(LIB_SRC:%.c=$(B)/pic/%.o) $(B)/pic/gen/embed_models.o
LAZY_OBJ = $(B)/obj/src/cli/lazy.o
CLI_OBJ  = $(filter-out $(LAZY_OBJ),$(CLI_SRC:%.c=$(B)/obj/%.o))
TESTS    = $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

# The version is stated once, in include/attrib/version.h; the soname carries
# its major number (libattrib.so.0 for 0.x).
VERSION := $(shell sed -n 's/^.define ATTRIB_VERSION_STRING "\(.*\)"$$/\1/p' include/attrib/version.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME   = libattrib.so.$(SOMAJOR)

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
INSTALL     ?= install

.PHONY: all lib doc deps demo test test-only test-quick install uninstall FORCE unit cli-tests asan tsan tsan-only valgrind fuzz bench bench-pg bench-shape bench-gen bench-api \
        bench-engine bench-models format lint clean

all: $(B)/attrib

# The library, static and shared, with its pkg-config file.
lib: $(B)/libattrib.a $(B)/libattrib.so.$(VERSION) $(B)/attrib.pc

# attrib(1) and the completions, generated from the CLI's option tables.
doc: $(B)/attrib.1 $(B)/completion/attrib.bash $(B)/completion/_attrib

# make MPI=1: also build/attrib-mpi, the same command line inside an MPI job
# (docs/scale-out.md); needs mpicc (Debian: libopenmpi-dev openmpi-bin).
MPICC ?= mpicc
# Built by default when mpicc is there (make test runs its tests), never in the
# sanitizer builds: OpenMPI's runtime is not sanitizer-clean.
ifeq ($(SAN)$(TSAN),)
MPI ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
endif
ifeq ($(MPI),1)
all: $(B)/attrib-mpi
endif
$(B)/obj/mpi/cli_main.o: src/cli/main.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (MPI)"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -DATTRIB_CLI_MAIN=attrib_cli_main -c $< -o $@
$(B)/obj/mpi/mpi_main.o: src/mpi/mpi_main.c src/cli/cli.h src/mpi/mpi_gather.h
	@mkdir -p $(dir $@)
	@echo "  MPICC   $<"
	@$(MPICC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/mpi/mpi_report.o: src/mpi/mpi_report.c src/mpi/mpi_report.h src/mpi/mpi_gather.h
	@mkdir -p $(dir $@)
	@echo "  MPICC   $<"
	@$(MPICC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/mpi/mpi_gather.o: src/mpi/mpi_gather.c src/mpi/mpi_gather.h
	@mkdir -p $(dir $@)
	@echo "  MPICC   $<"
	@$(MPICC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(B)/attrib-mpi: $(filter-out $(B)/obj/src/cli/main.o,$(CLI_OBJ)) $(B)/obj/mpi/cli_main.o $(B)/obj/mpi/mpi_main.o $(B)/obj/mpi/mpi_report.o $(B)/obj/mpi/mpi_gather.o $(B)/libattrib.a
	$(MPICC) $(LDSAN) -o $@ $^ $(LIBS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC-PIC  $<"
	@$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@

# The commit the build comes from (git describe; "unknown" outside a git
# checkout of this project, e.g. from a tarball). Rewritten only when it
# changes, so a new commit recompiles src/lib/core/version.c alone.
$(B)/gen/commit.h: FORCE
	@mkdir -p $(B)/gen
	@c=unknown; \
	if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
	    c=$$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown); fi; \
	printf '#define ATTRIB_COMMIT "%s"\n' "$$c" >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/obj/src/lib/core/version.o $(B)/pic/src/lib/core/version.o: $(B)/gen/commit.h

$(B)/embed: tools/embed.c
	@mkdir -p $(B)
	$(CC) -O1 -Wall -Wextra -Werror $< -o $@

$(B)/gen/embed_models.c: $(MODELS) $(B)/embed
	@mkdir -p $(B)/gen
	$(B)/embed $@ $(foreach m,$(MODELS),$(subst -,_,$(basename $(notdir $(m))))=$(m))

$(B)/obj/gen/embed_models.o: $(B)/gen/embed_models.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

$(B)/pic/gen/embed_models.o: $(B)/gen/embed_models.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -Wno-overlength-strings -c $< -o $@

$(B)/libattrib.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Exports attrib_* (the public API and the util helpers it shares), not the
# library's internal attrib__* functions.
$(B)/libattrib.so.$(VERSION): $(PIC_OBJ) tools/libattrib.map
	@echo "  LD      $@ (soname $(SONAME))"
	@$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=tools/libattrib.map -o $@ \
	    $(PIC_OBJ) $(LIBS) $(LDSAN)
	@ln -sf libattrib.so.$(VERSION) $(B)/$(SONAME)
	@ln -sf $(SONAME) $(B)/libattrib.so

$(B)/attrib.pc: tools/attrib.pc.in include/attrib/version.h Makefile
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@PKGS@|$(PKGS)|' $< >$@

$(B)/attrib: $(CLI_OBJ) $(LAZY_OBJ) $(B)/libattrib.a
	$(CC) $(LDSAN) -o $@ $(CLI_OBJ) $(LAZY_OBJ) $(B)/libattrib.a $(EAGER_LIBS)

$(LAZY_OBJ): src/cli/lazy.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(LAZY_DEFS) -MMD -MP -c $< -o $@

$(B)/attrib.1: $(B)/attrib
	@$(B)/attrib --help-man >$@.tmp && mv $@.tmp $@

$(B)/completion/attrib.bash: $(B)/attrib
	@mkdir -p $(dir $@)
	@$(B)/attrib --help-completion bash >$@.tmp && mv $@.tmp $@

$(B)/completion/_attrib: $(B)/attrib
	@mkdir -p $(dir $@)
	@$(B)/attrib --help-completion zsh >$@.tmp && mv $@.tmp $@

# DESTDIR stages the files (packaging, tests/cli/test_install.sh); the paths
# written into attrib.pc are those of PREFIX, where they will be used.
install: all lib doc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/attrib \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(B)/attrib $(DESTDIR)$(BINDIR)/attrib
	$(INSTALL) -m 644 $(B)/libattrib.a $(DESTDIR)$(LIBDIR)/libattrib.a
	$(INSTALL) -m 755 $(B)/libattrib.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libattrib.so.$(VERSION)
	ln -sf libattrib.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libattrib.so
	$(INSTALL) -m 644 include/attrib/*.h $(DESTDIR)$(INCLUDEDIR)/attrib/
	$(INSTALL) -m 644 $(B)/attrib.pc $(DESTDIR)$(PKGCONFIGDIR)/attrib.pc
	$(INSTALL) -m 644 $(B)/attrib.1 $(DESTDIR)$(MANDIR)/man1/attrib.1
	$(INSTALL) -m 644 $(B)/completion/attrib.bash $(DESTDIR)$(BASHCOMPDIR)/attrib
	$(INSTALL) -m 644 $(B)/completion/_attrib $(DESTDIR)$(ZSHCOMPDIR)/_attrib
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null 2>&1; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/attrib $(DESTDIR)$(LIBDIR)/libattrib.a \
	    $(DESTDIR)$(LIBDIR)/libattrib.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libattrib.so $(DESTDIR)$(PKGCONFIGDIR)/attrib.pc \
	    $(DESTDIR)$(MANDIR)/man1/attrib.1 $(DESTDIR)$(BASHCOMPDIR)/attrib \
	    $(DESTDIR)$(ZSHCOMPDIR)/_attrib
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/attrib/,$(notdir $(wildcard include/attrib/*.h)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/attrib 2>/dev/null

$(B)/tests/%: tests/unit/%.c $(B)/libattrib.a tests/unit/testutil.h
	@mkdir -p $(B)/tests
	@echo "  TEST-CC $<"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -DTOP=\"$(CURDIR)\" $< -o $@ $(B)/libattrib.a $(LIBS) -lcmocka $(LDSAN)

-include $(shell find $(B)/obj $(B)/pic -name '*.d' 2>/dev/null)

# Install missing build and test packages (Debian; needs root or sudo).
deps:
	@sh tools/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(B)/attrib

test: deps
	@$(MAKE) --no-print-directory test-only

# Every test, PostgreSQL included: tests/pg/with_pg.sh starts a throwaway
# cluster when ATTRIB_PG_URI is not set, and stops it whatever happens.
test-only: all lib doc $(TESTS)
	@sh tests/pg/with_pg.sh sh tests/run.sh $(B)

# A reduced run: no server started, skipped tests allowed (and listed).
test-quick: all lib doc $(TESTS)
	@ATTRIB_TEST_ALLOW_SKIP=1 sh tests/run.sh $(B)

unit: all $(TESTS)
	@sh tests/pg/with_pg.sh sh tests/run.sh $(B) unit

asan:
	@$(MAKE) --no-print-directory B=build/asan SAN=1 OPT=-O1 test-only

# The tests that run threads (the others add minutes under TSan and nothing
# it can see): unit tests of the API client and its fake server, serve, the
# threaded model runs, the dataset scan and the report sums; CLI tests of the
# sliced SQLite scan with 1/2/4 threads (test_parallel), the ranged scan's
# prober thread (test_window), a run's report sums thread (test_parallel),
# the threaded attribution (test_models), serve's connection threads
# (test_serve) and the API client against serve (test_api_resume, test_api_pg).
TSAN_UNIT = test_api_client test_serve test_models test_dataset test_report_sums
TSAN_CLI  = test_parallel.sh test_window.sh test_models.sh test_serve.sh test_api_resume.sh test_api_pg.sh
tsan:
	@$(MAKE) --no-print-directory B=build/tsan TSAN=1 OPT=-O1 tsan-only

tsan-only: all $(TESTS)
	@ATTRIB_TESTS="$(TSAN_UNIT) $(TSAN_CLI)" sh tests/pg/with_pg.sh sh tests/run.sh $(B)

valgrind: all $(TESTS)
	@VALGRIND=1 sh tests/pg/with_pg.sh sh tests/run.sh $(B) unit

fuzz:
	@sh tests/fuzz/run.sh

bench: all $(B)/bench/floor
	@sh bench/run.sh $(B)/attrib

# The same on tables of a shape attrib gen does not write (bench/shape_run.sh).
bench-shape: all $(B)/bench/floor
	@sh bench/shape_run.sh $(B)/attrib

# attrib run on PostgreSQL against its COPY floor (bench/pg_run.sh).
bench-pg: all
	@sh bench/pg_run.sh $(B)/attrib

# The generator alone: sessions per second and a profile of the data.
bench-gen: $(B)/bench/gen_bench
	@$(B)/bench/gen_bench $(BENCH_GEN_SESSIONS)

# The API client against attrib serve on loopback: requests/s, sessions/s,
# fill of the session cap, JSON CPU per session (BENCH_API_CONVERSIONS, 100000).
bench-api: $(B)/bench/api_bench
	@$(B)/bench/api_bench $(BENCH_API_CONVERSIONS)

# The local IHC engine alone: journeys per second on one core.
bench-engine: $(B)/bench/engine_bench
	@$(B)/bench/engine_bench $(BENCH_ENGINE_JOURNEYS)

$(B)/bench/%: bench/%.c $(B)/libattrib.a
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) $< -o $@ $(B)/libattrib.a $(LIBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@sh tools/lint.sh

clean:
	rm -rf build
