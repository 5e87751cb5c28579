"""Trains rocmforge's default model: a small llama-architecture language model on the King James
Bible (see prepare-corpus.mjs), with a byte-level BPE vocabulary trained on the same text.

    python3 tooling/model/train.py CORPUS.txt OUT_DIR [--steps N] [--seed S]

Writes to OUT_DIR:
  tokenizer.json   the byte-level BPE tokenizer (Hugging Face `tokenizers` format)
  model.bin        the weights in llama2.c's format (7-int32 header, float32 tensors), rounded
                   to float16 first, so that the float16 GGUF export is exact
  reference.json   token ids and PyTorch's last-position logits for a few prompts, computed
                   from exactly those weights (the export check compares the engine with these)
  training.json    settings, parameter count, and the loss curve (train and held-out)

Needs PyTorch and tokenizers (both on the GPU machine); runs on one GPU in a few minutes.
The model is llama2.c's: RMSNorm, rotary embeddings on adjacent pairs (the layout GGUF's llama
architecture uses), SwiGLU feed-forward, tied input/output embeddings.
"""

import argparse
import json
import math
import random
import struct
import time

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

EOT = "<|endoftext|>"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("out")
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--dim", type=int, default=288)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--context", type=int, default=512)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.15)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--held-out", type=float, default=0.05, help="fraction of chapters held out")
    p.add_argument("--seed", type=int, default=1611)
    return p.parse_args()


def train_tokenizer(chapters, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=2,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(chapters, trainer)
    assert tok.token_to_id(EOT) == 0
    return tok


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim, context, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
    angles = torch.outer(torch.arange(context).float(), freqs)
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x, cos, sin):
    # x: (batch, seq, heads, head_dim); rotate adjacent pairs (x0, x1), (x2, x3), ...
    xr = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    cos = cos[: x.shape[1]].view(1, x.shape[1], 1, -1)
    sin = sin[: x.shape[1]].view(1, x.shape[1], 1, -1)
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return out.flatten(-2).type_as(x)


class Block(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, h = a.dim, a.hidden
        self.heads = a.heads
        self.attention_norm = RMSNorm(d)
        self.wq = torch.nn.Linear(d, d, bias=False)
        self.wk = torch.nn.Linear(d, d, bias=False)
        self.wv = torch.nn.Linear(d, d, bias=False)
        self.wo = torch.nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d)
        self.w1 = torch.nn.Linear(d, h, bias=False)
        self.w2 = torch.nn.Linear(h, d, bias=False)
        self.w3 = torch.nn.Linear(d, h, bias=False)
        self.dropout = a.dropout

    def forward(self, x, cos, sin):
        b, s, d = x.shape
        hd = d // self.heads
        h = self.attention_norm(x)
        q = apply_rope(self.wq(h).view(b, s, self.heads, hd), cos, sin).transpose(1, 2)
        k = apply_rope(self.wk(h).view(b, s, self.heads, hd), cos, sin).transpose(1, 2)
        v = self.wv(h).view(b, s, self.heads, hd).transpose(1, 2)
        drop = self.dropout if self.training else 0.0
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        x = x + F.dropout(self.wo(att.transpose(1, 2).reshape(b, s, d)), drop, self.training)
        h = self.ffn_norm(x)
        return x + F.dropout(self.w2(F.silu(self.w1(h)) * self.w3(h)), drop, self.training)


class Llama(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embedding = torch.nn.Embedding(a.vocab, a.dim)
        self.layers = torch.nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.dim)
        cos, sin = rope_tables(a.dim // a.heads, a.context)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.dropout = a.dropout
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * a.layers) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                torch.nn.init.normal_(p, 0.0, std)

    def forward(self, tokens):
        x = F.dropout(self.embedding(tokens), self.dropout, self.training)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        return self.norm(x) @ self.embedding.weight.T


def batches(stream, a, generator):
    starts = torch.randint(0, len(stream) - a.context - 1, (a.batch,), generator=generator)
    x = torch.stack([stream[s : s + a.context + 1] for s in starts.tolist()])
    return x[:, :-1], x[:, 1:]


@torch.no_grad()
def held_out_loss(model, stream, a, device):
    model.eval()
    losses = []
    windows = range(0, len(stream) - a.context - 1, a.context)
    starts = list(windows)
    for i in range(0, len(starts), a.batch):
        x = torch.stack([stream[s : s + a.context + 1] for s in starts[i : i + a.batch]]).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x[:, :-1])
        losses.append(F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten(), reduction="sum"))
    model.train()
    return (torch.stack(losses).sum() / (len(starts) * a.context)).item()


