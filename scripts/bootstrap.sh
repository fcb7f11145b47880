#!/usr/bin/env bash
# Installs what the stack and the tests need on a Debian machine, idempotently:
# Debian packages (SIPp, espeak-ng, sox, debootstrap, chromium) and the Python virtualenv from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The agent desktop's browser tests drive Debian's Chromium (Playwright never downloads one);
# a CJK font so that Chinese names render in its screenshots.
command -v chromium >/dev/null || need+=(chromium)
[[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || need+=(fonts-wqy-microhei)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "[bootstrap] apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
lock=requirements-test.lock
stamp=.venv/.installed-$(sha256sum "$lock" pyproject.toml | sha256sum | cut -c1-16)
if [[ ! -f $stamp ]]; then
  echo "[bootstrap] virtualenv .venv from $lock"
  rm -rf .venv
  "$PYTHON" -m venv .venv
  if ! .venv/bin/pip install -q --require-hashes -r "$lock" >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    exit 1
  fi
  # The project itself runs from the checkout (python -m app / stack / phones), not installed.
  .venv/bin/python -c "import app, stack, phones, fastapi, sqlalchemy, asyncpg, websockets, pytest"
  touch "$stamp"
fi
