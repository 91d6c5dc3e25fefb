#!/usr/bin/env bash
# Wheels for what the GPU machine's image lacks (its python3 is 3.12 with torch, lightning,
# pytest, scikit-learn and timm): run once here, then carry .whl to that machine (benchmarks/gpu_check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
plat=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any)
pip download -q --no-deps "${plat[@]}" -d .whl hydra-core==1.3.2 omegaconf==2.3.0 \
  kornia==0.9.0 kornia_rs==0.2.0 imbalanced-learn==0.14.2 albumentations==2.0.8 albucore==0.0.24 \
  pydantic pydantic-core annotated-types typing-inspection stringzilla simsimd
pip download -q --no-deps --no-binary :all: -d .whl antlr4-python3-runtime==4.9.3  # omegaconf's pin: a pure-Python sdist
pip download -q --no-deps "${plat[@]}" -d .whl/peer torchaug==0.6.1
ls -la .whl .whl/peer
