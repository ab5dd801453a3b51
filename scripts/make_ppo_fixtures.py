#!/usr/bin/env python3
"""Writes the PPO fixture the Swift tests compare against (Tests/Fixtures/ppo/).

Never run by the tests: run it by hand after `pip install torch transformers peft safetensors` and
scripts/make_training_fixtures.py (it reuses the tiny qwen2-tied model and its peft-written adapter).

It follows TRL's PPO formulas on one fixed rollout of three right-padded (query, response) rows:
- the policy (base + LoRA adapter) and the reference (adapter disabled) at temperature T: per-token
  log-probabilities of the response tokens, entropies, and a value head on the last (normed) hidden state;
- given old log-probabilities and old values (the policy's plus fixed noise, so that clipping happens), the
  k1 KL, rewards r = s - beta * kl with fixed token scores s, GAE (gamma, lambda), whitened advantages (masked,
  unbiased variance), returns;
- the loss of one mini-batch: clipped policy loss + vf_coef * clipped value loss - entropy_coef * mean entropy,
  and its gradient for every LoRA and value-head parameter.
"""
import json
import os

import torch
from peft import PeftModel
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "Tests", "Fixtures", "models", "qwen2-tied")
ADAPTER = os.path.join(HERE, "..", "Tests", "Fixtures", "training", "lora-qwen2-tied")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "ppo")

QUERIES = [[1, 17, 200, 33], [1, 45, 46, 47, 48, 49], [1, 3]]
RESPONSES = [[99, 150, 7, 8, 250], [12, 5], [9, 27, 81, 243, 128, 64, 2]]
SCORES = [[1, 1, 0, -1, -1], [-1, 0], [0, 1, 1, 0, -1, -1, 0]]
PARAMS = dict(temperature=0.7, kl_coef=0.05, gamma=1.0, lam=0.95, cliprange=0.2, cliprange_value=0.2, vf_coef=0.1,
              entropy_coef=0.01)


def masked_mean(x, m):
    return (x * m).sum() / m.sum()


def masked_var(x, m):
    mean = masked_mean(x, m)
    var = masked_mean((x - mean) ** 2, m)
    n = m.sum()
    return var * n / (n - 1)


