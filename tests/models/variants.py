"""Small models and their edited copies for the snapshot/check/diff tests."""

from __future__ import annotations

from torch import nn
from torchvision.models import vgg16


class TinyNet(nn.Module):
    """conv(3->8) -> relu -> pool -> flatten -> fc(8*4*4 -> 10) on a 1x3x8x8 input."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8 * 4 * 4, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        return self.head(x.flatten(1))


class TinyNetNewHead(TinyNet):
    """The same body with a 5-class head."""

    def __init__(self) -> None:
        super().__init__(num_classes=5)


class TinyNetExtraLayer(TinyNet):
    """One extra conv (8->8) between relu and pool: an insertion, nothing else renamed."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.pool(self.conv2(self.relu(self.conv(x))))
        return self.head(x.flatten(1))


def vgg16_keypoints() -> nn.Module:
    """vgg16 with the facial-keypoint head (what configs/vgg16_keypoints.yaml describes)."""
    model = vgg16(weights=None)
    model.avgpool = nn.Sequential(nn.Conv2d(512, 512, 3), nn.MaxPool2d(2), nn.Flatten())
    model.classifier = nn.Sequential(
        nn.Linear(2048, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 136), nn.Sigmoid()
    )
    return model
