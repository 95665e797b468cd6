# Tandem's two entry points: `make demo` (the main job) and `make test` (every test).
# Both install what they need on a fresh Debian machine first.

SWIFT ?= swift
CONFIG ?= debug
BIN := .build/$(CONFIG)
APT_PACKAGES := libzmq3-dev libmsgpack-dev libpq-dev postgresql pkg-config

TEST_PG_DIR := .tandem/test-postgres

.PHONY: deps build models test demo clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

# The model the generation tests and `make demo` use (sha256-checked, into models/, which git
# ignores); nothing is downloaded when it is already there.
MODEL_FILE := models/SmolLM2-135M-Instruct.Q4_1.gguf

models: build
	@test -f $(MODEL_FILE) || $(BIN)/tandem models pull smollm2-135m

# A private PostgreSQL cluster for the tests, stopped again however the tests end.
test: build models
	@$(BIN)/tandem db start --dir $(TEST_PG_DIR) >/dev/null
	@trap '$(BIN)/tandem db stop --dir $(TEST_PG_DIR)' EXIT; \
	TANDEM_TEST_DATABASE_URL="$$($(BIN)/tandem db url --dir $(TEST_PG_DIR))" $(SWIFT) test -c $(CONFIG)

# The main job: bring the local stack up and show it serving (tools/demo.sh).
demo: build models
	BIN=$(BIN) tools/demo.sh

clean:
	rm -rf .build
