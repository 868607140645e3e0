"""Batch augmentation on tensors: geometric jitter that mimics detector crops, and photometric noise.

The geometric part matters most: live crops come from a detector box plus a fixed margin,
so they are off by a few percent in scale and position and a few degrees in roll compared
with FER2013's own crops. Training on that jitter is what lets the live path match the dataset.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, gen: torch.Generator, max_rot_deg=12.0, scale=(0.88, 1.12), shift=0.08) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    ang = (torch.rand(n, generator=gen, device=dev) * 2 - 1) * math.radians(max_rot_deg)
    s = torch.empty(n, device=dev).uniform_(*scale, generator=gen)
    flip = torch.where(torch.rand(n, generator=gen, device=dev) < 0.5, -1.0, 1.0)
    tx = (torch.rand(n, generator=gen, device=dev) * 2 - 1) * shift * 2
    ty = (torch.rand(n, generator=gen, device=dev) * 2 - 1) * shift * 2
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def photometric(x: torch.Tensor, gen: torch.Generator, strength=0.25) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen, device=dev) * 2 - 1) * strength
    brightness = (torch.rand(n, 1, 1, 1, generator=gen, device=dev) * 2 - 1) * strength * 0.5
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + brightness
    noise = torch.randn(x.shape, generator=gen, device=dev) * 0.02
    return (x + noise).clamp(0, 1)


def random_erase(x: torch.Tensor, gen: torch.Generator, p=0.4, max_frac=0.3) -> torch.Tensor:
    n, _, h, w = x.shape
    out = x.clone()
    for i in torch.nonzero(torch.rand(n, generator=gen) < p).flatten().tolist():
        eh = int(h * float(torch.empty(1).uniform_(0.1, max_frac, generator=gen)))
        ew = int(w * float(torch.empty(1).uniform_(0.1, max_frac, generator=gen)))
        y0 = int(torch.randint(0, h - eh + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - ew + 1, (1,), generator=gen))
        out[i, :, y0:y0 + eh, x0:x0 + ew] = float(torch.rand(1, generator=gen))
    return out


def random_erase_batched(x: torch.Tensor, gen: torch.Generator, p=0.4, max_frac=0.3) -> torch.Tensor:
    """The same erasing as ``random_erase`` (a rectangle of 10-30% of each side, filled with one grey
    level, on a fraction ``p`` of the faces), drawn for the whole batch at once: no per-face Python
    loop and no host round trip, so it keeps a GPU busy. Its random stream differs from ``random_erase``."""
    n, _, h, w = x.shape
    dev = x.device
    on = torch.rand(n, generator=gen, device=dev) < p
    eh = (h * torch.empty(n, device=dev).uniform_(0.1, max_frac, generator=gen)).long()
    ew = (w * torch.empty(n, device=dev).uniform_(0.1, max_frac, generator=gen)).long()
    y0 = (torch.rand(n, generator=gen, device=dev) * (h - eh + 1)).long()
    x0 = (torch.rand(n, generator=gen, device=dev) * (w - ew + 1)).long()
    fill = torch.rand(n, generator=gen, device=dev)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    inside = ((rows >= y0.view(n, 1, 1)) & (rows < (y0 + eh).view(n, 1, 1))
              & (cols >= x0.view(n, 1, 1)) & (cols < (x0 + ew).view(n, 1, 1)) & on.view(n, 1, 1))
    return torch.where(inside.unsqueeze(1), fill.view(n, 1, 1, 1).to(x.dtype), x)


def camera(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """What a camera or a photograph does to a face that FER2013's crops rarely show, on a fraction ``p`` of
    the batch: lost resolution (down to 35-90% of the size and back up), blur (sigma up to 1.2 px), a gamma of
    0.6 to 1.6 (exposure) and sensor noise (up to 4% grey levels)."""
    n, _, h, w = x.shape
    dev = x.device
    on = torch.rand(n, generator=gen, device=dev) < p
    if not bool(on.any()):
        return x
    y = x[on]
    m = len(y)
    # resolution: each face through a smaller size and back (one size per batch keeps it one call)
    f = float(torch.empty(1).uniform_(0.35, 0.9, generator=gen))
    small = F.interpolate(y, size=(max(8, int(h * f)), max(8, int(w * f))), mode="area")
    y = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    # blur: a separable Gaussian of one sigma per batch
    sigma = float(torch.empty(1).uniform_(0.0, 1.2, generator=gen))
    if sigma > 0.3:
        k = torch.arange(-2, 3, dtype=y.dtype, device=dev)
        g = torch.exp(-k ** 2 / (2 * sigma ** 2))
        g = g / g.sum()
        y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), g.view(1, 1, 1, 5))
        y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), g.view(1, 1, 5, 1))
    gamma = torch.exp(torch.empty(m, 1, 1, 1, device=dev).uniform_(-0.5, 0.47, generator=gen))
    y = y.clamp(1e-4, 1) ** gamma
    y = y + torch.randn(y.shape, generator=gen, device=dev) * torch.rand(m, 1, 1, 1, generator=gen, device=dev) * 0.04
    out = x.clone()
    out[on] = y.clamp(0, 1).to(x.dtype)
    return out


def augment(x: torch.Tensor, gen: torch.Generator, camera_p: float = 0.0) -> torch.Tensor:
    """Geometric, photometric and erasing augmentation of a batch, drawn from ``gen``; with ``camera_p``,
    camera effects (``camera``) on that fraction of the faces first.

    On the CPU the erasing loops over faces (the stream every shipped model was trained with);
    on a GPU (``x`` and ``gen`` there) it is drawn for the batch at once."""
    if camera_p > 0:
        x = camera(x, gen, camera_p)
    x = photometric(random_affine(x, gen), gen)
    return random_erase(x, gen) if x.device.type == "cpu" else random_erase_batched(x, gen)
