# The README's two commands: `make demo` and `make test`. Each sets everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := build/demo.duckdb
# pytest workers: 2 cores on CI.
PYTEST_WORKERS ?= auto

.PHONY: demo test venv browser bench clean

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

test: $(STAMP) browser
	$(BIN)/python -m mypy linkback
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# Needs ../shared/data. The 50M-link index is generated once (~30 min, ~10 GB) and reused.
bench: $(STAMP)
	$(BIN)/python bench/bench_extract.py --reps 3
	$(BIN)/python bench/bench_ingest.py --reps 5 --large 3
	$(BIN)/python bench/bench_queries.py --db build/links-50m.duckdb
	$(BIN)/python bench/bench_pagerank.py
	$(BIN)/python bench/bench_rank.py --db build/links-50m.duckdb
	$(BIN)/python bench/bench_webmention.py
	$(BIN)/python bench/bench_hostile.py

clean:
	rm -rf build .pytest_cache .hypothesis
