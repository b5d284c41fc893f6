"""Models that meet each of the meta device's limits (and two whose errors are their own), for
the device-fallback policy tests."""

import torch
from torch import nn


class MaskAny(nn.Module):
    """Reads its input mask's values (``if mask.all()``), as Hugging Face attention does."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if mask.all():
            return self.fc(x)
        return self.fc(x * mask[..., None])


class NonzeroOnWeights(nn.Module):
    """Keeps the rows that its own layer scores above zero: the shape depends on the weights."""

    def __init__(self) -> None:
        super().__init__()
        self.score = nn.Linear(8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.nonzero(self.score(x).squeeze(-1) >= 0).squeeze(-1)
        return self.head(x[keep])


class ChecksItsWeights(nn.Module):
    """Validates values made from its weights before using them, as Gemma 3n's MLP does
    through torch.distributions: an all-check, then a Normal with validated parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Linear(8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = self.scale(x).abs().mean() + 1
        if not torch.isfinite(std).all():
            raise ValueError("non-finite scale")
        noise = torch.distributions.Normal(torch.zeros((), device=std.device), std)
        return self.head(x) + noise.loc


class PackedLengths(nn.Module):
    """An LSTM over a packed batch whose lengths are made in forward: on meta they have no
    values, and pack_padded_sequence refuses them (it reads lengths on cpu)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = torch.tensor([x.shape[1]] * x.shape[0])
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
        out, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True)
        return self.fc(out[:, -1])


class GroupedExperts(nn.Module):
    """Two experts in one grouped matmul, in float32 (meta's kernel takes bf16/fp16 only)."""

    def __init__(self) -> None:
        super().__init__()
        self.experts = nn.Parameter(torch.zeros(2, 8, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offs = torch.tensor([x.shape[0] // 2, x.shape[0]], dtype=torch.int32, device=x.device)
        return torch._grouped_mm(x, self.experts, offs=offs)


@torch.library.custom_op("netinspect_tests::double", mutates_args=())
def double(x: torch.Tensor) -> torch.Tensor:
    """A custom op with a cpu kernel and no meta (fake) kernel."""
    return x * 2


class NoMetaKernel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return double(self.fc(x))


class CopiesToCpu(nn.Module):
    """Its constructor copies a buffer to cpu: impossible for a tensor made on meta."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.register_buffer("table", torch.randn(16, 8).to("cpu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x + self.table[: x.shape[0]])


class BigCopiesToCpu(CopiesToCpu):
    """The same with a buffer too large to be kept real while building (1 MiB)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.randn(512, 512).to("cpu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x + self.table[: x.shape[0], : x.shape[1]])


class ItemInInit(nn.Module):
    """timm's drop-path rates: ``[x.item() for x in torch.linspace(...)]`` in ``__init__``."""

    def __init__(self) -> None:
        super().__init__()
        rates = [r.item() for r in torch.linspace(0, 0.1, 3)]
        self.blocks = nn.Sequential(*[nn.Linear(8, 8) for _ in rates])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class NoForward(nn.Module):
    """Defines no forward: calling it raises NotImplementedError (the model's own error)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)


class UserError(nn.Module):
    """Raises a RuntimeError of its own after its first layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.fc(x)
        raise RuntimeError("this model refuses every input")


class WritesIntoInput(nn.Module):
    """Reads its input's values, then adds a weight-derived value into a copy of the input, in
    place: with a real input beside meta weights, that write has nowhere to go."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.clone() if bool(x.isfinite().all()) else torch.zeros_like(x)
        total.add_(self.fc(x))
        return total
