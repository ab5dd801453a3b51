# The README's two commands: `make demo` (the main job) and `make test` (the test suite).
# Release builds of the tool may use CPU-specific flags; Package.swift stays free of unsafe flags.
SWIFT ?= swift
ARCH := $(shell uname -m)
# AVX2 + FMA (every x86-64 server since 2013): Swift's SIMD code runs at full width only with a target CPU.
CPU_FLAGS := $(if $(filter x86_64,$(ARCH)),-Xswiftc -target-cpu -Xswiftc haswell,)
# Checked (-O): a tool that serves HTTP and reads other people's files must trap on a bad index rather than
# corrupt memory. Kernels stay fast with wrapping arithmetic over unsafe pointers where the kernel tests prove
# the indices in range.
RELEASE_FLAGS = -c release $(CPU_FLAGS)
BIN = .build/release/text2grad

.PHONY: deps build test demo bench bench-train fixtures training-fixtures clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product text2grad

# Serial: Swift Testing runs tests on the cooperative pool (two threads here), and the CPU-bound training
# and model tests would starve the timers of the network and sandbox tests that measure time.
test: deps
	$(SWIFT) test --no-parallel

# Until `text2grad demo` exists, the main job runs the engine end to end on a tiny chat model from the
# fixtures (random weights, real tokenizer and chat template): LoRA SFT on a few summaries, generation
# before and after, the adapter merged into a plain Hugging Face model directory and generated from again.
DEMO_MODEL = Tests/Fixtures/models/chat-smollm
DEMO_PROMPT = Summarise: Mia moved to Lisbon in March with her cat Pico.
demo: build
	rm -rf runs/demo
	$(BIN) sft --model $(DEMO_MODEL) --data Tests/Fixtures/demo/sft.jsonl --eval-fraction 0.25 --steps 400 \
		--learning-rate 1e-2 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj -o runs/demo/sft
	@echo "== the base model (random weights) =="
	$(BIN) generate --model $(DEMO_MODEL) --prompt "$(DEMO_PROMPT)" --max-tokens 32
	@echo "== with the LoRA adapter from runs/demo/sft =="
	$(BIN) generate --model $(DEMO_MODEL) --adapter runs/demo/sft/checkpoints/step-400 --prompt "$(DEMO_PROMPT)" --max-tokens 32
	$(BIN) merge-lora --model $(DEMO_MODEL) --adapter runs/demo/sft/checkpoints/step-400 -o runs/demo/merged
	@echo "== the merged model in runs/demo/merged =="
	$(BIN) generate --model runs/demo/merged --prompt "$(DEMO_PROMPT)" --max-tokens 32

bench: build
	$(BIN) bench forward --shape smollm-135m --batch 4 --seq 256 --threads 2

# Both engines in one run, each mode in its own process (peak memory is per process).
bench-train: build
	$(BIN) bench train --mode full --shape smollm-135m --batch 4 --seq 256 --threads 2
	python3 bench/torch_train.py --mode full --batch 4 --seq 256 --threads 2
	$(BIN) bench train --mode lora --shape smollm-135m --batch 4 --seq 256 --threads 2
	python3 bench/torch_train.py --mode lora --batch 4 --seq 256 --threads 2

fixtures:
	python3 scripts/make_model_fixtures.py

# After `fixtures`; the Swift-written adapter comes from `T2G_WRITE_FIXTURES=1 swift test --filter LoRATests`.
training-fixtures:
	python3 scripts/make_training_fixtures.py

clean:
	rm -rf .build
