#!/usr/bin/env bash
# Set up everything FiberSync needs on a Debian machine, then run the main job or the tests.
#   bash scripts/dev.sh up [fibersync up options]   - migrate, demo IQGeo simulator, import, serve
#   bash scripts/dev.sh test [pytest options]       - the test suite against a real PostGIS
# Uses DATABASE_URL when set, else the local PostgreSQL on 127.0.0.1:5432 (user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need_apt+=(postgresql-15 postgresql-15-postgis-3)
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
command -v npm >/dev/null || need_apt+=(nodejs npm)  # the map page's libraries
# The browser tests drive Debian's Chromium (no browser downloads); GDAL reads /ogc.
if [ "${1:-up}" = "test" ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
  command -v ogrinfo >/dev/null || need_apt+=(gdal-bin)
  command -v wrk >/dev/null || need_apt+=(wrk)  # the ISP benchmark's smoke run
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi
# QGIS reads /ogc in one test (Debian's python3-qgis, about 1 GB installed): installed when
# the disk has room; without it that test is skipped, and nothing else depends on it.
if [ "${1:-up}" = "test" ] && ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null \
   && [ "$(df --output=avail -k / | tail -1)" -gt 5000000 ]; then
  echo "installing QGIS for the OGC API test"
  $SUDO apt-get update -q || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    python3-qgis qgis-providers || echo "QGIS could not be installed; its test is skipped"
fi

# Start the local cluster if we rely on it and it is down.
if [ -z "${DATABASE_URL:-}" ] && command -v pg_lsclusters >/dev/null; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    ver=$(ls /etc/postgresql | sort -n | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
fi

# Python packages in a venv, reinstalled only when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
stamp=".venv/.fibersync-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.fibersync-*; touch "$stamp"
fi

# The map's browser libraries (MapLibre GL JS, terra-draw) from the npm registry, served by
# the app itself: nothing is loaded from a CDN at run time.
if [ ! -f web/node_modules/.package-lock.json ] \
   || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

cmd="${1:-up}"; shift || true
case "$cmd" in
  up)   exec .venv/bin/fibersync up "$@" ;;
  test) set +e; .venv/bin/python -m pytest "$@"; rc=$?
        # pytest's 5 means "no tests collected": that is a failure for us too.
        exit $rc ;;
  *)    echo "usage: scripts/dev.sh up|test" >&2; exit 2 ;;
esac
