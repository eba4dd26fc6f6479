#!/usr/bin/python3
"""measure_run.py -- run a command, pass its stdout through, and report on stderr how busy the
machine was with OTHER work meanwhile (bench/run_vs_torch.sh uses it to flag contended runs).

other % = (busy CPU time of the whole machine, from /proc/stat) - (the command's own user+sys
time, from getrusage of children), as a share of wall time x CPU count.

  measure_run.py CMD ARGS...   -> stdout: CMD's stdout; stderr last line: "other_load_pct=N"
"""
import os
import resource
import subprocess
import sys
import time


def busy_total():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def main():
    hz = os.sysconf("SC_CLK_TCK")
    b0, t0 = busy_total()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b1, t1 = busy_total()
    own = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * hz
    other = max(0.0, (b1 - b0) - own) / max(1, t1 - t0) * 100.0
    sys.stdout.buffer.write(p.stdout)
    sys.stdout.flush()
    print("other_load_pct=%d" % round(other), file=sys.stderr)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
