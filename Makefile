# The README's commands. Each installs librdkafka-dev first when it is missing.
SWIFT ?= swift

.PHONY: run test build release bench faults soak deps test-clients clean

## run: the main job — embedded Kafka, provider stand-in and a worker; demo prompts stream live.
run: deps
	$(SWIFT) build --product llmq
	.build/debug/llmq dev --config worker.conf

## test: unit and integration tests (mock cluster and provider stand-in over real sockets).
test: deps test-clients
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product llmq

## bench: the benchmark (release build); figures go to bench-results/ and are recorded in BENCHMARKS.md.
bench: release
	.build/release/llmq bench --output bench-results

## faults: the fault suite (kill -9, broker faults, provider faults, bad input, rolling restarts), ~2 minutes.
faults: deps
	$(SWIFT) build --product llmq
	.build/debug/llmq faults --json fault-results.json

## soak: the fault suite's long mode (2,000 jobs a phase, 10^5 bad payloads), ~15 minutes.
soak: deps
	$(SWIFT) build --product llmq
	.build/debug/llmq faults --soak --json fault-results.json

deps:
	@bash scripts/ensure-deps.sh

## test-clients: the real clients the gateway tests drive (OpenAI Python SDK in .venv-clients, Debian's chromium).
test-clients:
	@bash scripts/ensure-test-clients.sh

clean:
	rm -rf .build
