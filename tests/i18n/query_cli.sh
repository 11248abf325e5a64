#!/usr/bin/env bash
# wanqi-query's command-line conventions, run as a user would (no collector
# needed): --version, --help after a command, --opt=value and --opt value
# alike, the documented exit status of bad usage, and its messages in
# Chinese under a zh_CN locale.
set -uo pipefail
q=${WANQI_BIN_DIR:?}/wanqi-query
fail() { echo "query_cli: $*" >&2; exit 1; }
out=$("$q" --version) || fail "--version exited $?"
[[ $out == "wanqi-query "* ]] || fail "--version printed: $out"
out=$("$q" summary --help) || fail "summary --help exited $?"
[[ $out == *"Exit status: 0 answered"* ]] || fail "summary --help lacks the exit status: $out"
for form in "--format=xml" "--format xml"; do
  # shellcheck disable=SC2086
  err=$("$q" $form summary 2>&1 >/dev/null); rc=$?
  [[ $rc == 2 ]] || fail "$form: exit $rc, want 2 (bad usage)"
  [[ $err == *'not "xml"'* ]] || fail "$form: message: $err"
done
err=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$q" --format=xml summary 2>&1 >/dev/null); rc=$?
[[ $rc == 2 ]] || fail "zh_CN: exit $rc, want 2"
[[ $err == *"只能是 table、csv 或 json"* ]] || fail "zh_CN: message not in Chinese: $err"
out=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$q" --help)
[[ $out == *"退出状态"* ]] || fail "zh_CN: --help not in Chinese"
echo "query_cli: ok"
