# fastcni: `make demo` and `make test` install what is missing, build, then do their job.
.PHONY: setup build demo check test test-unit bench fuzz clean

# make bench BENCH_ARGS='--sizes 10,100,300,1000 --workers 4'
BENCH_ARGS ?= --sizes 100,300

setup:
	@bash scripts/setup.sh

build: setup

demo: setup
	@bash scripts/demo.sh

# Rust tests that need root are #[ignore]d, so that without root the runner says they did not run.
RUST_TEST_ARGS := $(if $(filter 0,$(shell id -u)),--include-ignored,)

# Type checks, lint and format for both languages, and the committed TypeScript declarations of
# the native addon against the ones setup just regenerated; `make test` fails on any of them.
check: setup
	@bash scripts/check-declarations.sh
	@npx tsc -p tsconfig.check.json
	@npx biome ci --colors=off --error-on-warnings .
	@cargo fmt --all --check
	@cargo fmt --manifest-path benchmarks/floor/Cargo.toml --check
	@cargo fmt --manifest-path native/fuzz/Cargo.toml --check
	@cargo clippy --release --quiet -p fastcni-core -p fastcni-frame -p fastcni-launcher --all-targets -- -D warnings
	@cargo clippy --release --quiet -p fastcni-addon -p fastcni-core --features fastcni-core/napi -- -D warnings

test: check
	@cargo test --release -p fastcni-core -p fastcni-frame -p fastcni-launcher --quiet -- $(RUST_TEST_ARGS)
	@npx vitest run
	@FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) bash scripts/fuzz.sh --if-available

test-unit: setup
	@npx vitest run test/unit

bench:
	@FASTCNI_BENCH=1 bash scripts/setup.sh
	@node dist/benchmarks/cli.js $(BENCH_ARGS)

# cargo fuzz targets (native/fuzz): each runs FUZZ_SECONDS; needs a nightly toolchain (see
# scripts/fuzz.sh). `make test` runs each for FUZZ_TEST_SECONDS when nightly is there.
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 5

fuzz: setup
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

clean:
	rm -rf dist native/addon/*.node target

# Churn through the launchers and the agent with the invariants checked throughout, and a summary
# (benchmarks/README.md). Not part of `make test`. make soak SOAK_ARGS='--minutes 30 --cycles 10000'
.PHONY: soak
SOAK_ARGS ?= --minutes 10
soak: setup
	@npx tsc -p benchmarks/tsconfig.json
	@node dist/benchmarks/soak.js $(SOAK_ARGS)

# The cluster controller at scale (issue 14): join latency, routes per node and idle etcd traffic on
# simulated nodes with etcd on a loopback port (benchmarks/README.md). Not part of `make test`.
# make bench-cluster BENCH_CLUSTER_ARGS='--nodes 20 --joins 10 --backend both --idle-seconds 10'
.PHONY: bench-cluster
BENCH_CLUSTER_ARGS ?= --nodes 20 --joins 10 --backend both --idle-seconds 10
bench-cluster: setup
	@npx tsc -p benchmarks/tsconfig.json
	@node dist/benchmarks/cluster-scale.js $(BENCH_CLUSTER_ARGS)
