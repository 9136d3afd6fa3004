# pg_fusion: PGXS packaging around a Rust cdylib.
#
#   make                 build the extension (cargo, release, thin LTO)
#   make install         install pg_fusion.so, the control file and sql/ into pg_config's dirs
#   make installcheck    run the pg_regress suites against a running server (preloaded)
#   make temp-check      run them in a throwaway instance with pg_fusion preloaded
#                        (as root, the server runs as the postgres OS user)
#   make bench           the fully optimised build (fat LTO, one codegen unit), installed, then
#                        the TPC-H benchmark (benches/tpch/bench.sh; SF=1 RUNS=3 TIMEOUT=300
#                        by default, SF=0.1 for a quick check; PG_CONFIG=... for another
#                        PostgreSQL version, whose own table in docs/benchmarks.md it fills)
#   make bench-single    the same build, then the single-table benchmark (ROWS=... RUNS=...)
#   make bench-partitioned  the same build, then the partitioned fact table benchmark (ROWS=...
#                        RUNS=...: 24 monthly partitions, pruning, joins)

EXTENSION = pg_fusion
MODULES = pg_fusion
DATA = $(wildcard sql/pg_fusion--*.sql)
REGRESS = $(shell sed -n 's/^test: *//p' regress/schedule)
REGRESS_OPTS = --inputdir=regress --outputdir=regress/out --load-extension=pg_fusion
EXTRA_CLEAN = regress/out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
# The module is Rust, not C: no LLVM bitcode to build or install.
override with_llvm = no
include $(PGXS)

CARGO ?= cargo
CARGO_PROFILE ?= release
export PG_CONFIG
# Outside the checkout, so rebuilds from a fresh clone are incremental.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/pg_fusion/target

.PHONY: FORCE temp-check bench
FORCE:

# cargo's dev profile builds into target/debug.
CARGO_PROFILE_DIR = $(if $(filter dev,$(CARGO_PROFILE)),debug,$(CARGO_PROFILE))

pg_fusion$(DLSUFFIX): FORCE
	$(CARGO) build --profile $(CARGO_PROFILE) --lib
	cp $(CARGO_TARGET_DIR)/$(CARGO_PROFILE_DIR)/libpg_fusion.so $@

temp-check:
	scripts/regress-temp.sh

.PHONY: bench-single bench-partitioned
SF ?= 1
RUNS ?= 3
TIMEOUT ?= 300
ROWS ?= 10000000
bench:
	$(MAKE) CARGO_PROFILE=bench-release install
	benches/tpch/bench.sh --scale $(SF) --runs $(RUNS) --timeout $(TIMEOUT)
bench-single:
	$(MAKE) CARGO_PROFILE=bench-release install
	benches/single_table.sh $(ROWS) $(RUNS)
bench-partitioned:
	$(MAKE) CARGO_PROFILE=bench-release install
	benches/partitioned.sh $(ROWS) $(RUNS)
