#!/usr/bin/env bash
# wanqi-query's, wanqi-collector's and wanqi-agent's command-line
# conventions, run as a user would (no collector running): --version, each
# command's own --help (not the whole help) after every command,
# --opt=value and --opt value alike, the documented exit status of bad
# usage, and their help and messages in Chinese under a zh_CN locale.
set -uo pipefail
q=${WANQI_BIN_DIR:?}/wanqi-query
c=${WANQI_BIN_DIR:?}/wanqi-collector
fail() { echo "cli_conventions: $*" >&2; exit 1; }
out=$("$q" --version) || fail "--version exited $?"
[[ $out == "wanqi-query "* ]] || fail "--version printed: $out"
out=$("$q" summary --help) || fail "summary --help exited $?"
[[ $out == *"Exit status: 0 answered"* ]] || fail "summary --help lacks the exit status: $out"
whole=$("$q" --help)
for cmd in summary overdue enterprise agents quarantine foreign cadres waiting doubles keygen; do
  out=$("$q" "$cmd" --help) || fail "query $cmd --help exited $?"
  [[ $out == "Usage: wanqi-query $cmd"* ]] || fail "query $cmd --help is not its own help: $out"
  [[ $out != "$whole" ]] || fail "query $cmd --help printed the whole help"
  [[ $out == *"Exit status:"* ]] || fail "query $cmd --help lacks the exit status"
  out2=$("$q" --help "$cmd") || fail "query --help $cmd exited $?"
  [[ $out2 == "$out" ]] || fail "query --help $cmd differs from $cmd --help"
done
"$q" frobnicate --help >/dev/null 2>&1; rc=$?
[[ $rc == 2 ]] || fail "query frobnicate --help: exit $rc, want 2"
out=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$q" overdue --help)
[[ $out == "用法：wanqi-query overdue"* && $out == *"退出状态"* ]] || fail "zh_CN: query overdue --help: $out"
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
out=$("$c" --version) || fail "collector --version exited $?"
[[ $out == "wanqi-collector "* ]] || fail "collector --version printed: $out"
for cmd in init run verify authorize transfer peers key; do
  out=$("$c" $cmd --help) || fail "collector $cmd --help exited $?"
  [[ $out == "Usage: wanqi-collector $cmd"* ]] || fail "collector $cmd --help printed: $out"
done
out=$("$c" --help) || fail "collector --help exited $?"
[[ $out == *"Exit status: 0 done"* ]] || fail "collector --help lacks the exit status"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for form in "--dir=$tmp/none" "--dir $tmp/none"; do
  # shellcheck disable=SC2086
  "$c" key $form >/dev/null 2>&1; rc=$?
  [[ $rc == 1 ]] || fail "collector key $form: exit $rc, want 1 (no key there, not bad usage)"
done
"$c" key --frobnicate >/dev/null 2>&1; rc=$?
[[ $rc == 2 ]] || fail "collector key --frobnicate: exit $rc, want 2"
out=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$c" authorize --help)
[[ $out == "用法：wanqi-collector authorize"* ]] || fail "zh_CN: collector authorize --help: $out"
err=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= "$c" frobnicate 2>&1 >/dev/null)
[[ $err == *"未知命令"* ]] || fail "zh_CN: collector unknown command: $err"
# wanqi-agent: every command's own help, also for `user add --help`
# (which must not take "--help" for an account name).
a=${WANQI_BIN_DIR:?}/wanqi-agent
out=$("$a" --version) || fail "agent --version exited $?"
[[ $out == "wanqi-agent "* ]] || fail "agent --version printed: $out"
for cmd in init record import template export run status show list serve user config generate; do
  out=$(WANQI_AGENT_DIR="$tmp/none" "$a" $cmd --help) || fail "agent $cmd --help exited $?"
  [[ $out == "usage: wanqi-agent $cmd"* ]] || fail "agent $cmd --help is not its own help: $out"
done
out=$(WANQI_AGENT_DIR="$tmp/none" "$a" user add --help) || fail "agent user add --help exited $?"
[[ $out == "usage: wanqi-agent user"* ]] || fail "agent user add --help: $out"
[[ ! -e "$tmp/none" ]] || fail "agent user add --help touched the data directory"
out=$(LANG=zh_CN.UTF-8 LANGUAGE=zh_CN LC_ALL= WANQI_AGENT_DIR="$tmp/none" "$a" status --help)
[[ $out == "用法："* ]] || fail "zh_CN: agent status --help: $out"
echo "cli_conventions: ok"
