# labseg: one-command set-up, main job, tests and report.
#   make demo      set up .venv, write the toy pets, train the UNet, score it on test
#   make app       a web page on 127.0.0.1:7860 to try the shipped UNet on your photos (installs labseg[app])
#   make data/oxford-pet-subset   the real-data studies' photos from the official archives (about 800 MB fetched)
#   make setup-cpu .venv for a machine without a GPU: the same torch, without its GPU-only files (4.3 GB, not 6.4)
#   make lint      ruff check: the style gate (pyproject.toml's [tool.ruff]; also a pre-commit hook)
#   make test      make lint, then pytest: tests/ and the notebooks under nbval (what CI runs)
#   make report    re-execute the notebooks with papermill and render the report from what results/ holds
#                  (PROFILE=toy DATA=data/toy-pets by default: notebooks 01-05; other profiles 01-10). Nothing is
#                  trained unless RETRAIN=missing (train the runs that are not there) or RETRAIN=all (every run);
#                  NOTEBOOKS=all|core|02_unet,05_report chooses the notebooks
#   make gpu-check on a CUDA machine: train, resume and benchmark there (-> benchmarks/latest-cuda.txt)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= toy
DATA ?= data/toy-pets
RETRAIN ?= none

.PHONY: setup setup-cpu demo lint test report clean-cache gpu-check app
$(BIN)/labseg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

setup: $(BIN)/labseg

setup-cpu:
	$(PYTHON) tools/setup_cpu.py $(VENV)
	@touch $(BIN)/labseg

data/toy-pets: | $(BIN)/labseg
	$(BIN)/labseg synth data/toy-pets

# The real-data studies' subset (598 photos of 3 breeds) cut out of the official archives, checked file by file.
data/oxford-pet-subset: | $(BIN)/labseg
	$(BIN)/labseg download --subset pets-3 data/oxford-pet-subset $(if $(BASE_URL),--base-url $(BASE_URL))

demo: setup data/toy-pets
	$(BIN)/labseg train --data data/toy-pets --profile toy --model unet --out runs/demo-unet --resume

# ruff comes with the dev extra (`make setup` and `make setup-cpu` both install it).
lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest -q

report: setup
	$(BIN)/python -m labseg.pipeline --profile $(PROFILE) --data $(DATA) --retrain $(RETRAIN) \
		$(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS))

app: setup
	$(BIN)/pip install --quiet -e ".[app]"
	$(BIN)/labseg app $(if $(PORT),--port $(PORT))

gpu-check: setup
	-$(BIN)/pip install --quiet -e ".[bench]" || echo "labseg[bench] did not install: the benchmark runs without the smp rows"
	$(BIN)/python -m labseg.tools.gpu_check

clean-cache:
	rm -rf $${LABSEG_CACHE_DIR:-$$HOME/.cache/labseg}
