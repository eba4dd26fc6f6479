#!/usr/bin/env python3
"""check_isa_binary.py -- a portable plinth binary runs on any x86-64 CPU.

Disassembles each FILE (a binary, object or static library) with objdump and fails when a
function outside the dispatched kernel variants (namespaces isa_avx2 / isa_avx512, chosen at
run time only on CPUs that have them; kernels/cpu/isa.h) contains an instruction beyond the
x86-64 baseline (SSE2): any VEX/EVEX instruction, ymm/zmm/mask registers, SSE3..SSE4.2, POPCNT,
LZCNT/TZCNT, BMI, MOVBE. This also catches an inline function whose out-of-line AVX copy from a
variant object the linker picked for everyone (kernels/cpu/vec_math.h explains the hazard).
It also requires the variants to be there: some function of isa_avx512 must use zmm registers
and some function of isa_avx2 ymm registers (that is, the OpenMP loop bodies were vectorised).
Usage: check_isa_binary.py FILE...   (prints offending functions, exits 1 if any)
"""
import re
import subprocess
import sys

ALLOWED = ("::isa_avx2::", "::isa_avx512::")
BEYOND_BASELINE = set("""
addsubps addsubpd haddps haddpd hsubps hsubpd lddqu movddup movshdup movsldup fisttp fisttps fisttpl fisttpll
pshufb phaddw phaddd phaddsw phsubw phsubd phsubsw pabsb pabsw pabsd palignr pmaddubsw pmulhrsw psignb psignw psignd
blendps blendpd blendvps blendvpd dpps dppd extractps insertps movntdqa mpsadbw packusdw pblendvb pblendw pcmpeqq
pextrb pextrd pextrq phminposuw pinsrb pinsrd pinsrq pmaxsb pmaxsd pmaxud pmaxuw pminsb pminsd pminud pminuw
pmuldq pmulld ptest roundps roundpd roundss roundsd pcmpgtq pcmpestri pcmpestrm pcmpistri pcmpistrm crc32
crc32b crc32w crc32l crc32q popcnt lzcnt tzcnt andn bextr blsi blsmsk blsr bzhi mulx pdep pext rorx sarx shlx shrx
movbe adcx adox
""".split())
WIDE_REGISTER = re.compile(r"%(ymm|zmm)\d+|%k[1-7]\b")
FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def mnemonic(instruction):
    words = instruction.split()
    while words and words[0] in ("lock", "rep", "repz", "repnz", "repe", "repne", "notrack", "bnd", "data16"):
        words = words[1:]
    return words[0] if words else ""


def beyond_baseline(instruction):
    op = mnemonic(instruction)
    if op.startswith("v") and op not in ("verr", "verw"):
        return True
    if op.rstrip("wlq") in BEYOND_BASELINE or op in BEYOND_BASELINE:
        return True
    return bool(WIDE_REGISTER.search(instruction))


def scan(path):
    """{function: first offending instruction} outside the variants; register use inside them."""
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", path], capture_output=True, text=True,
                         check=True).stdout
    bad, seen = {}, {"zmm": False, "ymm": False}
    function = None
    for line in out.splitlines():
        m = FUNCTION.match(line)
        if m:
            function = m.group(1)
            continue
        if function is None or "\t" not in line:
            continue
        instruction = line.split("\t", 1)[1].strip()
        if "::isa_avx512::" in function and "%zmm" in instruction:
            seen["zmm"] = True
        if "::isa_avx2::" in function and "%ymm" in instruction:
            seen["ymm"] = True
        if any(a in function for a in ALLOWED) or function in bad:
            continue
        if beyond_baseline(instruction):
            bad[function] = instruction
    return bad, seen


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    failed = False
    for path in sys.argv[1:]:
        bad, seen = scan(path)
        for function, instruction in sorted(bad.items()):
            print(f"{path}: {function}: '{instruction}' is beyond x86-64 and outside the dispatched variants")
        if not seen["zmm"] or not seen["ymm"]:
            print(f"{path}: no vectorised kernel variants found (zmm in isa_avx512: {seen['zmm']}, "
                  f"ymm in isa_avx2: {seen['ymm']})")
        failed |= bool(bad) or not (seen["zmm"] and seen["ymm"])
        print(f"{path}: {len(bad)} function(s) beyond the baseline outside the variants")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
