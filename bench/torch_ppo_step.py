#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench ppo`: one PPO step with TRL's formulas on the same random model (or
--model directory), sizes and thread count, printed as the same JSON with the same phases.

A step, as text2grad's PPO objective runs it (and TRL's PPOTrainer, whose formulas each phase follows):
- rollout: `generate` samples --batch responses of exactly --max-new-tokens tokens (temperature 0.7, no top-k or
  top-p) to random prompts of --prompt-tokens ids;
- score: a synthetic per-token span score: +1 on one random span and -1 on another of each response (token mode),
  or their sum on the last token (scalar mode). text2grad's built-in critic runs only in Swift; its cost is its own
  phase there and is not what is compared;
- old_policy: the policy's forward (no gradient), in mini-batches, for the log-probabilities of the sampled tokens
  at the sampling temperature and the values of a value head (a linear layer on the final normed hidden state, on
  the policy's trunk, as in text2grad; TRL takes the log-probabilities from `generate`'s logits and the values
  from a separate value model);
- reference: the reference's forward (the adapter disabled under LoRA, as TRL does with peft; a frozen copy when
  every weight trains), the per-token KL k1 = log pi - log pi_ref, and the rewards r_t = s_t - beta * k1_t;
- advantages: GAE (gamma, lambda) backwards over the response, returns = advantages + values, advantages whitened
  (TRL's masked_whiten, unbiased variance);
- optimize: --epochs passes over shuffled mini-batches of --mini-batch rollouts: the clipped surrogate (0.2), the
  clipped value loss 0.5 * max((v - R)^2, (v_clip - R)^2) weighted by vf_coef 0.1, the entropy of each position for
  the statistics (no gradient), a mini-batch skipped when its mean ratio exceeds 10, gradient norm clipped at 1,
  AdamW on the LoRA adapter (peft, r --lora-rank, alpha 2r, on q/k/v/o) or every weight, and the value head.

    python3 bench/torch_ppo_step.py --shape demo-tiny --threads 2
    python3 bench/torch_ppo_step.py --shape smollm-135m --batch 8 --max-new-tokens 48 --lora-rank 16 --threads 2
"""
import copy
import json
import resource
import statistics
import time
from contextlib import nullcontext

import torch

from common import parser, random_model, seconds_fields, timed

# The sizes `text2grad bench ppo` defaults to: the demo's PPO at its shape, else train-policy's defaults.
DEFAULTS = {"demo-tiny": dict(batch=16, mini_batch=8, max_new_tokens=40)}
TRAIN_POLICY = dict(batch=8, mini_batch=4, max_new_tokens=48)
PHASES = ["rollout", "score", "old_policy", "reference", "advantages", "optimize"]


def options():
    p = parser(batch=None, seq=None, iterations=5)
    p.add_argument("--mini-batch", type=int, help="rollouts per optimizer update (default: 4; 8 at demo-tiny)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--prompt-tokens", type=int, default=85)
    p.add_argument("--max-new-tokens", type=int, help="sampled tokens per response (default: 48; 40 at demo-tiny)")
    p.add_argument("--lora-rank", type=int, default=16, help="0 trains every weight against a frozen copy")
    p.add_argument("--base-precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: the model's passes under torch.autocast(bfloat16), PyTorch's counterpart of "
                        "text2grad's base_precision: bf16")
    p.add_argument("--reward-mode", default="token", choices=["token", "scalar"])
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--kl-coef", type=float, default=0.05)
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--lam", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    sizes = DEFAULTS.get(args.shape, TRAIN_POLICY) if not args.model else TRAIN_POLICY
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum()


def masked_whiten(x, mask):
    """TRL's masked_whiten: (x - mean) / sqrt(var + 1e-8), the variance unbiased."""
    mean = masked_mean(x, mask)
    variance = masked_mean((x - mean) ** 2, mask) * (mask.sum() / (mask.sum() - 1))
    return (x - mean) * torch.rsqrt(variance + 1e-8)


class Policy:
    """The model (with its LoRA adapter under peft), the value head on its trunk, and the reference."""

    def __init__(self, args):
        self.bf16 = args.base_precision == "bf16"
        model = random_model(args)
        self.config = model.config
        self.parameter_count = sum(p.numel() for p in model.parameters())
        self.frozen = None
        if args.lora_rank > 0:
            from peft import LoraConfig, get_peft_model
            model = get_peft_model(model, LoraConfig(
                r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0,
                target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"))
            self.causal = model.get_base_model()
        else:
            self.frozen = copy.deepcopy(model).eval().requires_grad_(False)
            self.causal = model
        self.model = model
        self.value_head = torch.nn.Linear(self.config.hidden_size, 1)
        torch.nn.init.normal_(self.value_head.weight, std=1 / (self.config.hidden_size + 1))
        torch.nn.init.zeros_(self.value_head.bias)
        self.trainable = [p for p in model.parameters() if p.requires_grad] + list(self.value_head.parameters())

    def forward(self, ids, reference=False):
        """(B, T, V) logits and (B, T) values of the policy, or the reference's logits."""
        causal = self.frozen if reference and self.frozen is not None else self.causal
        adapter_off = self.model.disable_adapter() if reference and self.frozen is None else nullcontext()
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)
        with adapter_off, autocast:
            hidden = causal.model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            logits = causal.lm_head(hidden)
        hidden, logits = hidden.float(), logits.float()
        return logits, (None if reference else self.value_head(hidden).squeeze(-1))


def log_probabilities(logits, tokens, temperature):
    """log softmax(logits / T)[token] of the positions that predict the response (B, R)."""
    logits = logits / temperature
    return torch.gather(logits, 2, tokens.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def ppo_step(args, policy, optimizer, prompts, generator, phases):
    """One PPO step; appends each phase's seconds to `phases`; returns the step's figures."""
    B, P, R, M = args.batch, args.prompt_tokens, args.max_new_tokens, args.mini_batch
    clock = [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        phases[name].append(now - clock[0])
        clock[0] = now

    # Phase 1: rollout.
    policy.model.eval()
    with torch.no_grad():
        sequences = policy.model.generate(
            input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=True, temperature=args.temperature,
            top_k=0, top_p=1.0, max_new_tokens=R, min_new_tokens=R, pad_token_id=0)
    responses = sequences[:, P:]
    mask = torch.ones(B, R)
    lap("rollout")

    # Phase 2: score (synthetic spans of the built-in critic's kind: one praised, one blamed per response).
    scores = torch.zeros(B, R)
    for b in range(B):
        for value in (1.0, -1.0):
            length = int(torch.randint(1, 7, (1,), generator=generator))
            start = int(torch.randint(0, R - length + 1, (1,), generator=generator))
            scores[b, start:start + length] += value
    if args.reward_mode == "scalar":
        total = scores.sum(dim=1)
        scores = torch.zeros(B, R)
        scores[:, -1] = total
    lap("score")

    # Phase 3a: the old policy's log-probabilities and values.
    old_logprobs, old_values = torch.zeros(B, R), torch.zeros(B, R)
    with torch.no_grad():
        for s in range(0, B, M):
            logits, values = policy.forward(sequences[s:s + M])
            old_logprobs[s:s + M] = log_probabilities(logits[:, P - 1:-1], responses[s:s + M], args.temperature)
            old_values[s:s + M] = values[:, P - 1:-1]
    lap("old_policy")

    # Phase 3b: the reference, the KL and the rewards.
    reference_logprobs = torch.zeros(B, R)
    with torch.no_grad():
        for s in range(0, B, M):
            logits, _ = policy.forward(sequences[s:s + M], reference=True)
            reference_logprobs[s:s + M] = log_probabilities(logits[:, P - 1:-1], responses[s:s + M], args.temperature)
    kl = (old_logprobs - reference_logprobs) * mask
    rewards = scores - args.kl_coef * kl
    lap("reference")

    # Phase 4: advantages (GAE), returns, whitening.
    last, reversed_advantages = torch.zeros(B), []
    for t in reversed(range(R)):
        next_values = old_values[:, t + 1] if t < R - 1 else 0.0
        delta = rewards[:, t] + args.gamma * next_values - old_values[:, t]
        last = delta + args.gamma * args.lam * last
        reversed_advantages.append(last)
    advantages = torch.stack(reversed_advantages[::-1], dim=1)
    returns = advantages + old_values
    advantages = masked_whiten(advantages, mask) * mask
    lap("advantages")

    # Phase 5: optimize.
    policy.model.train()
    skipped = 0
    for _ in range(args.epochs):
        order = torch.randperm(B, generator=generator)
        for s in range(0, B, M):
            rows = order[s:s + M]
            logits, values = policy.forward(sequences[rows])
            logits = logits[:, P - 1:-1] / args.temperature
            new_logprobs = torch.gather(logits, 2, responses[rows].unsqueeze(-1)).squeeze(-1) \
                - torch.logsumexp(logits, dim=-1)
            values = values[:, P - 1:-1]
            mb_mask, mb_old_values, mb_returns = mask[rows], old_values[rows], returns[rows]
            clipped_values = torch.clamp(values, mb_old_values - 0.2, mb_old_values + 0.2)
            value_loss = 0.5 * masked_mean(torch.max((values - mb_returns) ** 2, (clipped_values - mb_returns) ** 2),
                                           mb_mask)
            log_ratio = torch.clamp(new_logprobs - old_logprobs[rows], -20, 20)
            ratio = torch.exp(log_ratio)
            mb_advantages = advantages[rows]
            policy_loss = masked_mean(torch.max(-mb_advantages * ratio,
                                                -mb_advantages * torch.clamp(ratio, 0.8, 1.2)), mb_mask)
            loss = policy_loss + 0.1 * value_loss
            with torch.no_grad():  # the statistics TRL logs: the entropy and the mean ratio
                probabilities = torch.softmax(logits, dim=-1)
                entropy = masked_mean(torch.logsumexp(logits, dim=-1) - (probabilities * logits).sum(dim=-1), mb_mask)
                mean_ratio = float(masked_mean(ratio, mb_mask))
            if mean_ratio > 10:
                skipped += 1
                continue
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.trainable, 1.0)
            optimizer.step()
    lap("optimize")
    return {"skipped": skipped, "kl": float(kl.sum(dim=1).mean()), "tokens": float(mask.sum())}


def main():
    args = options()
    torch.manual_seed(args.seed)
    policy = Policy(args)
    optimizer = torch.optim.AdamW(policy.trainable, lr=args.learning_rate, weight_decay=0.0)
    generator = torch.Generator().manual_seed(args.seed)
    # Random prompts, avoiding the first ids (the special tokens of the demo's and SmolLM's tokenizers).
    prompts = torch.randint(3, policy.config.vocab_size, (args.batch, args.prompt_tokens), generator=generator)
    phases = {name: [] for name in PHASES}
    times, last = timed(lambda: ppo_step(args, policy, optimizer, prompts, generator, phases),
                        args.warmup, args.iterations)
    timed_phases = {name: values[args.warmup:] for name, values in phases.items()}
    print(json.dumps({
        **seconds_fields(times),
        "bench": "ppo", "engine": f"pytorch {torch.__version__} ({args.attention})",
        "base_precision": args.base_precision,
        "model": args.model or args.shape, "mode": "lora" if args.lora_rank > 0 else "full",
        "lora_rank": args.lora_rank, "reward_mode": args.reward_mode, "critic": "synthetic spans",
        "batch": args.batch, "mini_batch": args.mini_batch, "epochs": args.epochs,
        "prompt_tokens": args.prompt_tokens, "new_tokens": args.max_new_tokens, "threads": args.threads,
        "vocab_size": policy.config.vocab_size, "parameters": policy.parameter_count,
        "trainable_parameters": sum(p.numel() for p in policy.trainable), "rollout_weights": "fp32",
        "seconds": statistics.median(times),
        "phases": {name: seconds_fields(values) for name, values in timed_phases.items()},
        "phase_seconds": {name: statistics.median(values) for name, values in timed_phases.items()},
        "response_tokens": last["tokens"], "updates": args.epochs * -(-args.batch // args.mini_batch),
        "skipped_minibatches": last["skipped"], "kl": last["kl"],
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
