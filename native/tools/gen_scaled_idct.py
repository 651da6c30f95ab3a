#!/usr/bin/env python3
"""Generates native/jsimd_scaled_idct.h: libjpeg-turbo's scaled inverse DCTs
(jidctint.c's jpeg_idct_NxN) over 8 lanes. Each pass's C body is taken as it is
and its statements rewritten for GCC/Clang vector extensions (JLONG -> i32x8,
MULTIPLY -> *, FIX(x) -> its constant, DESCALE/RIGHT_SHIFT -> >>, range_limit ->
+CENTERJSAMPLE and a clamp), so the arithmetic is exactly the C's.
usage: gen_scaled_idct.py native/libjpeg-turbo/jidctint.c > native/jsimd_scaled_idct.h
"""
import re
import sys

SIZES = [3, 5, 6, 7, 10, 12, 14]
src = open(sys.argv[1]).read()
src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)


def fix(x):
    return str(int(float(x) * (1 << 13) + 0.5))


def body(fn, n):
    start = src.index(f"_jpeg_idct_{n}x{n}(")
    text = src[start:]
    # the function body: from the first '{' to the matching '}'
    i = text.index("{")
    depth, j = 0, i
    while True:
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                break
        j += 1
    return text[i + 1:j]


def loops(b):
    """The two `for` loop bodies (pass 1, pass 2)."""
    out = []
    for m in re.finditer(r"for \(ctr = 0; ctr < (\d+);[^)]*\) \{", b):
        i = m.end()
        depth, j = 1, i
        while depth:
            if b[j] == "{":
                depth += 1
            elif b[j] == "}":
                depth -= 1
            j += 1
        out.append(b[i:j - 1])
    assert len(out) == 2, len(out)
    return out


def macro(e, name, render):
    """Replaces every NAME(a, b) in e (balanced parentheses) by render(a, b)."""
    while True:
        i = e.find(name + "(")
        if i < 0 or (i > 0 and (e[i - 1].isalnum() or e[i - 1] == "_")):
            if i < 0:
                return e
            # part of a longer identifier: skip it
            j = e.find(name + "(", i + 1)
            if j < 0:
                return e
            i = j
        k = i + len(name) + 1
        depth, args, cur = 1, [], ""
        while depth:
            c = e[k]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            if c == "," and depth == 1:
                args.append(cur)
                cur = ""
            else:
                cur += c
            k += 1
        args.append(cur)
        args = [macro(a.strip(), name, render) for a in args]
        e = e[:i] + render(*args) + e[k + 1:]


def expr(e):
    e = re.sub(r"FIX\(([0-9.]+)\)", lambda m: fix(m.group(1)), e)
    e = re.sub(r"FIX_(\d+)_(\d+)", lambda m: fix(m.group(1) + "." + m.group(2)), e)
    e = e.replace("(JLONG)", "").replace("(int)", "")
    e = re.sub(r"DEQUANTIZE\(inptr\[DCTSIZE \* (\d+)\], quantptr\[DCTSIZE \* \d+\]\)", r"d[\1]", e)
    e = re.sub(r"wsptr\[(\d+)\]", r"w[\1]", e)
    e = e.replace("ONE <<", "1 <<")
    e = macro(e, "MULTIPLY", lambda a, b: f"(({a}) * ({b}))")
    e = macro(e, "LEFT_SHIFT", lambda a, b: f"(({a}) << ({b}))")
    e = macro(e, "RIGHT_SHIFT", lambda a, b: f"(({a}) >> ({b}))")
    assert "MULTIPLY" not in e and "SHIFT(" not in e and "DEQUANT" not in e, e
    return e


def statements(b):
    b = " ".join(line.strip() for line in b.splitlines())
    b = re.sub(r"\s+", " ", b)
    return [s.strip() for s in b.split(";") if s.strip()]


def convert(n):
    b = body("", n)
    decls = re.findall(r"JLONG ([^;]+);", b)
    names = ", ".join(d for d in decls)
    p1, p2 = loops(b)
    lines = []
    lines.append(f"static void K(idct_{n}x{n})(jpeg_component_info *compptr, JCOEFPTR coef_block,")
    lines.append(f"                        JSAMPARRAY output_buf, JDIMENSION output_col) {{")
    lines.append("  const short *quant = (const short *)compptr->dct_table;")
    lines.append("  i32x8 d[8], ws[16], out[16];")
    lines.append("  for (int k = 0; k < 8; k++)")
    lines.append("    d[k] = K(load16s)(coef_block + k * 8) * K(load16s)(quant + k * 8);")
    lines.append("  for (int k = 0; k < 16; k++) ws[k] = out[k] = (i32x8){};")
    lines.append("  {")
    lines.append(f"    i32x8 {names};")
    for s in statements(p1):
        m = re.match(r"wsptr\[(\d+) \* (\d+)\]\s*= (.*)", s)
        if m:
            lines.append(f"    ws[{m.group(2)}] = {expr(m.group(3))};")
        else:
            lines.append(f"    {expr(s)};")
    lines.append("  }")
    lines.append(f"  K(scaled_rows)(ws, out, {n}, output_buf, output_col);")
    lines.append("}")
    # pass 2 as its own function of the transposed workspace w (lanes are rows)
    p2lines = [f"static inline void K(idct_{n}x{n}_rows)(const i32x8 *w, i32x8 *out) {{",
               f"  i32x8 {names};"]
    for s in statements(p2):
        if s.startswith("outptr = ") or s.startswith("wsptr +="):
            continue
        m = re.match(r"outptr\[(\d+)\]\s*= range_limit\[(.*) & RANGE_MASK\]$", s)
        if m:
            p2lines.append(f"  out[{m.group(1)}] = {expr(m.group(2))};")
        else:
            p2lines.append(f"  {expr(s)};")
    p2lines.append("}")
    return "\n".join(p2lines) + "\n\n" + "\n".join(lines).replace(
        f"K(scaled_rows)(ws, out, {n},", f"K(scaled_rows)(ws, out, {n}, K(idct_{n}x{n}_rows),")


print("/* Generated by native/tools/gen_scaled_idct.py from jidctint.c: do not edit. */\n")
for n in SIZES:
    print(convert(n))
    print()
