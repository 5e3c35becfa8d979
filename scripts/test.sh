#!/bin/bash
# Install what is missing, build, and run every test:
#   1. build/       the normal build: every suite
#   2. build-asan/  ASan+UBSan: every suite but package and console (the
#                   integration tests start the sanitized daemon; the console's
#                   browser tests run in build/ only, their API in the http suite)
#   3. build-tsan/  TSan: the threaded suites (tftp http core dhcp store plugins
#                   monitor flavors), apart from tests of single-threaded paths (the
#                   CLI's, the vendors' golden renders, the TFTP flood)
#   4. build-release/ -Dbuildtype=release (-O3, -Werror): compiled, not run,
#                   so that a benchmark's build never breaks
#   5. build-fuzz/  (when clang is there) each libFuzzer harness ~5 s (a smoke
#                   run; docs/fuzzing.md has the longer campaigns)
# The last line is "N passed, N failed", counted from the real results
# (every TAP case counts); the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

scripts/deps.sh --test || { echo "deps: installation failed" >&2; echo "0 passed, 1 failed"; exit 1; }

JOBS=${PP_TEST_JOBS:-2}
# Build folders: $PP_BUILD_DIR (default build) and its -asan/-tsan/-fuzz siblings.
B=${PP_BUILD_DIR:-build}
# Extra meson test arguments for every run (e.g. PP_TEST_ARGS="--suite core").
read -r -a EXTRA <<<"${PP_TEST_ARGS:-}"
FUZZ_SECONDS=${PP_FUZZ_SECONDS:-5}
RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT
build_failures=0

say() { printf '\n=== %s (at %dm%02ds) ===\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)) >&2; }

# setup DIR [meson options...]; compile; record a failure when it does not build
build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$RESULTS/$dir.setup.log" 2>&1 || {
			cat "$RESULTS/$dir.setup.log" >&2
			echo "$dir: meson setup failed" >&2
			return 1
		}
	fi
	# shellcheck disable=SC2086 # BUILD_TARGETS: a list (empty: everything)
	meson compile -C "$dir" ${BUILD_TARGETS:-} >"$RESULTS/$dir.build.log" 2>&1 || {
		tail -50 "$RESULTS/$dir.build.log" >&2
		echo "$dir: build failed" >&2
		return 1
	}
}

# run DIR [meson test options...]: results land in DIR/meson-logs/testlog.json
run_tests() {
	local dir=$1; shift
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --no-rebuild --num-processes "$JOBS" --print-errorlogs "$@" >&2
	if ! cp "$dir/meson-logs/testlog.json" "$RESULTS/$dir.json" 2>/dev/null; then
		echo "$dir: meson test produced no results" >&2
		build_failures=$((build_failures + 1))
	fi
}

say "build (normal)"
if build "$B"; then
	run_tests "$B" "${EXTRA[@]}"
else
	build_failures=$((build_failures + 1))
fi

say "build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
if build "$B-asan" -Db_sanitize=address,undefined -Db_lundef=false; then
	PP_SANITIZED=asan \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$ROOT/scripts/lsan.supp \
		run_tests "$B-asan" --timeout-multiplier 2 --no-suite package --no-suite console "${EXTRA[@]}"
else
	build_failures=$((build_failures + 1))
fi

TSAN_SUITES=(--suite tftp --suite http --suite core --suite dhcp --suite store --suite plugins
	--suite monitor --suite flavors)
[ ${#EXTRA[@]} -gt 0 ] && TSAN_SUITES=("${EXTRA[@]}")
say "build-tsan (ThreadSanitizer: tftp http core dhcp store plugins monitor flavors)"
if build "$B-tsan" -Db_sanitize=thread -Db_lundef=false; then
	# the CLI's own tests (one single-threaded process per command), the
	# vendors' identification and golden renders (one request at a time) and
	# the TFTP flood (the single-threaded TFTP loop) run in the normal and
	# ASan builds; under TSan they only cost time
	TSAN_TESTS=("${TSAN_SUITES[@]}")
	if [ ${#EXTRA[@]} -eq 0 ]; then
		mapfile -t TSAN_TESTS < <(meson test -C "$B-tsan" --no-rebuild --list \
			"${TSAN_SUITES[@]}" 2>/dev/null | sed -n 's|^[^ ]* / ||p' |
			grep -Ev '^(core-cli|core-cli_admin|vendors-golden|vendors-identify|tftp-flood)$')
		[ ${#TSAN_TESTS[@]} -gt 0 ] || TSAN_TESTS=("${TSAN_SUITES[@]}")
	fi
	PP_SANITIZED=tsan \
	TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/tsan.supp" \
		run_tests "$B-tsan" --timeout-multiplier 3 "${TSAN_TESTS[@]}"
else
	build_failures=$((build_failures + 1))
fi

say "build-release (-Dbuildtype=release, compile only)"
if ! build "$B-release" -Dbuildtype=release; then
	build_failures=$((build_failures + 1))
fi

fuzz_pass=0 fuzz_fail=0
if command -v clang >/dev/null 2>&1; then
	say "build-fuzz (libFuzzer, ${FUZZ_SECONDS}s each)"
	# the library too is instrumented (coverage feedback for libFuzzer) and
	# runs under ASan+UBSan, so findings are real memory errors
	# only the harnesses: the rest of the tree is built and tested above
	fuzz_targets=$(for f in tests/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; printf 'fuzz-%s ' "${n%.c}"; done)
	if CC=clang BUILD_TARGETS=$fuzz_targets build "$B-fuzz" -Dfuzz=true \
		-Dc_args=-fsanitize=fuzzer-no-link \
		-Db_sanitize=address,undefined -Db_lundef=false; then
		# two harnesses at a time (one per core); each result in its own file
		fuzz_one() {
			local bin=$1 name=${1##*/fuzz-} work
			work=$(mktemp -d)
			cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
			if (cd "$work" && "$ROOT/$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
				-rss_limit_mb=2048 -print_final_stats=0 "$work" \
				>"$RESULTS/fuzz-$name.log" 2>&1); then
				echo ok >"$RESULTS/fuzz-$name.rc"
			else
				echo FAILED >"$RESULTS/fuzz-$name.rc"
			fi
			rm -rf "$work"
		}
		running=0
		for bin in "$B"-fuzz/tests/fuzz/fuzz-*; do
			[ -f "$bin" ] && [ -x "$bin" ] || continue
			fuzz_one "$bin" &
			running=$((running + 1))
			if [ "$running" -ge 2 ]; then
				wait -n || true
				running=$((running - 1))
			fi
		done
		wait
		for bin in "$B"-fuzz/tests/fuzz/fuzz-*; do
			[ -f "$bin" ] && [ -x "$bin" ] || continue
			name=${bin##*/fuzz-}
			if [ "$(cat "$RESULTS/fuzz-$name.rc" 2>/dev/null)" = ok ]; then
				echo "fuzz-$name: ok" >&2
				fuzz_pass=$((fuzz_pass + 1))
			else
				echo "fuzz-$name: FAILED" >&2
				tail -40 "$RESULTS/fuzz-$name.log" >&2
				fuzz_fail=$((fuzz_fail + 1))
			fi
		done
	else
		build_failures=$((build_failures + 1))
	fi
else
	echo "clang not found: fuzz smoke skipped" >&2
fi

say "summary"
/usr/bin/python3 "$ROOT/scripts/test-summary.py" "$RESULTS" \
	--extra-pass "$fuzz_pass" --extra-fail "$((fuzz_fail + build_failures))"
