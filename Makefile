# Tandem's two entry points: `make demo` (the main job) and `make test` (every test).
# Both install what they need on a fresh Debian machine first.

SWIFT ?= swift
CONFIG ?= debug
BIN := .build/$(CONFIG)
APT_PACKAGES := libzmq3-dev libmsgpack-dev libpq-dev postgresql pkg-config libpng-dev

.PHONY: deps build test demo clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

test: build
	$(SWIFT) test -c $(CONFIG)

clean:
	rm -rf .build
