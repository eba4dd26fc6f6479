"""fault_peer_lost.py -- run fault_peer_lost under mpirun -n 3; the last rank SIGKILLs itself.
Asserts the job ended non-zero within comm timeout (5 s) + 15 s and that the output names the
lost rank (our timeout message, or Open MPI's report of the killed process)."""
import os
import subprocess
import sys
import time

mpirun, exe = sys.argv[1], sys.argv[2]
env = dict(os.environ)
t0 = time.time()
p = subprocess.run([mpirun, "-n", "3", exe], capture_output=True, text=True, env=env, timeout=100)
elapsed = time.time() - t0
out = p.stdout + p.stderr
print(out[-3000:])
print(f"exit code {p.returncode} after {elapsed:.1f} s")
failures = []
if p.returncode == 0:
    failures.append("the job exited 0 although a rank was killed")
if elapsed > 5 + 15:
    failures.append(f"the job took {elapsed:.1f} s to end (limit 20 s)")
named = ("rank 2" in out and ("signal 9" in out or "Killed" in out)) or "did not complete within 5 s" in out
if not named:
    failures.append("the output does not name the lost rank")
for f in failures:
    print("FAIL:", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
