# attrib — plain Makefile over pkg-config (STYLE.md: one build system).
#
#   make            build build/attrib
#   make demo       install what is missing, generate ~100k sessions, run the pipeline
#   make test       install what is missing, build, run every test
#   make asan       the test suite under ASan+UBSan (in build/asan)
#   make tsan       the threaded tests under ThreadSanitizer (in build/tsan)
#   make valgrind   the unit tests under valgrind
#   make fuzz       build the libFuzzer targets (clang) and run each briefly
#   make bench      benchmarks (see bench/README.md); make bench-pg  the same on PostgreSQL
#   make format     clang-format the tree;  make lint  checks format and banned calls

B       ?= build
CC      ?= cc
PKGS     = sqlite3 libcurl jansson libpq libmicrohttpd
OPT     ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wshadow \
              -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral -Iinclude -Isrc
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

LIB_SRC  = $(sort $(wildcard src/lib/*/*.c src/util/*.c))
CLI_SRC  = $(sort $(wildcard src/cli/*.c))
TEST_SRC = $(sort $(wildcard tests/unit/test_*.c))
MODELS   = $(sort $(wildcard models/*.json))

LIB_OBJ  = $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/embed_models.o
CLI_OBJ  = $(CLI_SRC:%.c=$(B)/obj/%.o)
TESTS    = $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps demo test test-only unit cli-tests asan tsan tsan-only valgrind fuzz bench bench-pg bench-gen bench-api \
        bench-engine bench-models format lint clean

all: $(B)/attrib

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/embed: tools/embed.c
	@mkdir -p $(B)
	$(CC) -O1 -Wall -Wextra -Werror $< -o $@

$(B)/gen/embed_models.c: $(MODELS) $(B)/embed
	@mkdir -p $(B)/gen
	$(B)/embed $@ $(foreach m,$(MODELS),$(subst -,_,$(basename $(notdir $(m))))=$(m))

$(B)/obj/gen/embed_models.o: $(B)/gen/embed_models.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

$(B)/libattrib.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/attrib: $(CLI_OBJ) $(B)/libattrib.a
	$(CC) $(LDSAN) -o $@ $(CLI_OBJ) $(B)/libattrib.a $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libattrib.a tests/unit/testutil.h
	@mkdir -p $(B)/tests
	@echo "  TEST-CC $<"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -DTOP=\"$(CURDIR)\" $< -o $@ $(B)/libattrib.a $(LIBS) -lcmocka $(LDSAN)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Install missing build and test packages (Debian; needs root or sudo).
deps:
	@sh tools/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(B)/attrib

test: deps
	@$(MAKE) --no-print-directory test-only

test-only: all $(TESTS)
	@sh tests/run.sh $(B)

unit: all $(TESTS)
	@sh tests/run.sh $(B) unit

asan:
	@$(MAKE) --no-print-directory B=build/asan SAN=1 OPT=-O1 test-only

# The tests that run threads (the others add minutes under TSan and nothing
# it can see): unit tests of the API client and its fake server, serve, the
# threaded model runs, the dataset scan and the report sums; CLI tests of the
# sliced SQLite scan with 1/2/4 threads (test_parallel), the threaded
# attribution (test_models), serve's connection threads (test_serve) and the
# API client against serve (test_api_resume, test_api_pg).
TSAN_UNIT = test_api_client test_serve test_models test_dataset test_report_sums
TSAN_CLI  = test_parallel.sh test_models.sh test_serve.sh test_api_resume.sh test_api_pg.sh
tsan:
	@$(MAKE) --no-print-directory B=build/tsan TSAN=1 OPT=-O1 tsan-only

tsan-only: all $(TESTS)
	@ATTRIB_TESTS="$(TSAN_UNIT) $(TSAN_CLI)" sh tests/run.sh $(B)

valgrind: all $(TESTS)
	@VALGRIND=1 sh tests/run.sh $(B) unit

fuzz:
	@sh tests/fuzz/run.sh

bench: all $(B)/bench/floor
	@sh bench/run.sh $(B)/attrib

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
