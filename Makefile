# make install: what is missing (SuperCollider from Debian's packages, a .venv with raveforce)
# make demo:    install, then the main job      make test: install, then the tests
# make docs:    the manual (docs/) as a site in site/, warnings as errors
# make kits:    all 16 of Hydrogen's sampled kits (hydrogen-drumkits, 220 MB), for training and benchmarks
# make bench:   the benchmarks (see docs/benchmarks/)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := supercollider-server sc3-plugins-server supercollider-language chromium hydrogen-data

.PHONY: install system python demo test docs kits bench clean

install: system python

system:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "RaveForce needs Python >= 3.11 ($(PYTHON) is older)"; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,reference,rllib,sb3,plot,tensorboard,docs,bench,baselines]'
	@echo "compiling librosa's numba kernels once (the tests' reference; ~30 s, cached in $(VENV))"
	$(PY) -W ignore -c 'import numpy, librosa; librosa.cqt(numpy.zeros(8192), sr=44100)'
	touch $@

demo: install
	$(PY) -m raveforce solve drum-loop --out out/demo

# Two pytest workers (pytest-xdist; each starts its own scsynths and sclangs), the 15 slowest tests listed.
# Python's bytecode cache on, whatever the environment says: without it every test worker, CLI
# subprocess and the wheel test's fresh venv compile again each module they import (~3 s of each
# worker's collection, ~0.25 s of each subprocess that imports raveforce).
# One BLAS and OpenMP thread per worker: with two workers on two cores, OpenBLAS's threads on the
# rewards' small products wait for each other (hits' 22x513 @ 513x64: 0.25 ms alone, 1-5 ms contended).
TEST_WORKERS ?= 2

test: install
	PYTHONDONTWRITEBYTECODE= OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

kits: install
	@dpkg -s hydrogen-drumkits >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends hydrogen-drumkits; }

docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

bench: install
	$(PY) benchmarks/bench_env.py

clean:
	rm -rf $(VENV) out build site src/*.egg-info .pytest_cache
