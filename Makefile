# fastcni: `make demo` and `make test` install what is missing, build, then do their job.
.PHONY: setup build demo test test-unit clean

setup:
	@bash scripts/setup.sh

build: setup

demo: setup
	@bash scripts/demo.sh

test: setup
	@cargo test --release -p fastcni-core --quiet
	@npx vitest run

test-unit: setup
	@npx vitest run test/unit

clean:
	rm -rf dist native/addon/*.node target
