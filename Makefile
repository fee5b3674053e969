# edgelb: `make demo` and `make test` are all a user types on a fresh machine.
# Every step is incremental: when everything is up to date, setup and build do nothing.

SHELL := /bin/bash
NODE_GYP_FLAGS := $(if $(wildcard /usr/include/node/node_api.h),--nodedir=/usr,)
TS_SRC := $(shell find src -name '*.ts' 2>/dev/null)
NATIVE_SRC := $(shell find native -maxdepth 1 -name '*.cc' -o -maxdepth 1 -name '*.h' 2>/dev/null) native/bpf/edgelb_shared.h
BPF_SRC := $(wildcard native/bpf/*.bpf.c)
BPF_HDR := $(wildcard native/bpf/*.h)
BPF_OBJ := $(patsubst native/bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRC))
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(shell uname -m)-linux-gnu -Inative/bpf

.PHONY: all setup build test test-unit test-lab test-k8s demo bench lint clean kube-apiserver

all: build

setup: .cache/apt.stamp node_modules/.stamp

.cache/apt.stamp: scripts/debian-packages.txt scripts/setup-debian.sh
	@mkdir -p .cache
	scripts/setup-debian.sh
	@touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

build: setup dist/.stamp build/Release/edgelb.node $(BPF_OBJ)

dist/.stamp: $(TS_SRC) tsconfig.json node_modules/.stamp
	npx tsc -p tsconfig.json
	@chmod +x dist/cli/main.js
	@touch $@

# the addon: node-gyp with node-addon-api, linked against libbpf (built here, never by an npm
# install script, so npm's install-script approval does not matter)
build/Release/edgelb.node: binding.gyp $(NATIVE_SRC) node_modules/.stamp
	npx node-gyp configure build $(NODE_GYP_FLAGS) --loglevel=warn   # not `rebuild`: that wipes build/bpf
	@test -f $@ || { echo "native addon was not built"; exit 1; }

build/bpf/%.bpf.o: native/bpf/%.bpf.c $(BPF_HDR)
	@mkdir -p build/bpf
	clang $(BPF_CFLAGS) -c $< -o $@

test: build kube-apiserver
	$(MAKE) --no-print-directory lint
	scripts/test.sh all

test-unit: build
	scripts/test.sh unit

test-lab: build
	scripts/test.sh lab

test-k8s: build kube-apiserver
	scripts/test.sh k8s

# the addon built with AddressSanitizer + UBSan into build/asan/ (apart from the normal build),
# running the tests that load it; a planted overflow proves the sanitizer reports (scripts/test-asan.sh)
.PHONY: test-asan
test-asan: build
	scripts/test-asan.sh

# a real kube-apiserver for test/k8s (k8s.io/kubernetes built from tools/kube-apiserver/, cached
# outside the repo in ~/.cache/edgelb; etcd is Debian's)
kube-apiserver:
	@scripts/kube-apiserver.sh >/dev/null

demo: build
	node dist/cli/main.js lab demo $(DEMO_ARGS)

# every benchmark beside its anchor (bench/README.md): ≤ 60 min, writes bench/results/;
# QUICK=1: one run each, small N (≤ 3 min, also run by `make test`); BENCH="name…" picks some
bench: build
	QUICK=$(QUICK) scripts/bench.sh $(BENCH)

# lint: the tests type-check, and the import rules of docs/architecture.md hold (a back-edge fails)
lint: setup
	npx tsc -p tsconfig.test.json
	npx depcruise src --config .dependency-cruiser.cjs

clean:
	rm -rf dist build .cache/apt.stamp node_modules/.stamp

# the OCI image (scripts/image.sh: Debian rootfs by mmdebstrap and Node from npm, cached in
# ~/.cache/edgelb; skipped when its inputs' hash is unchanged and podman holds it) and helm for the
# chart tests (built from the Go module proxy, cached like kube-apiserver)
.PHONY: image helm
image: build
	@scripts/image.sh

helm:
	@scripts/helm.sh >/dev/null

test test-lab: image
test test-k8s: helm

# MetalLB's controller, the anchor of bench/k8s-ingress.ts, built once from its Go module into
# ~/.cache/edgelb like kube-apiserver (scripts/metallb-controller.sh); `make test` runs the bench quick
.PHONY: metallb-controller
metallb-controller:
	@scripts/metallb-controller.sh >/dev/null
test bench: metallb-controller
