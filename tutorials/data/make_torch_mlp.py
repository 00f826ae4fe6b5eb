"""Make microgradvg/datasets/torch_mlp.npz, the PyTorch network that tutorial 11 diagnoses without PyTorch.

A plain nn.Sequential MLP, 784 → 16 → 16 → 10 with ReLU, trained the usual PyTorch way
(Adam, mini-batches of 32, softmax cross-entropy on logits) on the 1,000 digits embedded in
microgradvg, then its state_dict saved with numpy: `0.weight`, `0.bias`, `2.weight`, … as
float32 arrays. Run from the repository's root (needs torch; the tutorial does not):

    python tutorials/data/make_torch_mlp.py
"""

from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "microgradvg" / "datasets"
DIGITS = DATASETS / "mnist_1k.npz"

torch.manual_seed(0)
with np.load(DIGITS) as archive:
    images = torch.tensor(archive["images"].reshape(-1, 784) / 255.0, dtype=torch.float32)
    labels = torch.tensor(archive["labels"].astype(np.int64))

net = torch.nn.Sequential(
    torch.nn.Linear(784, 16), torch.nn.ReLU(),
    torch.nn.Linear(16, 16), torch.nn.ReLU(),
    torch.nn.Linear(16, 10),
)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for batch in torch.randperm(len(images)).split(32):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images[batch]), labels[batch]).backward()
        optimizer.step()
with torch.no_grad():
    logits = net(images)
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
print(f"after 30 epochs: C = {loss:.4f}, accuracy {accuracy:.1%} on the 1,000 digits")
np.savez_compressed(DATASETS / "torch_mlp.npz", **{k: v.numpy() for k, v in net.state_dict().items()})
