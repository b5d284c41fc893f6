"""Models whose forward does something to the process around it: starts a thread, forks,
prints, closes stdout, changes directory, changes torch's default device, mutates its input."""

from __future__ import annotations

import os
import sys
import threading
import time

import torch
from torch import nn


class _Base(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)


class StartsThread(_Base):
    """Starts a non-daemon thread that outlives the pass by 30 s."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        threading.Thread(target=time.sleep, args=(30,), daemon=False).start()
        return self.fc(x)


class Forks(_Base):
    """Forks twice without exiting: four processes return from forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os.fork()
        os.fork()
        return self.fc(x)


class Prints(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("hello from forward")
        sys.stdout.write("raw write\n")
        return self.fc(x)


class ClosesStdout(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.stdout.close()
        return self.fc(x)


class ChangesDirectory(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os.chdir("/")
        return self.fc(x)


class SetsDefaultDevice(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.set_default_device("meta")
        return self.fc(x)


class MutatesInput(_Base):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(0).add_(7)
        return self.fc(x)


class ThreadThenSleeps(_Base):
    """Starts a non-daemon thread, then takes 30 s itself (to be interrupted)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        threading.Thread(target=time.sleep, args=(30,), daemon=False).start()
        print("forward started", file=sys.stderr, flush=True)
        time.sleep(30)
        return self.fc(x)


class GetattrRaises(_Base):
    """``__getattr__`` raises something other than AttributeError for unknown names."""

    def __getattr__(self, name: str) -> object:
        try:
            return super().__getattr__(name)
        except AttributeError:
            raise KeyError(name) from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class NamedModulesRaises(_Base):
    def named_modules(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("named_modules is broken")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class OwnChild(_Base):
    """Registered as its own child: ``named_modules`` lists it once (memo by identity)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("again", self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class Cycle(nn.Module):
    """A -> B -> A: B holds A as a child, the forward calls B's layer only."""

    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Module()
        self.b.fc = nn.Linear(4, 3)
        self.b.add_module("back", self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b.fc(x)


class GetattrRaisesInForward(GetattrRaises):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * self.scale  # no such attribute: __getattr__ raises KeyError
