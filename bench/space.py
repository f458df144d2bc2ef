"""Does the default 2-D space carry voice quality rather than loudness?

Prints ``pc_explained`` (variance fraction of PC1, PC2), ``group_loo_accuracy``
(leave-one-out nearest-centroid classification of men / women / children in the 2-D
space) and ``level_correlation`` (|correlation| of PC1 with clip loudness in dB).
Goals: group_loo_accuracy >= 0.85, level_correlation < 0.9.
"""
import numpy as np

from hd_widgets.speech.space import FeatureSpace

space = FeatureSpace.default(2)
x, g = space.points, space.groups
labels = np.unique(g)
hits = 0
for i in range(len(x)):
    rest = np.arange(len(x)) != i
    cents = np.stack([x[rest & (g == lab)].mean(axis=0) for lab in labels])
    hits += labels[np.argmin(np.linalg.norm(cents - x[i], axis=1))] == g[i]
print(f"pc_explained: {space.explained[0]:.3f}, {space.explained[1]:.3f}")
print(f"group_loo_accuracy: {hits / len(x):.3f}")
print(f"level_correlation: {abs(np.corrcoef(x[:, 0], space.level_db)[0, 1]):.3f}")
