#!/usr/bin/env python3
"""check_marked.py SOURCE_DIR

Finds texts people read that do not go through gettext: the literal format
of a log line (wq_info, wq_warn, wq_error), of an error (wq_err_set, the
sender's s_note_error) or of what a program prints (printf, fprintf, puts,
fputs) that contains words and is not wrapped in _() / N_() / P_(). It scans
every .c file of common/, proto/, web/, agent/ and collector/ (with
collector/dash/).

Not scanned, by rule: wq_debug lines (for developers, in English), JSON
fragments printed by hand (a literal that starts with {" ," ] or null), and
"key value" statistics lines read by scripts ("visits %zu\n").
A literal that must stay as it is (a wire text, a file format, a command's
machine output) is marked on the call's line or the line before with a
comment saying why: /* not translated: REASON */.

There is no list of texts allowed to stay untranslated: every text people
read is translated or marked, and any other fails.
Exit status: 0 none, 1 some (listed), 2 usage.
"""
import os
import re
import sys

FUNCS = {'wq_info': 0, 'wq_warn': 0, 'wq_error': 0, 'wq_err_set': 3, 's_note_error': 1,
         'printf': 0, 'fprintf': 1, 'puts': 0, 'fputs': 0}
DIRS = ['common', 'proto', 'web', 'agent', 'collector']
CALL = re.compile(r'(?<![\w.>])(' + '|'.join(FUNCS) + r')\s*\(')
SPEC = re.compile(r'%[-+ #0-9.*$]*(?:hh|h|ll|l|j|z|t)?[a-zA-Z]')
JSON = re.compile(r'^"(\{\\"|,\\"|\]|null)')
STAT = re.compile(r'^"[a-z_]+(\.[a-z%_]+)* %(zu|s|d)\\n"$')   # "key value\n": machine-read


def skip_ws(s, i):
    while i < len(s):
        if s[i].isspace():
            i += 1
        elif s.startswith('/*', i):
            i = s.index('*/', i) + 2
        elif s.startswith('//', i):
            i = s.index('\n', i)
        else:
            break
    return i


def lit_end(s, i):
    i += 1
    while s[i] != '"':
        i += 2 if s[i] == '\\' else 1
    return i + 1


def args(s, i):
    """Start offsets of the arguments of the call whose '(' ends at i."""
    starts, depth = [skip_ws(s, i)], 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i = lit_end(s, i)
            continue
        if c == "'":
            i += 1
            while s[i] != "'":
                i += 2 if s[i] == '\\' else 1
            i += 1
            continue
        if s.startswith('/*', i):
            i = s.index('*/', i) + 2
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            if depth == 0:
                return starts
            depth -= 1
        elif c == ',' and depth == 0:
            starts.append(skip_ws(s, i + 1))
        i += 1
    return starts


def literal(s, a):
    """The concatenated literal (with PRI macros) starting at a."""
    j = lit_end(s, a)
    parts = [s[a:j]]
    while True:
        k = skip_ws(s, j)
        if k < len(s) and s[k] == '"':
            j = lit_end(s, k)
            parts.append(s[k:j])
        else:
            m = re.match(r'PRI\w+', s[k:])
            if not m:
                break
            j = k + m.end()
            parts.append('%d')
    return ' '.join(parts)


def scan(root):
    found = []
    for d in DIRS:
        for dp, _, fs in os.walk(os.path.join(root, d)):
            for f in sorted(fs):
                if not f.endswith('.c'):
                    continue
                path = os.path.join(dp, f)
                rel = os.path.relpath(path, root)
                s = open(path, encoding='utf-8').read()
                lines = s.split('\n')
                for m in CALL.finditer(s):
                    ls = s.rfind('\n', 0, m.start()) + 1
                    pre = s[ls:m.start()].strip()
                    if pre.startswith(('*', '/*', '//', '#')):
                        continue
                    if re.search(r'\b(int|void|char|bool|static)\b', pre) and 'return' not in pre:
                        continue    # a declaration or definition
                    idx = FUNCS[m.group(1)]
                    st = args(s, m.end())
                    if idx >= len(st) or st[idx] >= len(s) or s[st[idx]] != '"':
                        continue
                    a = st[idx]
                    lit = literal(s, a)
                    if JSON.match(lit) or STAT.match(lit):
                        continue
                    words = SPEC.sub('', re.sub(r'\\.', ' ', lit))
                    if not re.search(r'[A-Za-z]{3,}', words):
                        continue
                    first = s.count('\n', 0, m.start())
                    last = s.count('\n', 0, a)
                    near = '\n'.join(lines[max(0, first - 1):last + 1])
                    if 'not translated:' in near:
                        continue
                    found.append((rel, last + 1, lit))
    return found


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    found = scan(argv[1])
    if found:
        print('check_marked: these texts people read do not go through _() (translate them in '
              'po/zh_CN.po, or mark a wire/file-format text /* not translated: why */):',
              file=sys.stderr)
        for r, n, l in found:
            print(f'  {r}:{n}: {l[:100]}', file=sys.stderr)
        return 1
    print('check_marked: every text people read goes through gettext (or is marked not translated)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
