# Thin wrapper over CMake. `make test` and `make demo` install their own dependencies.
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
JOBS     ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
DEB_BUILD ?= build-deb

.PHONY: all build deps test unit cli lab-test kernel-test asan fuzz fuzz-build bench demo install deb format tidy clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Installs the Debian packages listed in deps/debian.txt (needs root; skips what is present).
deps:
	@scripts/deps

# Every test: unit (Catch2), CLI (bats, real STUN servers in a private netns), the NAT lab,
# and real kernel WireGuard under qemu. Needs root (namespaces, raw sockets).
test: deps build
	ctest --test-dir $(BUILD) --output-on-failure
	NATKIT_BIN=$(CURDIR)/$(BUILD) bats --print-output-on-failure tests/cli
	NATKIT_BIN=$(CURDIR)/$(BUILD) bats --print-output-on-failure tests/lab
	bats --print-output-on-failure tests/kernel

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

cli: build
	NATKIT_BIN=$(CURDIR)/$(BUILD) bats --print-output-on-failure tests/cli

lab-test: build
	NATKIT_BIN=$(CURDIR)/$(BUILD) bats --print-output-on-failure tests/lab

kernel-test:
	bats --print-output-on-failure tests/kernel

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, in the sanitized clang build
# that the fuzz targets use too (one build for both).
asan: fuzz-build
	ctest --test-dir build-fuzz --output-on-failure

# clang with ASan+UBSan and libFuzzer's coverage: the fuzz targets and the unit tests (line
# tables are enough for the sanitizers' stack traces, and cheaper to build than full -g).
fuzz-build:
	CXX=clang++ cmake -S . -B build-fuzz -DNATKIT_FUZZ=ON -DNATKIT_TESTS=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNATKIT_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG -gline-tables-only" >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# Runs every fuzz target for FUZZ_SECONDS each, starting from its seed corpus.
fuzz: fuzz-build
	scripts/fuzz build-fuzz $(FUZZ_SECONDS)

bench: deps build
	bench/run

demo: deps build
	@scripts/demo

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The .deb (natkit_VERSION_ARCH.deb in $(DEB_BUILD)/): a build of its own for the prefix /usr.
# With DEB_BUILD=$(BUILD) (CI, after `make test PREFIX=/usr`) the tested build is packaged as it is.
deb:
	cmake -S . -B $(DEB_BUILD) -DCMAKE_INSTALL_PREFIX=/usr \
	  $(if $(filter $(abspath $(BUILD)),$(abspath $(DEB_BUILD))),,-DNATKIT_TESTS=OFF) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(DEB_BUILD) -j $(JOBS)
	cd $(DEB_BUILD) && cpack -G DEB

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: build
	clang-tidy -p $(BUILD) --quiet $$(git ls-files 'lib/*.cpp' 'cmd/*.cpp')

clean:
	rm -rf build build-asan build-fuzz $(DEB_BUILD)
