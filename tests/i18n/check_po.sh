#!/usr/bin/env bash
# Fails, listing them, when a text the programs show (marked with _(),
# N_() or P_() in the sources) has no zh_CN translation, or a translation
# is marked fuzzy, or the catalog does not compile; and when a text people
# read (a log line, an error, what a program prints) in any source file of
# common/, proto/, web/, agent/ or collector/ does not go through gettext
# at all (check_marked.py; no text is allowed to stay untranslated unless
# marked /* not translated: why */ in the source).
set -euo pipefail
src=${WANQI_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$src/scripts/i18n-extract" "$src" "$tmp/wanqi.pot"
msgfmt --check -o /dev/null "$src/po/zh_CN.po"
# msgcmp counts untranslated and fuzzy entries of the .po as missing.
if ! msgcmp "$src/po/zh_CN.po" "$tmp/wanqi.pot" 2>"$tmp/missing"; then
  echo "check_po: these texts have no zh_CN translation in po/zh_CN.po:" >&2
  grep -o 'wanqi.pot:[0-9]*: this message is used but not defined' "$tmp/missing" \
    | sed 's/^wanqi.pot:\([0-9]*\):.*/\1/' | while read -r n; do
      sed -n "$((n - 1))p" "$tmp/wanqi.pot" >&2
    done
  grep -q 'used but not defined' "$tmp/missing" || cat "$tmp/missing" >&2
  echo "check_po: add them (cmake --build build --target pot; msgmerge -U po/zh_CN.po build/wanqi.pot)" >&2
  exit 1
fi
n=$(grep -c '^msgid ' "$tmp/wanqi.pot" || true)
echo "check_po: all $((n - 1)) texts translated"
python3 "$src/tests/i18n/check_marked.py" "$src"
