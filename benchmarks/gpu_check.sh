#!/usr/bin/env bash
# The GPU check in one command (issue 20): the device-parametrised tests on CUDA, then the GPU
# benchmark set; about 5 minutes on one GPU, on the machine's own python3 and torch.
#
#   bash benchmarks/gpu_wheels.sh                # once, on a machine with PyPI: wheels into .whl/
#   bash benchmarks/gpu_check.sh                 # on the CUDA machine (carry .whl)
#   bash benchmarks/gpu_check.sh --device cpu    # dry run here: the same steps on the CPU's accelerator path
#
# Results go to $OUT (or gpu-results/): tests.txt, gpu_bench.md, gpu_bench.json.
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda
if [ "${1:-}" = "--device" ]; then device=${2:?--device needs cuda or cpu}; fi
out=${OUT:-gpu-results}
mkdir -p "$out"
py=${PYTHON:-python3}
site=/tmp/torchaug-gpu-site
if [ "$device" = cuda ] && compgen -G ".whl/*.whl" >/dev/null; then  # Python 3.12 wheels: hydra-core, omegaconf, kornia, albumentations, imbalanced-learn, ...
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation --upgrade --target "$site" \
    .whl/*.whl $(compgen -G ".whl/*.tar.gz") || exit 1
  export PYTHONPATH="$site"
fi
peer=""
if compgen -G ".whl/peer/torchaug-0.6.1-*.whl" >/dev/null; then  # the PyPI torchaug: its import name is ours, so its own folder
  peer=/tmp/torchaug061
  $py -m pip install -q --no-index --no-deps --no-compile --target "$peer" .whl/peer/torchaug-0.6.1-*.whl || peer=""
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ "$device" = cuda ]; then
  export TORCHAUG_TEST_DEVICES=cuda; select="cuda or CUDA or other_device"; workers=4
else
  export TORCHAUG_TEST_DEVICES=cpu:accel; select="accel"; workers=2
fi
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count())" | tee "$out/tests.txt"
start=$(date +%s)
timeout 210 $py -m pytest -q -p no:cacheprovider -n $workers -k "$select" \
  tests/test_contract.py tests/transforms/test_color.py tests/mixing/test_memory_format.py \
  tests/reliability/test_devices.py tests/reliability/test_precision.py tests/reliability/test_bad_inputs.py \
  tests/selection/test_selection_filters.py 2>&1 | tail -25 | tee -a "$out/tests.txt"
tests_rc=${PIPESTATUS[0]}
echo "tests: exit $tests_rc in $(( $(date +%s) - start )) s" | tee -a "$out/tests.txt"
start=$(date +%s)
timeout 150 $py benchmarks/gpu.py --device "$device" ${peer:+--torchaug061 "$peer"} --json "$out/gpu_bench.json" 2>&1 | tee "$out/gpu_bench.md"
bench_rc=${PIPESTATUS[0]}
echo "benchmarks: exit $bench_rc in $(( $(date +%s) - start )) s" | tee -a "$out/gpu_bench.md"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