def masked_whiten(x, m):
    return (x - masked_mean(x, m)) * torch.rsqrt(masked_var(x, m) + 1e-8)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, ADAPTER, is_trainable=True)
    C = base.config.hidden_size
    head = torch.nn.Linear(C, 1)
    with torch.no_grad():
        head.weight.copy_(0.3 * torch.randn(1, C))
        head.bias.copy_(torch.tensor([0.1]))
    save_file({"v_head.summary.weight": head.weight.detach().contiguous(),
               "v_head.summary.bias": head.bias.detach().contiguous()}, os.path.join(OUT, "value_head.safetensors"))

    B = len(QUERIES)
    seqs = [q + r for q, r in zip(QUERIES, RESPONSES)]
    T = max(map(len, seqs))
    L = max(map(len, RESPONSES))
    ids = torch.zeros(B, T, dtype=torch.long)
    attn = torch.zeros(B, T, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s)
        attn[b, :len(s)] = 1
    mask = torch.zeros(B, L)
    scores = torch.zeros(B, L)
    for b, r in enumerate(RESPONSES):
        mask[b, :len(r)] = 1
        scores[b, :len(r)] = torch.tensor(SCORES[b], dtype=torch.float32)
    temp = PARAMS["temperature"]

    def response_rows(x):
        """(B, T, ...) values at the positions that predict each response token -> (B, L, ...), zero padded."""
        out = torch.zeros((B, L) + x.shape[2:], dtype=x.dtype)
        for b, (q, r) in enumerate(zip(QUERIES, RESPONSES)):
            P = len(q)
            out[b, :len(r)] = x[b, P - 1:P - 1 + len(r)]
        return out

    def forward():
        out = model(ids, attention_mask=attn, output_hidden_states=True)
        logits = out.logits / temp
        logp_all = torch.log_softmax(logits, dim=-1)
        resp_ids = torch.zeros(B, L, dtype=torch.long)
        for b, r in enumerate(RESPONSES):
            resp_ids[b, :len(r)] = torch.tensor(r)
        lp = response_rows(logp_all)
        logp = torch.gather(lp, 2, resp_ids.unsqueeze(-1)).squeeze(-1)
        entropy = -(lp.exp() * lp).sum(-1)
        hidden = out.hidden_states[-1]
        values = response_rows(head(hidden).squeeze(-1))
        return logp, entropy, values

    with torch.no_grad():
        with model.disable_adapter():
            ref_logp, _, _ = forward()
    logp, entropy, values = forward()

    g = torch.Generator().manual_seed(7)
    old_logp = (logp.detach() + 0.3 * torch.randn(B, L, generator=g)) * mask
    old_values = (values.detach() + 0.3 * torch.randn(B, L, generator=g)) * mask
    kl = (old_logp - ref_logp) * mask
    rewards = (scores - PARAMS["kl_coef"] * kl) * mask

    # GAE as TRL: values after the last response token are 0.
    adv = torch.zeros(B, L)
    for b, r in enumerate(RESPONSES):
        last = 0.0
        for t in reversed(range(len(r))):
            nv = old_values[b, t + 1] if t + 1 < len(r) else 0.0
            delta = rewards[b, t] + PARAMS["gamma"] * nv - old_values[b, t]
            last = delta + PARAMS["gamma"] * PARAMS["lam"] * last
            adv[b, t] = last
    returns = adv + old_values
    advantages = masked_whiten(adv, mask) * mask

    ratio = torch.exp(logp - old_logp)
    eps = PARAMS["cliprange"]
    pg1 = -advantages * ratio
    pg2 = -advantages * torch.clamp(ratio, 1 - eps, 1 + eps)
    pg_loss = masked_mean(torch.max(pg1, pg2), mask)
    vclip = torch.clamp(values, old_values - PARAMS["cliprange_value"], old_values + PARAMS["cliprange_value"])
    vf1 = (values - returns) ** 2
    vf2 = (vclip - returns) ** 2
    vf_loss = 0.5 * masked_mean(torch.max(vf1, vf2), mask)
    ent = masked_mean(entropy, mask)
    loss = pg_loss + PARAMS["vf_coef"] * vf_loss - PARAMS["entropy_coef"] * ent
    loss.backward()

    tensors = {
        "logp": logp.detach(), "entropy": entropy.detach(), "values": values.detach(), "ref_logp": ref_logp,
        "old_logp": old_logp, "old_values": old_values, "kl": kl, "rewards": rewards, "advantages": advantages,
        "returns": returns, "mask": mask, "scores": scores,
        "pg_loss": pg_loss.detach().reshape(1), "vf_loss": vf_loss.detach().reshape(1), "entropy_mean": ent.detach().reshape(1),
        "loss": loss.detach().reshape(1),
        "pg_clipfrac": masked_mean((pg2 > pg1).float(), mask).reshape(1),
        "vf_clipfrac": masked_mean((vf2 > vf1).float(), mask).reshape(1),
        "grad.v_head.summary.weight": head.weight.grad.contiguous(), "grad.v_head.summary.bias": head.bias.grad.contiguous(),
    }
    for name, p in model.named_parameters():
        if p.requires_grad and p.grad is not None:
            tensors["grad." + name.replace(".default", "")] = p.grad.contiguous()
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, "expected.safetensors"))
    with open(os.path.join(OUT, "rollout.json"), "w") as f:
        json.dump(dict(queries=QUERIES, responses=RESPONSES, **PARAMS), f, indent=1)
    print("ppo fixture: loss", loss.item(), "pg", pg_loss.item(), "vf", vf_loss.item(),
          "clipfrac", tensors["pg_clipfrac"].item(), "vf clipfrac", tensors["vf_clipfrac"].item(),
          len([k for k in tensors if k.startswith("grad.")]), "gradients")


if __name__ == "__main__":
    main()
