# The two commands of the README, and their parts.
.PHONY: demo test lint unit bench

# Build the command line, create the demo workspace, reconcile it and export the results.
demo:
	bash scripts/demo.sh

# Every check CI runs: format, lints, all tests.
test: lint unit

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

unit:
	cargo test --all-targets

bench:
	cargo run --release --bin trueup-bench -- --help
