# fastcni: `make demo` and `make test` install what is missing, build, then do their job.
.PHONY: setup build demo test test-unit bench clean

# make bench BENCH_ARGS='--sizes 10,100,300,1000 --workers 4'
BENCH_ARGS ?= --sizes 100,300

setup:
	@bash scripts/setup.sh

build: setup

demo: setup
	@bash scripts/demo.sh

test: setup
	@cargo test --release -p fastcni-core -p fastcni-launcher --quiet
	@npx vitest run

test-unit: setup
	@npx vitest run test/unit

bench:
	@FASTCNI_BENCH=1 bash scripts/setup.sh
	@node dist/benchmarks/cli.js $(BENCH_ARGS)

clean:
	rm -rf dist native/addon/*.node target
