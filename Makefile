# tcptop build.
#   make            all four tools into build/
#   make NO_BPF=1   tcptop-replay and tcptop-query only: no clang, libbpf, libelf or BTF needed
#   make test       build, then unit tests and black-box tests (pytest); installs missing packages
#   make bench      overhead and speed figures, as ratios within one run
#   make vmtest     the kernel-dependent tests on Debian's 6.1, 6.12 (and 5.10) kernels under QEMU (root)
#   make install    PREFIX=/usr/local DESTDIR=
#   make run        install what is missing, build, start the live view
#   make SANITIZE=1 test   the same with ASan and UBSan, in build-san/
#   V=1             show full commands

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
UBINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

ifeq ($(SANITIZE),1)
OUTPUT ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUTPUT ?= build
SAN_FLAGS :=
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PYTHON ?= /usr/bin/python3
# Two pytest workers where pytest-xdist is installed: the kernel tests stay one at a time in
# one, the file-only tests run beside them (tests/conftest.py); TEST_JOBS=1: one process
TEST_JOBS ?= 2
XDIST = $(shell [ "$(TEST_JOBS)" -gt 1 ] && $(PYTHON) -c 'import xdist' 2>/dev/null && \
	echo "-n $(TEST_JOBS) --dist loadgroup")
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -I$(OUTPUT) \
	-MMD -MP -DTT_VERSION='"$(VERSION)"' $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
# libcrypto: SHA-1 of the Community ID (common/community_id.c)
LDLIBS_CORE := -lzstd -lz -lm -lcrypto
LDLIBS_VIEW := -lncursesw
LDLIBS_BPF := -lbpf -lelf -lpcap -pthread
LDLIBS_ANON := -lcrypto

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

obj = $(patsubst %.c,$(OUTPUT)/%.o,$(1))

