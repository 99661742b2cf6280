# Microdot firmware kit. Every recipe is one line calling a module in tools/.
# Run `make` (or `make help`) for the list of targets.

BOARD ?= ESP32_GENERIC
EXTENSIONS ?=
APP ?=
PORT ?=
BAUD ?=
DEVICE ?=
MICROPY_DIR ?=
MICROPYTHON ?=
NATIVE ?=
BOARD_VARIANT ?=
OTA ?=
ERASE ?=
SSID ?=
PASSWORD ?=
FREEZE_MAIN ?=
NETNS ?=
STOCK ?=
PYTEST_ARGS ?=
OTA_TOKEN ?=
FIRMWARE ?=
IMAGE ?=
DRY_RUN ?=
ROMFS ?=
CERT ?=
PIN ?=
HTTPS ?=

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup test test-mp test-py run boards check micropython-fixes firmware flash deploy ota logs wifi erase monitor size clean test-hw smoke bench soak cert

help: ## Show this list of targets
	@python3 -m tools.dev.help Makefile

$(STAMP): requirements-dev.txt pyproject.toml tools/dev/bootstrap.py
	python3 -m tools.dev.bootstrap --venv $(VENV)

setup: $(STAMP) ## Create .venv with everything the kit and its tests need (PyPI only)

test: $(STAMP) ## Run every test: framework on MicroPython, then the full pytest suite on CPython
	$(PY) -m tools.dev.testall $(PYTEST_ARGS)

test-mp: $(STAMP) ## Run the framework tests on the MicroPython unix port only
	$(PY) -m tools.dev.mptest

test-py: $(STAMP) ## Run the pytest suite on CPython only
	$(PY) -m pytest $(PYTEST_ARGS)

run: $(STAMP) ## Serve APP (default examples/hello) on the virtual board - no hardware or Docker needed; BOARD=X: what X has after make deploy (STOCK=1: stock MicroPython), NETNS=0: on 127.0.0.1 (BOARD=ESP32_C3_QEMU: under QEMU); OTA_TOKEN=x: as a board in the field, for make ota / make logs (APP: the first app; none: it waits for make ota; HTTPS=1: over HTTPS with CERT=, default certs/board)
	$(PY) -m tools.targets --board $(if $(filter command line,$(origin BOARD)),$(BOARD),UNIX) $(if $(APP),--app $(APP)) $(if $(OTA_TOKEN),--ota-token "$(OTA_TOKEN)") $(if $(HTTPS),--https $(or $(CERT),certs/board)) $(if $(MICROPYTHON),--micropython $(MICROPYTHON)) $(if $(filter 0,$(NETNS)),--netns off) $(if $(STOCK),--firmware stock)

boards: $(STAMP) ## List the boards with port, chip and default extensions
	$(PY) -m tools.selection.boards

check: $(STAMP) ## Compile what BOARD would freeze with mpy-cross and print sizes (no Docker)
	$(PY) -m tools.manifest.check --board $(BOARD) $(if $(EXTENSIONS),--extensions "$(EXTENSIONS)") $(if $(APP),--app $(APP)) $(if $(FREEZE_MAIN),--freeze-main) $(if $(MICROPY_DIR),--micropy-dir $(MICROPY_DIR))

micropython-fixes: $(STAMP) ## Make the MicroPython fixes BOARD needs (board.json micropython_fixes; ESP32_QEMU) in MICROPY_DIR
	$(PY) -m tools.build.fixes --board $(BOARD) --micropy-dir $(MICROPY_DIR)

firmware: $(STAMP) ## Build firmware/BOARD/ in Docker (NATIVE=1: on the host; MICROPY_DIR=: your checkout; OTA=1: the OTA variant; DRY_RUN=1: check and print the plan only)
	$(PY) -m tools.build --board $(BOARD) $(if $(EXTENSIONS),--extensions "$(EXTENSIONS)") $(if $(APP),--app $(APP)) $(if $(FREEZE_MAIN),--freeze-main) $(if $(MICROPY_DIR),--micropy-dir $(MICROPY_DIR)) $(if $(NATIVE),--native) $(if $(BOARD_VARIANT),--variant $(BOARD_VARIANT)) $(if $(OTA),--ota) $(if $(DRY_RUN),--dry-run)

flash: $(STAMP) ## Write firmware/BOARD/ to the board (PORT=, BAUD=, ERASE=1)
	$(PY) -m tools.device.flash --board $(BOARD) $(if $(PORT),--port $(PORT)) $(if $(BAUD),--baud $(BAUD)) $(if $(ERASE),--erase)

