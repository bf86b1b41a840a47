#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""md2man.py - the Markdown of index/FORMAT.md as a man page (roff -man).

    md2man.py INPUT.md OUTPUT NAME SECTION "ONE-LINE DESCRIPTION" VERSION

Handles what FORMAT.md uses: # headings (the first is the title), paragraphs,
- lists (one level of nesting), ``` code blocks, | tables |, `code`, *em* and
**strong**. Tables become tbl(1) tables, so man(1) lays them out.
"""
import re
import sys


def esc(text):
    """Escape roff specials in running text."""
    text = text.replace('\\', '\\e')
    text = re.sub(r'^([.\'])', r'\\&\1', text)
    return text.replace('-', '\\-')


def inline(text):
    out = []
    # Split on code spans first: nothing inside them is markup.
    for i, part in enumerate(re.split(r'`([^`]*)`', text)):
        if i % 2:
            out.append('\\fB' + esc(part) + '\\fR')
            continue
        part = esc(part)
        part = re.sub(r'\*\*([^*]+)\*\*', r'\\fB\1\\fR', part)
        part = re.sub(r'(?<![\w*])\*([^*]+)\*(?![\w*])', r'\\fI\1\\fR', part)
        out.append(part)
    line = ''.join(out)
    return '\\&' + line if line.startswith(('.', "'")) else line


def table(rows):
    cells = [[c.strip() for c in r.strip().strip('|').split('|')] for r in rows]
    header, body = cells[0], [r for r in cells[2:]]
    n = len(header)
    out = ['.TS', 'allbox tab(\t);', ' '.join(['lb'] * n), ' '.join(['l'] * (n - 1) + ['lx']) + '.']
    out.append('\t'.join(inline(c) for c in header))
    for r in body:
        r = (r + [''] * n)[:n]
        out.append('\t'.join('T{\n' + inline(c) + '\nT}' if len(c) > 30 else inline(c) for c in r))
    out.append('.TE')
    return out


def convert(lines, name, section, desc, version):
    out = [f'.TH {name.upper()} {section} "" "modelfs {version}" "modelfs"',
           '.SH NAME', f'{esc(name)} \\- {esc(desc)}']
    i, para = 0, []

    def flush():
        if para:
            out.append('.PP')
            out.append(inline(' '.join(para)))
            para.clear()

    first_heading = True
    while i < len(lines):
        line = lines[i].rstrip('\n')
        if line.startswith('```'):
            flush()
            out += ['.PP', '.nf', '.RS 2']
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                out.append(esc(lines[i].rstrip('\n')) or '\\&')
                i += 1
            out += ['.RE', '.fi']
        elif line.startswith('#'):
            flush()
            level = len(line) - len(line.lstrip('#'))
            title = line[level:].strip()
            if first_heading:
                out += ['.SH DESCRIPTION', inline(title) + '.']
                first_heading = False
            elif level == 2:
                out.append('.SH ' + inline(title.upper()))
            else:
                out.append('.SS ' + inline(title))
        elif line.startswith('|'):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith('|'):
                rows.append(lines[i].rstrip('\n'))
                i += 1
            out += table(rows)
            continue
        elif re.match(r'^( *)- ', line):
            flush()
            indent = len(line) - len(line.lstrip())
            item = [line.strip()[2:]]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r'^ *- ', lines[i]) \
                    and not lines[i].startswith(('#', '|', '```')):
                item.append(lines[i].strip())
                i += 1
            out += ['.RS 4' if indent else '', '.IP \\(bu 2', inline(' '.join(item)),
                    '.RE' if indent else '']
            out = [l for l in out if l != '']
            continue
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    out += ['.SH SEE ALSO', '\\fBmodelfs\\fR(1), \\fBmount.modelfs\\fR(8)']
    return '\n'.join(out) + '\n'


def main():
    src, dst, name, section, desc, version = sys.argv[1:7]
    with open(src, encoding='utf-8') as f:
        lines = f.readlines()
    with open(dst, 'w', encoding='utf-8') as f:
        f.write(convert(lines, name, section, desc, version))


main()
