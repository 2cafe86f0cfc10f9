# Two commands: `make run` serves the demo, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two test processes (pytest-xdist), one per core, the idle one taking tests
# from the busy one's queue; `make test PYTEST_ARGS=` runs one. On SQLite, the
# default database, each process makes its test database from the models
# (--no-migrations: 1.5 s less each); with DATABASE_URL (CI's PostgreSQL run,
# production's database) the migrations build it, so every CI run applies them.
ifeq ($(DATABASE_URL),)
PYTEST_ARGS ?= -n 2 --dist worksteal --no-migrations
else
PYTEST_ARGS ?= -n 2 --dist worksteal
endif
# Tests run with DEBUG off, as in production; the key is for tests only.
# Bytecode caches stay on even where the machine turns them off
# (PYTHONDONTWRITEBYTECODE): without them every test process and every
# process a test starts compiles the project again, and pytest rewrites
# each test module again (collecting the suite: 7 s instead of 2 s).
TEST_ENV := DEBUG=false SECRET_KEY=test-only-not-secret ALLOWED_HOSTS=testserver,localhost,127.0.0.1 PYTHONDONTWRITEBYTECODE=

.PHONY: run test pytest lint check-system venv clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))."; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# WeasyPrint needs Pango; say so plainly instead of failing at the first PDF.
check-system:
	@missing=""; \
	for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0; do \
		ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Missing system libraries for PDF reports:$$missing"; \
		echo "On Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"; \
		exit 1; \
	fi; \
	ldconfig -p | grep -q libharfbuzz-subset.so.0 || \
		echo "Note: libharfbuzz-subset0 is not installed; PDF font subsetting will be slower."; \
	true

# A local .env (ignored by git) lets plain `manage.py` commands run in
# development; real environment variables always win over it.
.env:
	echo "# Local development settings; see .env.example for the others." > .env
	echo "DEBUG=true" >> .env

run: $(STAMP) check-system .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_catalogue
	$(BIN)/python manage.py seed_demo
	@# One background worker (reports, cost data) beside the server; Ctrl-C
	@# stops both (a background job of a script ignores Ctrl-C: the trap ends it).
	$(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) check-system lint
	$(TEST_ENV) $(BIN)/python manage.py check
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

# Run part of the suite: make pytest ARGS="tests/test_catalogue.py -x"
pytest: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest $(ARGS)

clean:
	rm -rf $(VENV) staticfiles