deploy: $(STAMP) ## Copy APP's changed files, and the kit modules its firmware lacks (to /lib), with mpremote; soft-reset (PORT=; CERT=certs/<name>: the board's certificate and key too, HTTPS; ROMFS=1: the modules as one ROMFS image, docs/romfs.md, checked against BOARD='s area [OTA=1: its OTA build])
	$(PY) -m tools.device.deploy --app $(or $(APP),examples/hello) $(if $(PORT),--port $(PORT)) $(if $(CERT),--cert $(CERT)) $(if $(ROMFS),--romfs) $(if $(filter command line,$(origin BOARD)),--board $(BOARD) $(if $(OTA),--ota))

ota: $(STAMP) ## Update APP over Wi-Fi and wait for its verdict (DEVICE=http://ip:port, OTA_TOKEN=, FORCE=1; FIRMWARE=1: the ESP32 firmware of BOARD, IMAGE=; DEVICE=https://... with CERT= or PIN=: pinned; NEWCERT=certs/<new>: that certificate and key instead, over pinned HTTPS only; ROMFS=1: the modules as one ROMFS image)
	$(PY) -m tools.device.ota --device "$(DEVICE)" --app $(or $(APP),examples/hello) --board $(BOARD) $(if $(OTA_TOKEN),--token "$(OTA_TOKEN)") $(if $(FIRMWARE),--firmware) $(if $(IMAGE),--image "$(IMAGE)") $(if $(FORCE),--force) $(if $(or $(PIN),$(CERT)),--pin $(or $(PIN),$(CERT))) $(if $(NEWCERT),--new-cert "$(NEWCERT)") $(if $(ROMFS),--romfs)

logs: $(STAMP) ## Print the board's crash log over Wi-Fi (DEVICE=http://ip:port, OTA_TOKEN=; https:// with CERT= or PIN=)
	$(PY) -m tools.device.logs --device "$(DEVICE)" $(if $(OTA_TOKEN),--token "$(OTA_TOKEN)") $(if $(or $(PIN),$(CERT)),--pin $(or $(PIN),$(CERT)))

wifi: $(STAMP) ## Store Wi-Fi credentials on the board's filesystem (SSID=, PASSWORD=, PORT=, OTA_TOKEN=, WATCHDOG=seconds, CERT=: its certificate, HTTPS)
	$(PY) -m tools.device.wifi --ssid "$(SSID)" --password "$(PASSWORD)" $(if $(PORT),--port $(PORT)) $(if $(OTA_TOKEN),--ota-token "$(OTA_TOKEN)") $(if $(WATCHDOG),--watchdog $(WATCHDOG)) $(if $(CERT),--cert $(CERT))

erase: $(STAMP) ## Erase the board's whole flash (PORT=)
	$(PY) -m tools.device.flash --board $(BOARD) --erase-only $(if $(PORT),--port $(PORT))

monitor: $(STAMP) ## Open the board's serial REPL (PORT=)
	$(PY) -m tools.device.deploy --monitor $(if $(PORT),--port $(PORT))

size: $(STAMP) ## Show image size and free space of firmware/BOARD/
	$(PY) -m tools.build --board $(BOARD) --size

clean: ## Remove build outputs under firmware/ and caches
	python3 -m tools.dev.clean

test-hw: $(STAMP) ## Run the hardware suite: DEVICE=http://ip:port, PORT= (find IP), or the virtual board (UNIX; BOARD=X: with X's modules; BOARD=ESP32_C3_QEMU: under QEMU; CERT= or PIN=: pin an https:// DEVICE)
	$(PY) -m tools.suite.smoke $(if $(filter command line,$(origin BOARD)),--board $(BOARD)) $(if $(DEVICE),--device $(DEVICE)) $(if $(PORT),--port $(PORT)) $(if $(MICROPYTHON),--micropython $(MICROPYTHON)) $(if $(filter 0,$(NETNS)),--netns off) $(if $(or $(PIN),$(CERT)),-- --pin $(or $(PIN),$(CERT)))

smoke: $(STAMP) ## Deploy the smoke app to the board on PORT and run the hardware suite against it
	$(PY) -m tools.suite.smoke $(if $(filter command line,$(origin BOARD)),--board $(BOARD)) --deploy $(if $(PORT),--port $(PORT)) $(if $(DEVICE),--device $(DEVICE))

bench: $(STAMP) ## Benchmark against bare asyncio and upstream Microdot (MICROPY_DIR=: adds frozen Cortex-M3 heap under qemu)
	$(PY) -m tools.bench.compare $(if $(MICROPY_DIR),--micropy-dir $(MICROPY_DIR))

cert: $(STAMP) ## Make a board's EC P-256 key and self-signed certificate in CERT= (default certs/board; git-ignored), print its pin (FORCE=1: replace)
	$(PY) -m tools.device.cert --out $(or $(CERT),certs/board) $(if $(FORCE),--force)

soak: $(STAMP) ## Endurance run against the virtual board (bounded; not part of make test)
	$(PY) -m tools.bench.soak