def write_llama2c(model, a, path):
    """llama2.c's legacy format; a positive vocabulary size means the classifier is shared."""
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    L = range(a.layers)
    with open(path, "wb") as f:
        f.write(struct.pack("7i", a.dim, a.hidden, a.layers, a.heads, a.heads, a.vocab, a.context))
        tensors = [sd["embedding.weight"]]
        for name in ("attention_norm.weight", "wq.weight", "wk.weight", "wv.weight", "wo.weight",
                     "ffn_norm.weight", "w1.weight", "w2.weight", "w3.weight"):
            tensors += [sd[f"layers.{l}.{name}"] for l in L]
        tensors += [sd["norm.weight"], model.cos[: a.context], model.sin[: a.context]]
        for t in tensors:
            f.write(t.contiguous().float().cpu().numpy().tobytes())


def main():
    a = parse_args()
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    device = "cuda"
    text = open(a.corpus, encoding="utf-8").read()
    chapters = [c.strip() + "\n" for c in text.split("\n\n") if c.strip()]
    held = set(random.sample(range(len(chapters)), max(1, int(len(chapters) * a.held_out))))

    t0 = time.time()
    tok = train_tokenizer(chapters, a.vocab)
    tok.save(f"{a.out}/tokenizer.json")
    a.vocab = tok.get_vocab_size()

    def encode(indices):
        ids = []
        for i in indices:
            ids += [0] + tok.encode(chapters[i]).ids
        return torch.tensor(ids, dtype=torch.long)

    train_stream = encode(i for i in range(len(chapters)) if i not in held)
    held_stream = encode(sorted(held))
    print(f"tokenizer: {a.vocab} tokens in {time.time() - t0:.1f} s; train {len(train_stream)} tokens, "
          f"held out {len(held_stream)} ({len(held)} chapters); {len(text) / (len(train_stream) + len(held_stream)):.2f} chars/token",
          flush=True)

    model = Llama(a).to(device)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=a.lr, betas=(0.9, 0.95), fused=True,
    )
    generator = torch.Generator().manual_seed(a.seed)
    curve, best, best_state = [], float("inf"), None
    t0 = time.time()
    for step in range(a.steps + 1):
        if step % a.eval_every == 0 or step == a.steps:
            held_loss = held_out_loss(model, held_stream, a, device)
            curve.append({"step": step, "train": train_loss if step else None, "heldOut": held_loss})
            print(f"step {step}: train {curve[-1]['train']}, held out {held_loss:.4f} ({time.time() - t0:.0f} s)", flush=True)
            if held_loss < best:
                best, best_state = held_loss, {k: v.clone() for k, v in model.state_dict().items()}
        if step == a.steps:
            break
        lr = a.lr * (step + 1) / a.warmup if step < a.warmup else a.min_lr + 0.5 * (a.lr - a.min_lr) * (
            1 + math.cos(math.pi * (step - a.warmup) / (a.steps - a.warmup)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batches(train_stream, a, generator)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_loss = round(loss.item(), 4) if step % a.eval_every == a.eval_every - 1 else None
    seconds = time.time() - t0

    # Keep the best held-out checkpoint, with its matrices rounded to float16 as the GGUF stores them.
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(p.half().float())
    write_llama2c(model, a, f"{a.out}/model.bin")

    prompts = ["In the beginning God created", "And the LORD said unto Moses,", "Blessed are the"]
    reference = {"prompts": []}
    with torch.no_grad():
        for prompt in prompts:
            ids = [0] + tok.encode(prompt).ids
            logits = model(torch.tensor([ids], device=device)).float()[0, -1]
            greedy, seq = [], list(ids)
            for _ in range(24):
                nxt = int(model(torch.tensor([seq], device=device)).float()[0, -1].argmax())
                greedy.append(nxt)
                seq.append(nxt)
            reference["prompts"].append({
                "prompt": prompt,
                "ids": ids,
                "lastLogits": [round(v, 6) for v in logits.cpu().tolist()],
                "greedy": greedy,
                "greedyText": tok.decode(greedy),
            })
            print(f"{prompt!r} → {tok.decode(greedy)!r}", flush=True)
    json.dump(reference, open(f"{a.out}/reference.json", "w"))
    settings = {k: v for k, v in vars(a).items() if k not in ("corpus", "out")}
    json.dump({
        "settings": settings,
        "parameters": params,
        "trainTokens": len(train_stream),
        "heldOutTokens": len(held_stream),
        "bestHeldOutLoss": best,
        "seconds": round(seconds, 1),
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "curve": curve,
    }, open(f"{a.out}/training.json", "w"), indent=1)
    print(f"{params} parameters, best held-out loss {best:.4f}, {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
