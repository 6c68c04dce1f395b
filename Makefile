# GoLite — build, test, run, bench, install.
#
#   make            build everything into build/ (fails naming `make deps` if
#                   packages are missing)
#   make deps       install the packages the build, tests and benchmarks need
#   make run        install what is missing, build, mount ./golite.data at ./mnt
#   make test       unit, model, crash and mount tests
#   make asan-test  the same tests built with AddressSanitizer + UBSan
#   make bench      engine and fio benchmarks
#   make bench-net  the HTTP API under wrk beside nginx, and the Redis
#                   front end under redis-benchmark beside redis-server
#   make bench-etcd the mount on an etcd store against etcd's own rate
#                   (bench/results/etcd.txt)
#   make bench-snapshot  space and bytes written by a snapshot held across
#                   overwrites (bench/results/snapshot.txt)
#   make torture    the long reliability runs (bench/results/torture.txt)
#   make install    PREFIX=/usr/local DESTDIR=

ifeq ($(origin CC),default)
CC       := gcc
endif
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/golite

PKGS      := liburcu-memb liburcu-cds fuse3 liblz4 libzstd criterion libmicrohttpd jansson \
             libcurl
# Package flags are read when the Makefile is parsed, and a build never runs
# the package manager: `make deps` (scripts/deps.sh) installs what is missing.
# The targets that must work on a fresh machine (run, test, unit-test,
# fs-test) run deps first and then build in a make of their own, which reads
# the flags of the packages just installed.
NODEPS_GOALS := clean uninstall deps run test unit-test fs-test
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(MISSING_PKGS),)
$(error packages missing ($(MISSING_PKGS)): run `make deps` to install them)
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs liburcu-memb liburcu-cds liblz4 libzstd 2>/dev/null)
FUSE_LIBS  := $(shell pkg-config --libs fuse3 2>/dev/null)
# The network front ends (net/): libmicrohttpd for HTTP, jansson for JSON.
NET_LIBS   := $(shell pkg-config --libs libmicrohttpd jansson 2>/dev/null)
# The store port's etcd backend (store/): libcurl for HTTP, jansson for JSON.
STORE_LIBS := $(shell pkg-config --libs libcurl jansson 2>/dev/null)

OPT      ?= -O2
SAN      ?=
CFLAGS   ?=
CFLAGS   += -std=gnu11 $(OPT) -g -Wall -Wextra -Wmissing-prototypes -Wshadow -Werror \
            -D_GNU_SOURCE -pthread \
            -fno-strict-aliasing $(PKG_CFLAGS) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS  += -pthread $(SAN)
LIBS     := $(PKG_LIBS) -lm

# What each folder may include. common/ stands on nothing of ours; the
# engine on common/ and its public headers; the daemon and the command on
# include/ and common/ only, so an engine-internal header cannot slip in.
INC_common := -Icommon
INC_engine := -Iengine -Iinclude -Icommon
INC_fs     := -Ifs -Iinclude -Icommon -Inet
INC_cli    := -Icli -Iinclude -Icommon -Inet
INC_net    := -Inet -Iinclude -Icommon
INC_store  := -Istore -Iinclude -Icommon
# tests/ and bench/ see everything
INC_inside := -Iinclude -Iengine -Icommon

