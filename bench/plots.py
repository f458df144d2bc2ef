"""Plot build times and sizes: Fig. 4 and the Langevin animation.

Prints ``fig4_build_ms`` (gradient_figure: 100 real points, 300 periphery arrows per panel,
a 17x17 learned-field grid and D on a 60x60 grid under three panels), ``fig4_json_kb``,
``animation_build_ms`` and ``figure_json_kb`` (langevin_animation of 1,000 particles x 200
recorded steps with real data underneath, default settings: 100 frames kept, coordinates
rounded to 3 decimals as float32), ``animation_json_ms`` (``fig.to_json()``), and the same
animation with every one of the 200 frames kept (``animation_all_frames_*``).
Then the report's two heavy figures at the default budget, as ``views.report.lighten``
leaves them: ``fig4_dense_json_kb`` and ``fig4_dense_arrows`` (2,500 rated points, arrows
thinned to at most ``MAX_ARROWS`` per panel) and ``fig5_json_kb`` (5,000 samples per
method, clouds thinned for drawing, one HumanGAN collapsed onto a point).
Medians of 5 runs after one warm-up (NumPy only, no torch).
Goals: animation build < 2000 ms and JSON < 5000 kB; the report's figures together
well under the 0.5 MB that report.html has left beside plotly.js's 1.5 MB.
"""
import time

import numpy as np

from hd_widgets.views.fields import gradient_figure
from hd_widgets.views.motion import langevin_animation
from hd_widgets.views.report import lighten
from hd_widgets.views.samples import samples_figure


def median_ms(fn, n=5):
    fn()                                                   # warm-up (imports, validators)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times)), out


rng = np.random.default_rng(0)
X = rng.standard_normal((100, 2))
C = np.repeat(X, 3, axis=0) + 0.5 * rng.standard_normal((300, 2))


def D(x):
    return np.exp(-0.125 * np.sum(x ** 2, axis=1))


def field(x):
    return -0.25 * x * D(x)[:, None]


G = field(C) + 0.05 * rng.standard_normal(C.shape)
fig4_ms, fig4 = median_ms(lambda: gradient_figure(X, C, G, G + 0.5 * (np.repeat(X, 3, 0) - C),
                                                  field, D=D))

# 1,000 particles x 200 recorded steps of Langevin on a Gaussian score
T, n, alpha = 200, 1000, 0.05
x = X[rng.integers(0, 100, n)]
traj = [x]
for _ in range(T - 1):
    x = x + 0.5 * alpha * (-x / 1.5) + np.sqrt(alpha) * rng.standard_normal(x.shape)
    traj.append(x)
traj = np.array(traj)                                      # (T, n, 2)

anim_ms, anim = median_ms(lambda: langevin_animation(traj, points=X))
json_ms, js = median_ms(anim.to_json)
all_ms, anim_all = median_ms(lambda: langevin_animation(traj, points=X, max_frames=None))

print(f"fig4_build_ms: {fig4_ms:.0f}")
print(f"fig4_json_kb: {len(fig4.to_json()) / 1e3:.0f}")
print(f"animation_build_ms: {anim_ms:.0f}")
print(f"animation_frames: {len(anim.frames)}")
print(f"figure_json_kb: {len(js) / 1e3:.0f}")
print(f"animation_json_ms: {json_ms:.0f}")
print(f"animation_all_frames_build_ms: {all_ms:.0f}")
print(f"animation_all_frames_json_kb: {len(anim_all.to_json()) / 1e3:.0f}")

# the report's figures at 5000 ratings: 2500 rated points, 5000 samples per method
CC = 1.3 * rng.standard_normal((2500, 2))
GG = field(CC) + 0.05 * rng.standard_normal(CC.shape)
dense_ms, dense = median_ms(lambda: lighten(gradient_figure(X, CC, GG, GG, field, D=D, n_grid=40)))
arrows = max(len(t.x) // 7 for t in dense.data if (t.meta or {}).get("kind") == "quiver" and t.xaxis != "x3")
hd = 1.4 * rng.standard_normal((5000, 2))
gan = np.tile([[0.3, -0.2]], (5000, 1)) + 1e-4 * rng.standard_normal((5000, 2))
fig5_ms, fig5 = median_ms(lambda: lighten(samples_figure(X, 0.4 * hd, hd, humangan_collapsed=gan,
                                                         field_fn=field, D=D, n_grid=40)))
print(f"fig4_dense_build_ms: {dense_ms:.0f}")
print(f"fig4_dense_arrows: {arrows}")
print(f"fig4_dense_json_kb: {len(dense.to_json()) / 1e3:.0f}")
print(f"fig5_build_ms: {fig5_ms:.0f}")
print(f"fig5_json_kb: {len(fig5.to_json()) / 1e3:.0f}")