# Libraries of the shared modules; each tool links what it uses.
FORMAT_SRCS := $(wildcard format/*.c)
COMMON_SRCS := $(wildcard common/*.c)
STATE_SRCS := $(wildcard state/*.c)
VIEW_SRCS := $(wildcard view/*.c)
SRC_SRCS := $(wildcard source/*.c)
REC_SRCS := $(filter-out record/main.c,$(wildcard record/*.c))
ANON_SRCS := $(wildcard anon/*.c)
CORE_LIB := $(OUTPUT)/libtt-core.a
VIEW_LIB := $(OUTPUT)/libtt-view.a
SRC_LIB := $(OUTPUT)/libtt-src.a
REC_LIB := $(OUTPUT)/libtt-rec.a
ANON_LIB := $(OUTPUT)/libtt-anon.a

REPLAY_SRCS := $(wildcard replay/*.c)
QUERY_SRCS := $(wildcard query/*.c)
LIVE_SRCS := $(wildcard live/*.c)
RECORD_SRCS := record/main.c

# The kernel side in parts by concern (bpf/*.bpf.c), joined by libbpf's static linker into one
# object, tcptop.bpf.o, and one skeleton.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
# and again for kernels before 5.12, which refuse atomic fetch: programs of their own (_k510)
BPF_OBJS += $(OUTPUT)/bpf/udp_skb_k510.bpf.o
BPF_OBJ := $(OUTPUT)/tcptop.bpf.o
SKELS := $(OUTPUT)/tcptop.skel.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)

NOBPF_TOOLS := $(OUTPUT)/tcptop-replay $(OUTPUT)/tcptop-query
ifeq ($(NO_BPF),1)
TOOLS := $(NOBPF_TOOLS)
else
TOOLS := $(NOBPF_TOOLS) $(OUTPUT)/tcptop $(OUTPUT)/tcptop-record
endif

.PHONY: all tools unit deps test bench vmtest install uninstall clean run fuzz format-check
all: $(TOOLS) $(UNIT_BINS)
tools: $(TOOLS)
unit: $(UNIT_BINS)

$(OUTPUT)/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(CORE_LIB): $(call obj,$(FORMAT_SRCS) $(COMMON_SRCS) $(STATE_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(VIEW_LIB): $(call obj,$(VIEW_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(SRC_LIB): $(call obj,$(SRC_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(REC_LIB): $(call obj,$(REC_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(ANON_LIB): $(call obj,$(ANON_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/tcptop-replay: $(call obj,$(REPLAY_SRCS)) $(ANON_LIB) $(VIEW_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS_VIEW) $(LDLIBS_ANON) $(LDLIBS_CORE) -o $@
$(OUTPUT)/tcptop-query: $(call obj,$(QUERY_SRCS)) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lsqlite3 $(LDLIBS_CORE) -o $@
$(OUTPUT)/tcptop-record: $(call obj,$(RECORD_SRCS)) $(REC_LIB) $(SRC_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS_BPF) $(LDLIBS_CORE) -o $@
$(OUTPUT)/tcptop: $(call obj,$(LIVE_SRCS)) $(REC_LIB) $(SRC_LIB) $(VIEW_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS_BPF) $(LDLIBS_VIEW) $(LDLIBS_CORE) -o $@

# Unit tests link every library they may use; unused archive members are not pulled in. The test's
# own .c goes last: -MMD writes the dependencies of the last source compiled, and a module's file
# named there would stop the build once the module moves (its headers, which the test includes,
# are listed either way).
$(OUTPUT)/tests/%: tests/unit/%.c $(VIEW_LIB) $(CORE_LIB)
	$(call msg,TEST,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(filter-out $<,$(filter %.c,$^)) $< $(VIEW_LIB) $(CORE_LIB) $(LDLIBS_VIEW) \
		$(LDLIBS_CORE) -o $@
# Pure modules of record/, source/, replay/ and query/ (in no library, or in libtt-rec.a / libtt-src.a
# with libbpf): their tests
# compile them in, so they need no libbpf nor skeleton and build under NO_BPF=1 as well.
$(OUTPUT)/tests/test_flight: record/flight.c
$(OUTPUT)/tests/test_conntab: record/conntab.c
$(OUTPUT)/tests/test_files: record/files.c
$(OUTPUT)/tests/test_deliver: source/deliver.c source/evq.c
$(OUTPUT)/tests/test_evq: source/evq.c
$(OUTPUT)/tests/test_stage_order: source/stage_order.c
$(OUTPUT)/tests/test_deliver: CFLAGS += -DTT_SOURCE_MAX_PENDING=256
$(OUTPUT)/tests/test_sockdiag: source/sd_diff.c
$(OUTPUT)/tests/test_caps: source/caps.c source/src_caps.c source/sd_caps.c
$(OUTPUT)/tests/test_source_opts: source/source_opts.c
$(OUTPUT)/tests/test_pcap_flow: source/pcap_flow.c source/pcap_decode.c
$(OUTPUT)/tests/test_pace: replay/pace.c replay/player.c replay/follow.c
$(OUTPUT)/tests/test_event_kinds: replay/dump.c
$(OUTPUT)/tests/test_query: $(filter-out query/main.c,$(QUERY_SRCS))
$(OUTPUT)/tests/test_query: LDLIBS_CORE += -lsqlite3
# Only the anonymizer's test needs libcrypto.
$(OUTPUT)/tests/test_anon: tests/unit/test_anon.c $(ANON_LIB) $(CORE_LIB)
	$(call msg,TEST,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(ANON_LIB) $(CORE_LIB) $(LDLIBS_ANON) $(LDLIBS_CORE) -o $@

# BPF: vmlinux.h from the running kernel's BTF, CO-RE objects, skeletons.
$(OUTPUT)/vmlinux.h:
	$(call msg,BTF,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c include/tt_event.h include/tt_event_kinds.h include/tt_tcp_states.h $(wildcard bpf/*.h) $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(OUTPUT) \
		-c $< -o $@
$(OUTPUT)/bpf/%_k510.bpf.o: bpf/%.bpf.c include/tt_event.h include/tt_event_kinds.h include/tt_tcp_states.h $(wildcard bpf/*.h) $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -DTT_K510 -Iinclude \
		-I$(OUTPUT) -c $< -o $@
$(BPF_OBJ): $(BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^
$(OUTPUT)/tcptop.skel.h: $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcptop_bpf > $@
# The live source includes the skeleton: generate it first.
$(call obj,$(SRC_SRCS) $(RECORD_SRCS) $(LIVE_SRCS)): | $(SKELS)

deps:
	$(Q)./scripts/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)TT_BUILD=$(abspath $(OUTPUT)) NO_BPF=$(NO_BPF) $(PYTHON) -m pytest -ra -p no:cacheprovider $(XDIST) tests

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)TT_BUILD=$(abspath $(OUTPUT)) ./tests/bench/run.sh

# One line per kernel, "vmtest KERNEL: N passed, M failed"; kernels cached in $(OUTPUT)/vmtest/
vmtest: all
	$(Q)./scripts/vmtest/run.sh $(OUTPUT)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(OUTPUT)/tcptop $(ARGS)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c, one binary each in $(OUTPUT)/fuzz/, clang with ASan
# and UBSan): the reader, the query tables, cut (-o --from --to) and --anonymize, each over a
# fuzzed capture. Run one on a scratch corpus seeded from the repository:
#   mkdir -p /tmp/corpus && build/fuzz/fuzz_reader -max_len=16384 /tmp/corpus tests/fuzz/seeds \
#       tests/data $$(ls -d samples 2>/dev/null)
# tests/test_fuzz.py runs each briefly in `make test`; `make fuzz-long` runs each for
# FUZZ_RUNS inputs (10 million) on a corpus kept in $(OUTPUT)/fuzz/corpus-NAME.
FUZZ_NAMES := reader query cut anon pcap
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_RUNS ?= 10000000
FUZZ_CORE := $(FORMAT_SRCS) $(COMMON_SRCS)
FUZZ_REPLAY := $(FUZZ_CORE) $(STATE_SRCS) $(ANON_SRCS) replay/player.c replay/follow.c replay/cut.c \
	replay/keep.c
FUZZ_QUERY := $(FUZZ_CORE) $(STATE_SRCS) $(filter-out query/main.c,$(QUERY_SRCS))
# Every source compiled once for all harnesses (instrumented, not linked with libFuzzer's main).
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DTT_VERSION='"$(VERSION)"' -g -O1 -Iinclude -Iquery \
	-Ireplay -fsanitize=address,undefined -fno-sanitize-recover=undefined
fuzz_obj = $(patsubst %.c,$(OUTPUT)/fuzz/obj/%.o,$(1))

.PHONY: fuzz-long
fuzz: $(FUZZ_BINS)
$(OUTPUT)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(OUTPUT)/fuzz/fuzz_reader: $(call fuzz_obj,tests/fuzz/fuzz_reader.c $(FUZZ_CORE))
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS_CORE) -o $@
$(OUTPUT)/fuzz/fuzz_query: $(call fuzz_obj,tests/fuzz/fuzz_query.c $(FUZZ_QUERY))
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -lsqlite3 $(LDLIBS_CORE) -o $@
$(OUTPUT)/fuzz/fuzz_pcap: $(call fuzz_obj,tests/fuzz/fuzz_pcap.c source/pcap_flow.c source/pcap_decode.c \
		$(FUZZ_CORE))
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS_CORE) -o $@
$(OUTPUT)/fuzz/fuzz_cut $(OUTPUT)/fuzz/fuzz_anon: $(OUTPUT)/fuzz/fuzz_%: \
		$(OUTPUT)/fuzz/obj/tests/fuzz/fuzz_%.o $(call fuzz_obj,$(FUZZ_REPLAY))
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS_CORE) -o $@

# Each harness for FUZZ_RUNS inputs, one after another (hours; not part of make test), seeded
# from the minimized corpus in tests/fuzz/corpus; the full log is $(OUTPUT)/fuzz/long-NAME.log.
fuzz-long: $(FUZZ_BINS)
	$(Q)for n in $(FUZZ_NAMES); do \
		mkdir -p $(OUTPUT)/fuzz/corpus-$$n && \
		$(OUTPUT)/fuzz/fuzz_$$n -runs=$(FUZZ_RUNS) -max_len=16384 -timeout=10 \
			-rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
			-artifact_prefix=$(OUTPUT)/fuzz/ $(OUTPUT)/fuzz/corpus-$$n \
			tests/fuzz/corpus tests/fuzz/seeds tests/data $$(ls -d samples 2>/dev/null) \
			>$(OUTPUT)/fuzz/long-$$n.log 2>&1; rc=$$?; \
		grep -E '^(#[0-9]+[[:space:]]+DONE|stat::(number|average)|SUMMARY|==[0-9]+==ERROR)' $(OUTPUT)/fuzz/long-$$n.log \
			| sed "s/^/fuzz_$$n: /"; \
		[ $$rc = 0 ] || exit $$rc; \
	done

# Tools, their man pages, and one bash completion file with a link per tool (bash-completion
# loads completions/NAME on the first Tab after NAME).
install: $(TOOLS)
	install -d $(DESTDIR)$(UBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(COMPDIR)
	install -m 0755 $(OUTPUT)/tcptop-replay $(OUTPUT)/tcptop-query $(DESTDIR)$(UBINDIR)/
	install -m 0644 docs/man/tcptop-replay.1 docs/man/tcptop-query.1 $(DESTDIR)$(MANDIR)/man1/
ifneq ($(NO_BPF),1)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(OUTPUT)/tcptop $(OUTPUT)/tcptop-record $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/man/tcptop.8 docs/man/tcptop-record.8 $(DESTDIR)$(MANDIR)/man8/
endif
	install -m 0644 completion/tcptop $(DESTDIR)$(COMPDIR)/tcptop
	for t in tcptop-record tcptop-replay tcptop-query; do \
		ln -sf tcptop $(DESTDIR)$(COMPDIR)/$$t || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tcptop $(DESTDIR)$(BINDIR)/tcptop-record \
		$(DESTDIR)$(UBINDIR)/tcptop-replay $(DESTDIR)$(UBINDIR)/tcptop-query \
		$(DESTDIR)$(MANDIR)/man8/tcptop.8 $(DESTDIR)$(MANDIR)/man8/tcptop-record.8 \
		$(DESTDIR)$(MANDIR)/man1/tcptop-replay.1 $(DESTDIR)$(MANDIR)/man1/tcptop-query.1 \
		$(addprefix $(DESTDIR)$(COMPDIR)/,tcptop tcptop-record tcptop-replay tcptop-query)

# The sources in .clang-format's style (build directories and generated headers left out).
STYLE_SRCS := $(wildcard anon/*.[ch] bpf/*.[ch] common/*.[ch] format/*.[ch] include/*.h live/*.[ch] \
	query/*.[ch] record/*.[ch] replay/*.[ch] source/*.[ch] state/*.[ch] view/*.[ch] \
	tests/unit/*.[ch] tests/fuzz/*.c tests/bench/*.c)
format-check:
	$(Q)clang-format --dry-run --Werror $(STYLE_SRCS)

clean:
	rm -rf build build-san

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
