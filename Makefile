# Thin wrapper over CMake. `make check` is the project's test command.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all build deps deps-check demo check check-plain check-asan bench fuzz install clean interop-deps

all: build

deps:
	@scripts/deps.sh build

deps-check:
	@scripts/deps.sh check

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

interop-deps:
	@cd tests/interop && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund --loglevel=error; fi

# Plain build (gcc, -Werror) with every test, then the same tests under
# ASan+UBSan (clang), which also builds the libFuzzer harnesses and smoke-runs
# them.
check: deps-check interop-deps
	@$(MAKE) --no-print-directory check-plain
	@$(MAKE) --no-print-directory check-asan

check-plain:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOTTO_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DSOTTO_WERROR=ON -DSOTTO_SANITIZE=ON -DSOTTO_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bin/sotto-bench all
	$(BUILD)/bin/sotto-load

# Long fuzzing: make fuzz FUZZ_SECONDS=600 [FUZZ_TARGET=gcm_siv_open]
fuzz: deps-check
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSOTTO_SANITIZE=ON -DSOTTO_FUZZ=ON -DSOTTO_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && ctest --output-on-failure -L fuzz $(if $(FUZZ_TARGET),-R fuzz-$(FUZZ_TARGET))

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
