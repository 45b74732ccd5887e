# The README's two commands: `make demo` and `make test`. Each sets everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := build/demo.duckdb
# pytest workers: 2 cores on CI.
PYTEST_WORKERS ?= auto
# Python's bytecode cache on, whatever the container says: with PYTHONDONTWRITEBYTECODE set, every
# test worker, server and `linkback` subprocess compiles the package (and pytest rewrites every test
# module) from source again: ~10 CPU-seconds a collection, ~0.7 s a command.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-slow venv browser goaccess spark test-spark bench bench-traffic bench-spark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,browser]'
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium for the browser checks (Playwright drives it; it never downloads a browser).
# Installed when we are root on a machine with apt; otherwise those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser checks"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium could not be installed: the browser checks will skip"; \
	else echo "no /usr/bin/chromium and not root: the browser checks will skip"; fi

# Spark (linkback spark extract): Debian's Java 17 when we are root on a machine with apt, and the
# spark extra (PySpark, ~450 MB) in the venv. Not part of `make test`: the install takes a minute or
# two and the Spark tests two more on 2 cores: `make test-spark` runs them (a line of .ci/run).
SPARK_STAMP := $(VENV)/.spark-installed

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench,browser,spark]'
	touch $(SPARK_STAMP)

spark: $(SPARK_STAMP)
	@if java -version 2>&1 | head -1 | grep -Eq '"(1[7-9]|[2-9][0-9])[."]'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's openjdk-17-jre-headless for Spark"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	    || echo "Java 17 could not be installed: the Spark tests will skip"; \
	else echo "no Java 17 and not root: the Spark tests will skip"; fi

# One Spark session serves the module: no pytest workers.
test-spark: spark
	$(BIN)/python -m pytest -q tests/test_spark.py tests/test_spark_tasks.py

demo: $(STAMP)
	@mkdir -p build && rm -f $(DEMO_DB) $(DEMO_DB).wal
	$(BIN)/linkback ingest tests/data/warc --db $(DEMO_DB)
	$(BIN)/linkback rank --db $(DEMO_DB)
	$(BIN)/linkback overview twitter.com --db $(DEMO_DB)
	$(BIN)/linkback trend twitter.com --db $(DEMO_DB)
	$(BIN)/linkback backlinks twitter.com --db $(DEMO_DB) --limit 15
	$(BIN)/linkback refdomains twitter.com --db $(DEMO_DB) --limit 10 --sort dr
	$(BIN)/linkback anchors twitter.com --db $(DEMO_DB) --limit 10
	$(BIN)/linkback tlds twitter.com --db $(DEMO_DB) --limit 10
	$(BIN)/linkback toxic twitter.com --db $(DEMO_DB) --limit 10
	$(BIN)/linkback site add semicomplete.com --db $(DEMO_DB)
	$(BIN)/linkback refbacks tests/data/access_logs/semicomplete-excerpt.log --host semicomplete.com --db $(DEMO_DB)
	$(BIN)/linkback mentions list --status queued --limit 10 --db $(DEMO_DB)
	@echo
	@echo "The dashboard on this database: $(BIN)/linkback serve --db $(DEMO_DB)"
	@echo "then open http://127.0.0.1:8000/ and sign in with the admin token it prints."

# numba compiles the graph kernels on their first use and caches them beside their modules: a first
# `linkback rank` does that while mypy runs on the other core, so the test workers load the kernels
# instead of each compiling them (~20 CPU-seconds a process).
WARM_DB := build/warm-kernels.duckdb

test: $(STAMP) browser
	@mkdir -p build && rm -f $(WARM_DB) $(WARM_DB).wal
	@{ $(BIN)/linkback ingest tests/data/warc/jwarc --db $(WARM_DB) -q && $(BIN)/linkback rank --db $(WARM_DB) -q; } \
	  >build/warm-kernels.log 2>&1 & warm=$$!; \
	$(BIN)/python -m mypy linkback; mypy=$$?; \
	wait $$warm || { cat build/warm-kernels.log; exit 1; }; exit $$mypy
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "not slow"

# The slow tests (Chromium's keyboard flows, live crawls, the benches' smoke runs: see SLOW_TESTS in
# tests/conftest.py), apart from the fast default; CI runs them after `make test`.
test-slow: $(STAMP) browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m slow

# Debian's GoAccess, the C log analyser bench/bench_traffic.py runs beside linkback's log reading.
# Installed when we are root on a machine with apt; otherwise that peer is skipped and says why.
goaccess:
	@if command -v goaccess >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's goaccess for the traffic bench"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq goaccess >/dev/null) \
	    || echo "goaccess could not be installed: the traffic bench skips it"; \
	else echo "no goaccess and not root: the traffic bench skips it"; fi

# Spark local[2] against linkback ingest --workers 2 on the same archives (../shared/data if there).
bench-spark: spark
	$(BIN)/python bench/bench_spark.py --reps 3

bench-traffic: $(STAMP) goaccess
	$(BIN)/python bench/bench_traffic.py --lines 1000000 --reps 3 --big 10000000

# Needs ../shared/data. The 50M-link index is generated once (~30 min, ~10 GB) and reused.
bench: $(STAMP) goaccess
	$(BIN)/python bench/bench_extract.py --reps 3
	$(BIN)/python bench/bench_ingest.py --reps 5 --large 3
	$(BIN)/python bench/bench_queries.py --db build/links-50m.duckdb
	$(BIN)/python bench/bench_pagerank.py
	$(BIN)/python bench/bench_rank.py --db build/links-50m.duckdb
	$(BIN)/python bench/bench_webmention.py
	$(BIN)/python bench/bench_hostile.py
	$(BIN)/python bench/bench_traffic.py --lines 1000000 --reps 3 --big 10000000

clean:
	rm -rf build .pytest_cache .hypothesis
