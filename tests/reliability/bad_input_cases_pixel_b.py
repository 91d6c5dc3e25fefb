"""Bad-input cases of the tone/colour and dropout transforms (issue #23 part B), merged into
``bad_input_cases`` (kept apart so that parallel additions do not collide)."""

from __future__ import annotations

from typing import Any

V, T = ValueError, TypeError
NAN = float("nan")
_P = [({"p": 1.5}, V, "p"), ({"p": -0.1}, V, "p"), ({"p": NAN}, V, "p"), ({"p": "0.5"}, T, "p")]
_SOB = [({"same_on_batch": "yes"}, T, "same_on_batch")]
_FILL = [({"fill": "nosuch"}, V, "fill"), ({"fill": 2.0}, V, "fill"), ({"fill": None}, T, "fill"),
         ({"fill": (0.5, -0.5, 0.5)}, V, "fill"), ({"fill_mask": "x"}, T, "fill_mask")]

CTOR_CASES: dict[str, list[tuple[dict[str, Any], type[Exception], str]]] = {
    "RandomBrightnessContrast": [({"brightness_limit": (0.3, -0.3)}, V, "brightness_limit"),
                                 ({"contrast_limit": "x"}, T, "contrast_limit"),
                                 ({"brightness_limit": NAN}, V, "brightness_limit"),
                                 ({"brightness_by_max": "yes"}, T, "brightness_by_max"),
                                 ({"ensure_safe_range": 1}, T, "ensure_safe_range"), *_P, *_SOB],
    "RGBShift": [({"r_shift_limit": 300}, V, "r_shift_limit"), ({"g_shift_limit": (20, -20)}, V, "g_shift_limit"),
                 ({"b_shift_limit": "x"}, T, "b_shift_limit"), *_P, *_SOB],
    "ChannelShuffle": [*_P, *_SOB],
    "PlanckianJitter": [({"mode": "nosuch"}, V, "mode"), ({"sampling_method": "nosuch"}, V, "sampling_method"),
                        ({"temperature_limit": (2000, 8000)}, V, "temperature_limit"),
                        ({"temperature_limit": (7000, 8000)}, V, "temperature_limit"),
                        ({"temperature_limit": "x"}, T, "temperature_limit"), *_P, *_SOB],
    "FancyPCA": [({"alpha": -0.1}, V, "alpha"), ({"alpha": "x"}, T, "alpha"), ({"mode": "nosuch"}, V, "mode"), *_P, *_SOB],
    "ToSepia": [*_P, *_SOB],
    "HueSaturationValue": [({"hue_shift_limit": 200}, V, "hue_shift_limit"), ({"sat_shift_limit": (30, -30)}, V, "sat_shift_limit"),
                           ({"val_shift_limit": "x"}, T, "val_shift_limit"), *_P, *_SOB],
    "RandomToneCurve": [({"scale": 1.5}, V, "scale"), ({"scale": -0.1}, V, "scale"), ({"per_channel": "x"}, T, "per_channel"),
                        *_P, *_SOB],
    "SigmoidContrast": [({"gain": -1.0}, V, "gain"), ({"cutoff": 1.5}, V, "cutoff"), ({"cutoff": (0.6, 0.3)}, V, "cutoff"),
                        ({"gain": "x"}, T, "gain"), ({"per_channel": "x"}, T, "per_channel"),
                        ({"per_channel": 1.5}, V, "per_channel"), *_P, *_SOB],
    "LogContrast": [({"gain": -1.0}, V, "gain"), ({"gain": (1.6, 0.4)}, V, "gain"), ({"per_channel": "x"}, T, "per_channel"),
                    *_P, *_SOB],
    "LinearContrast": [({"alpha": "x"}, T, "alpha"), ({"alpha": (1.4, 0.6)}, V, "alpha"), ({"alpha": NAN}, V, "alpha"),
                       *_P, *_SOB],
    "CLAHE": [({"clip_limit": -1.0}, V, "clip_limit"), ({"clip_limit": "x"}, T, "clip_limit"),
              ({"tile_grid_size": (0, 8)}, V, "tile_grid_size"), ({"tile_grid_size": 8}, T, "tile_grid_size"),
              ({"tile_grid_size": (2.5, 8)}, T, "tile_grid_size"), ({"tile_grid_size": ((8, 2), 8)}, V, "tile_grid_size"),
              *_P, *_SOB],
    "CoarseDropout": [({"num_holes_range": (0, 2)}, V, "num_holes_range"), ({"num_holes_range": (3, 1)}, V, "num_holes_range"),
                      ({"num_holes_range": 2}, T, "num_holes_range"), ({"hole_height_range": (0.3, 0.1)}, V, "hole_height_range"),
                      ({"hole_width_range": (0.5, 2.5)}, V, "hole_width_range"), ({"hole_width_range": 0.2}, T, "hole_width_range"),
                      *_FILL, *_P, *_SOB],
    "GridDropout": [({"ratio": 0.0}, V, "ratio"), ({"ratio": 1.5}, V, "ratio"), ({"random_offset": "x"}, T, "random_offset"),
                    ({"unit_size_range": (1, 4)}, V, "unit_size_range"), ({"unit_size_range": (8, 4)}, V, "unit_size_range"),
                    ({"unit_size_range": (4, 40)}, V, "unit_size_range"), ({"holes_number_xy": (0, 2)}, V, "holes_number_xy"),
                    ({"holes_number_xy": 3}, T, "holes_number_xy"), ({"shift_xy": (-1, 0)}, V, "shift_xy"), *_FILL, *_P, *_SOB],
    "PixelDropout": [({"dropout_prob": 1.5}, V, "dropout_prob"), ({"per_channel": "x"}, T, "per_channel"),
                     ({"drop_value": "random"}, V, "drop_value"), ({"drop_value": 2.0}, V, "drop_value"),
                     ({"mask_drop_value": "x"}, T, "mask_drop_value"), *_P, *_SOB],
    "ChannelDropout": [({"channel_drop_range": (0, 1)}, V, "channel_drop_range"), ({"channel_drop_range": (2, 1)}, V, "channel_drop_range"),
                       ({"channel_drop_range": (3, 3)}, V, "channel_drop_range"), ({"channel_drop_range": 1}, T, "channel_drop_range"),
                       ({"fill": 2.0}, V, "fill"), ({"fill": "x"}, T, "fill"), *_P, *_SOB],
    "RandomGridShuffle": [({"grid": (0, 3)}, V, "grid"), ({"grid": 3}, T, "grid"), ({"grid": (2.5, 3)}, T, "grid"), *_P, *_SOB],
}

# input cases that legitimately end differently: (class, case id) -> Case fields to replace
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("PlanckianJitter", "grey_image"): {"expect": V, "arg": "channels"},
    ("ChannelDropout", "grey_image"): {"expect": V, "arg": "channels"},
}
