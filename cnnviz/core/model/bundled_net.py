"""Architecture of the bundled default model: a compact ZFNet-style CNN for 28x28 grayscale images.

Three conv + ReLU + 2x2 max-pool stages followed by two fully connected layers, as in Zeiler & Fergus
(2014) but scaled down to Fashion-MNIST. Every ReLU is its own non-inplace module and every pooling is an
``nn.MaxPool2d`` module, so activation capture and deconvnet projections are exact on it.

Input: float tensor [N, 1, 28, 28], pixels in [0, 1] normalised with the dataset mean/std stored in
``resources/default_model.json``. Output: [N, 10] logits in Fashion-MNIST class order.
"""

from collections import OrderedDict

from torch import nn

INPUT_SIZE = (28, 28)
NUM_CLASSES = 10


def build_bundled_net() -> nn.Module:
    """Return an untrained instance of the bundled network (train mode, CPU, float32)."""
    features = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, kernel_size=5, padding=2)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(32, 64, kernel_size=3, padding=1)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(64, 128, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU()),
        ("pool3", nn.MaxPool2d(2)),
    ]))
    classifier = nn.Sequential(OrderedDict([
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(128 * 3 * 3, 128)),
        ("relu4", nn.ReLU()),
        ("dropout", nn.Dropout(0.3)),
        ("fc2", nn.Linear(128, NUM_CLASSES)),
    ]))
    return nn.Sequential(OrderedDict([("features", features), ("classifier", classifier)]))
