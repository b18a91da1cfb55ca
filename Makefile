# `make demo` and `make test` do all set-up themselves: they create .venv when missing and
# install the project with torch pinned to the CPU build (constraints.txt).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: venv demo test ui speed clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# The whole pipeline on the default corpus with tiny budgets for anything not trained yet:
# prepare-data, train every built-in generator and the critic, benchmark, leaderboard.
demo: venv
	$(PY) cli.py prepare-data
	$(PY) cli.py benchmark --all --quick
	$(PY) cli.py leaderboard

test: venv
	$(PY) -m pytest -q

ui: venv
	$(PY) cli.py ui

speed: venv
	$(PY) cli.py speed

clean:
	rm -rf $(VENV) .cache *.egg-info
