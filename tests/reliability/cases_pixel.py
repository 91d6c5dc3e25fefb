"""Constructor cases of the pixel-level transforms of issue #23 part A (blur, filters, noise,
quality), merged into ``bad_input_cases.CTOR_CASES`` / ``BASE_KWARGS`` (kept apart so the tables of
parallel issues merge without conflicts)."""

from __future__ import annotations

from typing import Any

V, T = ValueError, TypeError
NAN = float("nan")

_P = [({"p": 1.5}, V, "p"), ({"p": "0.5"}, T, "p")]
_SOB = [({"same_on_batch": "yes"}, T, "same_on_batch")]
_BLUR_LIMIT = [({"blur_limit": 4}, V, "blur_limit"), ({"blur_limit": (7, 3)}, V, "blur_limit"),
               ({"blur_limit": 0}, V, "blur_limit"), ({"blur_limit": 3.5}, T, "blur_limit"),
               ({"blur_limit": (3, 5, 7)}, T, "blur_limit")]

BASE_KWARGS: dict[str, dict[str, Any]] = {
    "Convolve": {"kernel": [[0, 1, 0], [1, -4, 1], [0, 1, 0]]},
}

CTOR_CASES: dict[str, list[tuple[dict[str, Any], type[Exception], str]]] = {
    "Blur": [*_BLUR_LIMIT, *_P, *_SOB],
    "MedianBlur": [*_BLUR_LIMIT, *_P, *_SOB],
    "MotionBlur": [*_BLUR_LIMIT, ({"angle_range": (0, 400)}, V, "angle_range"), ({"angle_range": "x"}, T, "angle_range"),
                   ({"direction_range": (-2.0, 1.0)}, V, "direction_range"), ({"allow_shifted": 1}, T, "allow_shifted"),
                   *_P, *_SOB],
    "Defocus": [({"radius": 0}, V, "radius"), ({"radius": (5, 3)}, V, "radius"), ({"radius": 2.5}, T, "radius"),
                ({"alias_blur": -0.1}, V, "alias_blur"), ({"alias_blur": NAN}, V, "alias_blur"), *_P, *_SOB],
    "ZoomBlur": [({"max_factor": 0.5}, V, "max_factor"), ({"max_factor": (1.3, 1.1)}, V, "max_factor"),
                 ({"step_factor": 0.0}, V, "step_factor"), ({"step_factor": "x"}, T, "step_factor"), *_P, *_SOB],
    "GlassBlur": [({"sigma": 0.0}, V, "sigma"), ({"sigma": "x"}, T, "sigma"), ({"max_delta": 0}, V, "max_delta"),
                  ({"max_delta": 1.5}, T, "max_delta"), ({"iterations": 0}, V, "iterations"),
                  ({"mode": "slow"}, V, "mode"), *_P, *_SOB],
    "AdvancedBlur": [*_BLUR_LIMIT, ({"sigma_x_limit": -1.0}, V, "sigma_x_limit"),
                     ({"sigma_x_limit": 0.0, "sigma_y_limit": (0.0, 1.0)}, V, "sigma_y_limit"),
                     ({"beta_limit": (2.0, 4.0)}, V, "beta_limit"), ({"noise_limit": (0.0, 1.0)}, V, "noise_limit"),
                     ({"rotate_limit": "x"}, T, "rotate_limit"), *_P, *_SOB],
    "Sharpen": [({"alpha": (0.5, 0.2)}, V, "alpha"), ({"alpha": (0.0, 1.5)}, V, "alpha"), ({"lightness": -1.0}, V, "lightness"),
                ({"method": "nosuch"}, V, "method"), ({"kernel_size": 4}, V, "kernel_size"),
                ({"sigma": 0.0}, V, "sigma"), *_P, *_SOB],
    "Emboss": [({"alpha": (0.2, 1.5)}, V, "alpha"), ({"strength": -0.5}, V, "strength"), ({"strength": "x"}, T, "strength"),
               *_P, *_SOB],
    "UnsharpMask": [*_BLUR_LIMIT, ({"sigma_limit": -1.0}, V, "sigma_limit"), ({"alpha": 1.5}, V, "alpha"),
                    ({"threshold": 300}, V, "threshold"), ({"threshold": 2.5}, T, "threshold"), *_P, *_SOB],
    "EdgeDetect": [({"alpha": 1.5}, V, "alpha"), ({"alpha": (0.8, 0.2)}, V, "alpha"), ({"alpha": "x"}, T, "alpha"), *_P, *_SOB],
    "Convolve": [({"kernel": [[1, 1], [1, 1]]}, V, "kernel"), ({"kernel": [1, 2, 3]}, V, "kernel"),
                 ({"kernel": "abc"}, T, "kernel"), ({"kernel": [[0, NAN, 0]] * 3}, V, "kernel"),
                 ({"kernel": object()}, T, "kernel"), *_P, *_SOB],
    "ShotNoise": [({"scale_range": (0.0, 0.3)}, V, "scale_range"), ({"scale_range": (0.3, 0.1)}, V, "scale_range"),
                  ({"scale_range": "x"}, T, "scale_range"), *_P, *_SOB],
    "MultiplicativeNoise": [({"multiplier": -1.0}, V, "multiplier"), ({"multiplier": (1.1, 0.9)}, V, "multiplier"),
                            ({"per_channel": "yes"}, T, "per_channel"), ({"elementwise": 1}, T, "elementwise"), *_P, *_SOB],
    "AdditiveNoise": [({"noise_type": "nosuch"}, V, "noise_type"), ({"spatial_mode": "nosuch"}, V, "spatial_mode"),
                      ({"approximation": 0.0}, V, "approximation"), ({"noise_params": 5}, T, "noise_params"),
                      ({"noise_params": {"mean_range": (0, 0)}}, V, "noise_params"),
                      ({"noise_type": "gaussian", "noise_params": {"mean_range": (0, 0), "std_range": (0.2, 0.1)}}, V, "std_range"),
                      ({"noise_type": "uniform", "spatial_mode": "constant", "noise_params": {"ranges": [(-0.1, 0.1)] * 2}},
                       V, "ranges"),
                      *_P, *_SOB],
    "ISONoise": [({"color_shift": (0.05, 0.01)}, V, "color_shift"), ({"color_shift": 1.5}, V, "color_shift"),
                 ({"intensity": -0.1}, V, "intensity"), ({"intensity": "x"}, T, "intensity"), *_P, *_SOB],
    "ImageCompression": [({"compression_type": "png"}, V, "compression_type"),
                         ({"quality_range": (0, 50)}, V, "quality_range"), ({"quality_range": (60, 20)}, V, "quality_range"),
                         ({"quality_range": (20.5, 60)}, T, "quality_range"), *_P, *_SOB],
    "Downscale": [({"scale_range": (0.0, 0.5)}, V, "scale_range"), ({"scale_range": (0.5, 1.5)}, V, "scale_range"),
                  ({"interpolation_pair": {"downscale": "cubic", "upscale": "nearest"}}, V, "interpolation_pair"),
                  ({"interpolation_pair": "nearest"}, T, "interpolation_pair"), *_P, *_SOB],
    "Pixelate": [({"block_size": 0}, V, "block_size"), ({"block_size": (8, 2)}, V, "block_size"),
                 ({"block_size": 2.5}, T, "block_size"), *_P, *_SOB],
}
