#!/usr/bin/env bash
# Set up .venv with the OpenMMLab stack that runs on a current CPU machine.
# Idempotent: if nothing that shapes the environment changed since the last
# successful run (stamp = hash of this script + pyproject.toml) it only verifies.
# Facts behind each step: docs/stack.md (copied from ../shared/docs/stack.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${STAD_VENV:-.venv}
STAMP="$VENV/.stad-setup-stamp"
t0=$(date +%s)
step() { echo "[setup $(( $(date +%s) - t0 ))s] $*"; }

verify() {
  "$VENV/bin/python" - <<'PY' || { echo "[setup] FAILED: the environment in $VENV does not import the stack; rerun 'rm -rf $VENV && make test' and read the pip output above" >&2; exit 1; }
import sys
try:
    from mmcv.ops import RoIAlign, nms  # compiled ops: Faster R-CNN + AVA RoI head need them
    import stad  # applies the compatibility fixes (drn shim, safe torch.load globals)
    import mmdet.models, mmaction.models  # noqa: F401
except Exception as e:  # one clear line, then non-zero exit
    print(f"[setup] verification failed: {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
print(f"[setup] verified: torch {__import__('torch').__version__}, mmcv {__import__('mmcv').__version__}, "
      f"mmdet {__import__('mmdet').__version__}, mmaction2 {__import__('mmaction').__version__}, stad {stad.__version__}")
PY
  PYTHONWARNINGS=ignore "$VENV/bin/mim" --version >/dev/null || { echo "[setup] FAILED: 'mim --version' does not run" >&2; exit 1; }
  echo "[setup] mim: $(PYTHONWARNINGS=ignore "$VENV/bin/mim" --version 2>&1 | tail -1)"
}

want=$(cat tools/setup_env.sh pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  step "environment up to date ($VENV); verifying"
  verify
  step "done"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  step "creating $VENV with $($PY --version)"
  $PY -m venv "$VENV"
fi
# pip install, without the machine-wide config's noise about absent local indexes
# (and without pip's complaint that openmim lacks opendatalab: left out on purpose, below)
pipi() {
  "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e "^WARNING: Location '" -e "dependency resolver does not currently" \
        -e "openmim 0.3.9 requires opendatalab" || true; }
  return "${PIPESTATUS[0]}"
}

# setuptools < 81: mmcv's setup.py and mim import pkg_resources (removed in 81).
step "pip, setuptools<81, wheel, ninja"
pipi -q -U pip "setuptools<81" wheel ninja

# torch 2.9.1: newest torch whose headers compile as C++17, which mmcv 2.1.0's build forces.
step "torch 2.9.1 / torchvision 0.24.1"
pipi -q torch==2.9.1 torchvision==0.24.1

step "mmengine and mmcv's runtime deps"
pipi -q "numpy>=2,<3" mmengine==0.10.7 addict packaging Pillow pyyaml yapf opencv-python

# mmcv 2.1.0 from the sdist with compiled ops; pip caches the built wheel, so only
# the first build on a machine compiles (~12 min on 2 cores).
step "mmcv 2.1.0 with ops (first build ~12 min on 2 cores; cached afterwards)"
m0=$(date +%s)
MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} pipi -q --no-build-isolation mmcv==2.1.0
step "mmcv build/install took $(( $(date +%s) - m0 ))s"

# mmaction2 without its deps: it asks for opencv-contrib-python, which would install a
# second cv2 over mmcv's opencv-python. Its other deps are listed explicitly.
# importlib_metadata: mmaction2 1.2.0 imports it without declaring it.
step "mmdet 3.3.0, mmaction2 1.2.0 and the rest"
pipi -q mmdet==3.3.0 lap==0.5.13 trackeval==1.3.0 pycocotools "moviepy>=2,<3" decord==0.6.0 importlib_metadata \
  einops matplotlib scipy tqdm pytest nbclient nbformat ipykernel \
  onnx==1.23.2 onnxscript==0.7.2 onnxruntime==1.32.0 openvino==2026.4.1 av==18.1.0 \
  "import-linter==2.5.2" "ruff==0.14.7"
pipi -q --no-deps mmaction2==1.2.0
# openmim 0.3.9 depends on opendatalab -> openxlab, which pins old setuptools; mim never
# imports it, so install mim without deps plus what it does import.
step "openmim 0.3.9 (without opendatalab)"
pipi -q --no-deps openmim==0.3.9
pipi -q Click colorama model-index pandas rich tabulate requests

step "stad (editable)"
pipi -q --no-deps --no-build-isolation -e . >/dev/null

verify
echo "$want" > "$STAMP"
step "done"
