# Sourced by scripts/book and scripts/test: makes .venv (Python 3.11) and installs the pinned requirements and
# teachbind into it. Installs again only when requirements.txt or pyproject.toml change.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
    echo "teachbind needs Python 3.11 or newer: set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
fi
wanted=$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$wanted" ]; then
    echo "installing the pinned requirements into $VENV (about a minute)"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$ROOT/requirements.txt" -e "$ROOT" \
            > "$VENV/install.log" 2>&1; then
        tail -n 30 "$VENV/install.log" >&2
        echo "the install failed; the whole log is $VENV/install.log" >&2
        exit 1
    fi
    echo "$wanted" > "$VENV/.installed"
fi
export PATH="$VENV/bin:$PATH"
