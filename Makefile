# The two set-up commands (README.md): `make run` and `make test`. Both install what is missing first.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
ARGS ?=

.PHONY: all deps build build-asan run test test-release test-asan bench clean

all: build

deps:
	@bash scripts/setup.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG='-O1 -g' -DR1_SANITIZE=ON -DR1_TEST_SHARDS=$(JOBS) -DR1_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target r1 r1_tests

# Chats with the bundled default model, r1's own tiny reasoning model (models/tiny-r1): ask it to add two 3-digit
# numbers. `make run ARGS="-m DIR"` chats with another model.
run: build
	@$(BUILD)/r1 chat $(ARGS)

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

test: test-release test-asan

bench: build
	@$(BUILD)/r1_bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
