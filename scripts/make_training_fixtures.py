#!/usr/bin/env python3
"""Writes the training fixtures the Swift tests compare against (Tests/Fixtures/training/).

Never run by the tests: run it by hand (`make training-fixtures`) after `pip install torch transformers peft
safetensors`, after scripts/make_model_fixtures.py (it reuses those tiny models). Outputs:

- grads-<model>.safetensors: for a right-padded batch, the masked mean token cross-entropy
  (targets = next token, some prompt positions masked out) and every parameter's gradient, fp32.
- lora-<model>/: an adapter written by `peft` (random A and B, so gradients flow to both), and
  expected.safetensors with the adapted logits, the loss and the LoRA-only gradients (PEFT key names).
- swift-adapter/expected.safetensors: logits of the adapter the Swift tests write (committed in swift-adapter/),
  loaded into the base model by `peft` — the other direction of the round trip.
- `python3 scripts/make_training_fixtures.py NAME...` rewrites only the gradients and adapters of the named models.
- adamw.safetensors: torch.optim.AdamW over 6 steps with given gradients, after global-norm clipping by
  torch.nn.utils.clip_grad_norm_, and the learning rates of transformers' schedules.
"""
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup, \
    get_linear_schedule_with_warmup

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "Tests", "Fixtures", "models")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "training")

# Right-padded batch (pad id 0), and the first `prompt` positions of each row carry no loss.
SEQUENCES = [[1, 17, 200, 33, 4, 99, 150, 7, 8, 250, 61, 12, 5], [1, 45, 46, 47, 2], [1, 3, 9, 27, 81, 243, 128, 64]]
PROMPT = [4, 1, 3]


def batch():
    T = max(map(len, SEQUENCES))
    ids = torch.zeros(len(SEQUENCES), T, dtype=torch.long)
    mask = torch.zeros(len(SEQUENCES), T, dtype=torch.long)
    targets = torch.full((len(SEQUENCES), T), -100, dtype=torch.long)
    for b, s in enumerate(SEQUENCES):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1
        for t in range(PROMPT[b] - 1, len(s) - 1):
            targets[b, t] = s[t + 1]
    return ids, mask, targets


def masked_mean_ce(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def load(name):
    return AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32,
                                                attn_implementation="eager")


def full_gradients(name):
    model = load(name)
    ids, mask, targets = batch()
    loss = masked_mean_ce(model(ids, attention_mask=mask).logits, targets)
    loss.backward()
    tensors = {"loss": loss.detach().reshape(1)}
    for pname, p in model.named_parameters():
        tensors["grad." + pname] = p.grad.contiguous()
    save_file(tensors, os.path.join(OUT, f"grads-{name}.safetensors"))
    print(name, "loss", loss.item(), len(tensors) - 1, "gradients")


def lora_gradients(name, rslora, targets_modules, seed):
    torch.manual_seed(seed)
    model = load(name)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, use_rslora=rslora, target_modules=targets_modules,
                        task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for pname, p in peft_model.named_parameters():
            if "lora_" in pname:
                p.copy_(0.3 * torch.randn(p.shape))
    out = os.path.join(OUT, f"lora-{name}")
    peft_model.save_pretrained(out)
    os.remove(os.path.join(out, "README.md"))
    ids, mask, targets = batch()
    logits = peft_model(ids, attention_mask=mask).logits
    loss = masked_mean_ce(logits, targets)
    loss.backward()
    tensors = {"loss": loss.detach().reshape(1), "logits": logits.detach().contiguous()}
    for pname, p in peft_model.named_parameters():
        if p.requires_grad:
            # base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight → PEFT's saved key
            tensors["grad." + pname.replace(".default", "")] = p.grad.contiguous()
    save_file(tensors, os.path.join(out, "expected.safetensors"))
    print(f"lora-{name}", "loss", loss.item(), len(tensors) - 2, "gradients")


def swift_adapter():
    directory = os.path.join(OUT, "swift-adapter")
    if not os.path.exists(os.path.join(directory, "adapter_config.json")):
        print("swift-adapter: missing (run the Swift test LoRATests to write it), skipped")
        return
    with open(os.path.join(directory, "base.txt")) as f:
        base = f.read().strip()
    model = PeftModel.from_pretrained(load(base), directory)
    ids, mask, _ = batch()
    with torch.no_grad():
        logits = model(ids, attention_mask=mask).logits
    save_file({"logits": logits.contiguous()}, os.path.join(directory, "expected.safetensors"))
    print("swift-adapter: peft logits recorded")


def adamw():
    g = torch.Generator().manual_seed(3)
    shapes = {"a": (3, 5), "b": (7,), "c": (2, 2, 3)}
    params = {k: torch.randn(s, generator=g).requires_grad_() for k, s in shapes.items()}
    tensors = {f"initial.{k}": p.detach().clone() for k, p in params.items()}
    optimizer = torch.optim.AdamW(params.values(), lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    for step in range(6):
        for k, p in params.items():
            p.grad = torch.randn(shapes[k], generator=g) * (3.0 if step % 2 else 0.1)
            tensors[f"grad.{step}.{k}"] = p.grad.clone()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=1.0)
        tensors[f"norm.{step}"] = norm.reshape(1)
        optimizer.step()
        for k, p in params.items():
            tensors[f"after.{step}.{k}"] = p.detach().clone()
    # Schedules: 10 warmup steps of 50.
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    for kind, make in [("constant", get_constant_schedule_with_warmup(dummy, 10)),
                       ("linear", get_linear_schedule_with_warmup(dummy, 10, 50)),
                       ("cosine", get_cosine_schedule_with_warmup(dummy, 10, 50))]:
        tensors[f"schedule.{kind}"] = torch.tensor([make.lr_lambda(step) if hasattr(make, "lr_lambda")
                                                    else make.lr_lambdas[0](step) for step in range(55)])
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, "adamw.safetensors"))
    print("adamw: 6 steps")


ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA = [("llama3-sharded", False, ALL_MODULES, 1), ("qwen2-tied", True, ["q_proj", "v_proj", "down_proj"], 2),
        ("qwen3-norms", False, ALL_MODULES, 3), ("gemma3-local", True, ["q_proj", "k_proj", "o_proj", "up_proj", "down_proj"], 4)]


def main():
    os.makedirs(OUT, exist_ok=True)
    wanted = set(sys.argv[1:])
    torch.manual_seed(0)
    for name in ["llama3-sharded", "qwen2-tied", "mistral-window", "qwen3-norms", "gemma3-local", "gemma3-softcap"]:
        if not wanted or name in wanted:
            full_gradients(name)
    for name, rslora, modules, seed in LORA:
        if not wanted or name in wanted:
            lora_gradients(name, rslora, modules, seed)
    if wanted:
        return
    swift_adapter()
    adamw()
    with open(os.path.join(OUT, "batch.json"), "w") as f:
        json.dump({"sequences": SEQUENCES, "prompt": PROMPT, "padding": "right", "pad_id": 0}, f)


if __name__ == "__main__":
    main()
