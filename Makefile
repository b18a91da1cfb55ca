# `make demo` and `make test` do all set-up themselves: they create .venv when missing and
# install the project with torch pinned to the CPU build (constraints.txt).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: venv demo test check ui speed clean system-packages

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# The whole pipeline on the default corpus with tiny budgets for anything not trained yet:
# prepare-data, train every built-in generator, benchmark (measured by the shipped default
# critic, critics/default/), leaderboard.
demo: venv
	$(PY) cli.py prepare-data
	$(PY) cli.py benchmark --all --quick
	$(PY) cli.py leaderboard
	@echo "next: source $(VENV)/bin/activate, then the README's First hour (python cli.py report, make ui, ...)"

# Everything (what CI runs, 10+ minutes on 2 cores).
test: venv
	$(PY) -m pytest -q

# The fast tier: everything but the tests marked slow (cli.py in a process of its own: servers,
# torchrun, workers, kills; the whole corpus; long trainings), in-process; under 3 minutes on 2 cores.
check: venv
	PHRASEBENCH_THREADS=$${PHRASEBENCH_THREADS:-1} $(PY) -m pytest -q -m "not slow"

UI_PORT ?= 5000
ui: venv
	$(PY) cli.py ui --port $(UI_PORT)

speed: venv
	$(PY) cli.py speed

# Debian's packages for listening and looking (as root; `make demo` and `make test` never need
# them): FluidSynth and a General MIDI SoundFont render every example phrase to audio; headless
# Chromium checks the HTML report and the MLflow UI in the tests. Without them, audio is skipped
# with one line saying so, and the tests that need them skip, saying why.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
system-packages:
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm chromium

clean:
	rm -rf $(VENV) .cache *.egg-info
