"""Model variants for the diff tests (the small edited models are written per test)."""

from __future__ import annotations

from torch import nn
from torchvision.models import vgg16


def vgg16_keypoints() -> nn.Module:
    """vgg16 with the facial-keypoint head (what configs/vgg16_keypoints.yaml describes)."""
    model = vgg16(weights=None)
    model.avgpool = nn.Sequential(nn.Conv2d(512, 512, 3), nn.MaxPool2d(2), nn.Flatten())
    model.classifier = nn.Sequential(
        nn.Linear(2048, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 136), nn.Sigmoid()
    )
    return model
