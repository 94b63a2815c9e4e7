# The two commands of the README, and their parts.
.PHONY: demo demo-cli test deps lint unit desktop-test bench

# Install what is missing, build the desktop app, and open it on a fresh demo workspace.
demo:
	bash scripts/run-desktop-demo.sh

# The same demo headless, on the command line: init, pull, reconcile, export.
demo-cli:
	bash scripts/demo.sh

# Everything CI runs: installs what is missing (apt, npm, tauri-driver), then
# format, lints, the core's tests, the desktop shell's tests and the
# end-to-end journey in the real webview.
test: deps lint unit desktop-test

deps:
	bash scripts/setup-test-deps.sh
	bash scripts/desktop-deps.sh

lint:
	cargo fmt --all -- --check
	npm --prefix ui run build --silent
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace --all-targets

desktop-test:
	SKIP_DEPS=1 bash scripts/test-desktop.sh

bench:
	cargo build --release --bins
	target/release/trueup-bench diff --rows 1000000 --runs 5
	cargo bench --bench engine -- --rows 1000000 --runs 3