COMMON_SRC := $(sort $(wildcard common/*.c))
ENGINE_SRC := $(sort $(wildcard engine/*.c))
STORE_SRC  := $(sort $(wildcard store/*.c))
FS_SRC     := $(sort $(wildcard fs/*.c))
NET_SRC    := $(sort $(wildcard net/*.c))
CLI_SRC    := $(sort $(wildcard cli/*.c))
# bench_snapshot.c is a program of its own (golite-bench-snapshot).
BENCH_SNAPSHOT_SRC := bench/bench_snapshot.c
BENCH_SRC  := $(sort $(filter-out $(BENCH_SNAPSHOT_SRC),$(wildcard bench/*.c)))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TEST_LIB_SRC := $(sort $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c)))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/obj/%.o)
STORE_OBJ  := $(STORE_SRC:%.c=$(BUILD)/obj/%.o)
FS_OBJ     := $(FS_SRC:%.c=$(BUILD)/obj/%.o)
NET_OBJ    := $(NET_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_OBJ  := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN   := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FSTEST_SRC := $(sort $(wildcard tests/fs/*.c))
FSTEST_BIN := $(FSTEST_SRC:tests/fs/%.c=$(BUILD)/tests/fs/%)
STORETEST_SRC := $(sort $(wildcard tests/store/*.c))
STORETEST_BIN := $(STORETEST_SRC:tests/store/%.c=$(BUILD)/tests/store/%)
# The Redis-protocol server (net/resp*) and the programs its tests run.
RESP_SRC   := $(sort $(wildcard net/resp*.c))
RESP_OBJ   := $(RESP_SRC:%.c=$(BUILD)/obj/%.o)
RESPTEST_BIN := $(BUILD)/tests/net/resp_serve $(BUILD)/tests/net/resp_send

LIB        := $(BUILD)/libgolite.a
GOLITEFS   := $(BUILD)/golitefs
GOLITE     := $(BUILD)/golite
BENCH_BIN  := $(BUILD)/golite-bench
BENCH_SNAPSHOT_BIN := $(BUILD)/golite-bench-snapshot

PROGRAMS := $(LIB)
ifneq ($(FS_SRC),)
PROGRAMS += $(GOLITEFS)
endif
ifneq ($(CLI_SRC),)
PROGRAMS += $(GOLITE)
endif

FUZZ_TIME ?= 60

.PHONY: all deps test unit-test fs-test asan asan-test run bench bench-engine bench-values \
        bench-fio bench-net bench-etcd bench-snapshot install uninstall clean torture fuzz tsan-test valgrind-test

all: $(PROGRAMS) $(TEST_BIN) $(FSTEST_BIN) $(STORETEST_BIN) $(RESPTEST_BIN)

deps:
	@scripts/deps.sh

# The include path of a source is its top folder's (INC_inside for tests/
# and bench/).
inc_of = $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_inside))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call inc_of,$<) -MMD -MP -c -o $@ $<

$(LIB): $(ENGINE_OBJ) $(STORE_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The library as installed: one object whose only global symbols are the
# golite_ API, so that the engine's internal names (io_open, xmalloc, ...)
# cannot clash with a program's own.
$(BUILD)/dist/libgolite.a: $(LIB)
	@mkdir -p $(dir $@)
	ld -r -o $(BUILD)/dist/golite.o --whole-archive $(LIB)
	objcopy --wildcard --keep-global-symbol='golite_*' $(BUILD)/dist/golite.o
	rm -f $@
	ar rcs $@ $(BUILD)/dist/golite.o

# The programs link common/ themselves: the installed library keeps only
# its golite_ symbols (see dist above), and they build against it alone.
$(GOLITEFS): $(FS_OBJ) $(NET_OBJ) $(COMMON_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(FS_OBJ) $(NET_OBJ) $(COMMON_OBJ) $(LIB) $(FUSE_LIBS) $(NET_LIBS) \
	    $(STORE_LIBS) $(LIBS)

$(GOLITE): $(CLI_OBJ) $(NET_OBJ) $(COMMON_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(NET_OBJ) $(COMMON_OBJ) $(LIB) $(NET_LIBS) $(STORE_LIBS) \
	    $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LIB_OBJ) $(LIB) -lcriterion $(STORE_LIBS) $(LIBS)

# Programs the mount tests run: plain C, no criterion, may use the library.
$(BUILD)/tests/fs/%: tests/fs/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_inside) -o $@ $< $(LIB) $(LIBS)

# The store port's contract and load driver (tests/store/test_store.sh).
$(BUILD)/tests/store/%: tests/store/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_inside) -o $@ $< $(LIB) $(STORE_LIBS) $(LIBS)

# The RESP server's test driver (tests/net/test_redis.sh runs it) and a
# raw-bytes client for the protocol tests.
$(BUILD)/tests/net/resp_serve: tests/net/resp_serve.c $(RESP_OBJ) $(COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_inside) -Inet -o $@ $< $(RESP_OBJ) $(COMMON_OBJ) $(LIB) $(LIBS)

$(BUILD)/tests/net/resp_send: tests/net/resp_send.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# ---- tests ----------------------------------------------------------------

# Unit, model, crash and concurrency suites, then the mount suites.
test: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh $(BUILD)

unit-test: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh --unit $(BUILD)

fs-test: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh --fs $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all

asan-test: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    scripts/run-tests.sh build-asan

# A ThreadSanitizer build of the engine and its concurrency stress
# (tests/tsan; criterion does not start under TSan). Fails on any report
# not explained in tests/tsan/tsan.supp.
tsan-test: deps
	$(MAKE) BUILD=build-tsan OPT=-O1 SAN=-fsanitize=thread EXTRA_CFLAGS=-Wno-tsan \
	    build-tsan/libgolite.a
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-tsan -D_GNU_SOURCE -pthread \
	    -fsanitize=thread $(INC_inside) $(PKG_CFLAGS) -o build-tsan/stress \
	    tests/tsan/stress.c build-tsan/libgolite.a $(LIBS)
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan/tsan.supp exitcode=66 halt_on_error=0" \
	    build-tsan/stress

# The engine suites under valgrind (slow).
valgrind-test: all
	@scripts/valgrind-test.sh $(BUILD)

# ---- running --------------------------------------------------------------

DATADIR ?= ./golite.data
MNT     ?= ./mnt

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh $(DATADIR) $(MNT)

# ---- benchmarks -----------------------------------------------------------

$(BENCH_BIN): $(BENCH_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJ) $(LIB) \
	    $(shell pkg-config --libs lmdb sqlite3) -lleveldb -lrocksdb $(LIBS)

bench-engine: all $(BENCH_BIN)
	@scripts/bench-engine.sh $(BUILD)

# Large values (4 KiB and 64 KiB): GoLite's separated values against
# RocksDB's blob files (scripts/bench-values.sh; about 5 minutes).
bench-values: all $(BENCH_BIN)
	@scripts/bench-values.sh $(BUILD)

bench-fio: all
	@scripts/bench-fio.sh $(BUILD)

bench: bench-engine bench-fio

# Space and bytes written by a snapshot held across overwrites, and after
# its release (bench/bench_snapshot.c); bytes only, no times. SNAPSHOT_NUM
# keys (10m: about 1.2 GB live, a few GB in a directory under /tmp,
# removed afterwards). Writes bench/results/snapshot.txt.
SNAPSHOT_NUM ?= 10m

$(BENCH_SNAPSHOT_BIN): $(BUILD)/obj/bench/bench_snapshot.o $(BUILD)/obj/bench/bench_util.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench-snapshot: $(BENCH_SNAPSHOT_BIN)
	$(BENCH_SNAPSHOT_BIN) --num $(SNAPSHOT_NUM) --out bench/results/snapshot.txt \
	    --commit "$$(git rev-parse --short HEAD)$$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"

# wrk against the HTTP API, beside nginx serving the same values as files;
# redis-benchmark against the Redis-protocol front end, beside redis-server.
bench-net: all
	@scripts/bench-net.sh $(BUILD)
	@scripts/bench-redis.sh $(BUILD)
	@scripts/bench-net-chart.sh

bench-etcd: all
	@scripts/bench-etcd.sh $(BUILD)

# ---- install --------------------------------------------------------------

install: all $(BUILD)/dist/libgolite.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(filter-out $(LIB),$(PROGRAMS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(BUILD)/dist/libgolite.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/golite.h include/golite_raw.h include/golite_tools.h \
	    include/golite_store.h \
	    $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' scripts/golite.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/golite.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 man/golite.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/golitefs.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 examples/embed.c examples/golitefs.service $(DESTDIR)$(DOCDIR)/examples/

# The long forms of the reliability tests and a table of what they found
# (bench/results/torture.txt); 30-60 minutes. See scripts/torture.sh.
torture: all
	@scripts/torture.sh $(BUILD)

# libFuzzer targets (clang), FUZZ_TIME seconds each.
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_TIME)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
