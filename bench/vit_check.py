"""Check the bundled ViT specs against torchvision's VisionTransformer: weights by name, outputs, counts.

Run with a Python that has torchvision (a reference venv, not a dependency of archscope):
    PYTHONPATH=. /path/to/venv/bin/python bench/vit_check.py [vit_b_16 vit_b_32 ...] [--counts-only]
For each model: torchvision's model (eval; every weight redrawn from N(0, 0.05²), as torchvision
zero-inits the head) and archscope's build of the bundled spec;
torchvision's ``state_dict`` is renamed by the four rules below and loaded into the build with
``strict=True`` (every tensor, no extra, equal shapes); both run one random batch and the outputs
must agree (|a − b| ≤ 1e-4·max|b| + 1e-5). Then the counts: archscope's params must equal
``sum(p.numel())`` of torchvision's model, and archscope's MACs torch.utils.flop_counter's FLOPs / 2
(grad on, so that nn.MultiheadAttention takes its Python path, and the math SDPA kernel, whose two
``bmm`` the counter sees), and the published ``_ops`` rounded to 3 decimals. ``--counts-only`` skips
the forward (vit_h_14 at 518 is slow on a CPU).

The renames (torchvision key → archscope key), each said in vit_b_16.yaml's header:
  encoder.layers.encoder_layer_{i}.  → encoder.layers.{i}.    (a repeat's instances are numbered)
  .mlp.0. / .mlp.3.                  → .mlp.linear_1. / .mlp.linear_2.  (MLPBlock's names before 0.13)
  class_token                        → class_token.class_token          (a layer holds the parameter)
  encoder.pos_embedding              → encoder.pos_embedding.pos_embedding
"""

from __future__ import annotations

import argparse
import re
import sys

MODELS = ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"]
IMAGE_SIZE = {"vit_h_14": 518}  # its default weights' crop (IMAGENET1K_SWAG_E2E_V1); the others 224
WEIGHTS = {"vit_h_14": "IMAGENET1K_SWAG_E2E_V1"}  # the others IMAGENET1K_V1


def archscope_key(key: str) -> str:
    """torchvision's state_dict key → the key of archscope's build of the spec."""
    key = re.sub(r"^encoder\.layers\.encoder_layer_(\d+)\.", r"encoder.layers.\1.", key)
    key = re.sub(r"\.mlp\.0\.", ".mlp.linear_1.", key)
    key = re.sub(r"\.mlp\.3\.", ".mlp.linear_2.", key)
    return {
        "class_token": "class_token.class_token",
        "encoder.pos_embedding": "encoder.pos_embedding.pos_embedding",
    }.get(key, key)


def check(name: str, forward: bool) -> bool:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    from torchvision.models import get_model, get_model_weights

    import archscope

    size = IMAGE_SIZE.get(name, 224)
    torch.manual_seed(0)
    reference = get_model(name, image_size=size).eval()
    analysis = archscope.analyze(name)
    totals = analysis.report.totals
    numel = sum(p.numel() for p in reference.parameters())
    x = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        reference(x)
    flop_macs = counter.get_total_flops() // 2
    meta = get_model_weights(name)[WEIGHTS.get(name, "IMAGENET1K_V1")].meta
    ok = totals.params == numel == meta["num_params"] and totals.macs == flop_macs
    ok = ok and round(totals.macs / 1e9, 3) == meta["_ops"]
    print(
        f"{name} @{size}: params archscope {totals.params:,} numel {numel:,} published {meta['num_params']:,}; "
        f"MACs archscope {totals.macs:,} FlopCounterMode/2 {flop_macs:,} published _ops {meta['_ops']}"
    )
    if forward:
        with torch.no_grad():  # torchvision zero-inits the head and the class token: outputs would be 0
            for p in reference.parameters():
                p.normal_(std=0.05)
        built = archscope.build(analysis).eval()
        renamed = {archscope_key(k): v for k, v in reference.state_dict().items()}
        built.load_state_dict(renamed, strict=True)  # every tensor by name, shapes equal, nothing extra
        batch = torch.randn(2, 3, size, size)
        with torch.no_grad():
            want, got = reference(batch), built(batch)
        error = (got - want).abs().max().item()
        bound = 1e-4 * want.abs().max().item() + 1e-5
        print(f"  weights loaded by name ({len(renamed)} tensors); outputs max |a - b| {error:.2e} (bound {bound:.2e})")
        ok = ok and error <= bound
    print(f"  {'ok' if ok else 'MISMATCH'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=MODELS)
    parser.add_argument("--counts-only", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    results = [check(name, not args.counts_only) for name in args.names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
