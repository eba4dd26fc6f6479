"""work_abandoned.py -- run test_work_lifetime abandon under mpirun -n 2: rank 0 destroys an
all-reduce (timeout 2 s) that rank 1 joins only after 60 s. The Work's destructor must neither
return (MPI would write into a freed buffer) nor hang: the job must end non-zero within the
timeout + 15 s, with a message naming the operation, group and rank."""
import os
import signal
import subprocess
import sys
import time

mpirun, exe = sys.argv[1], sys.argv[2]
t0 = time.time()
failures = []
proc = subprocess.Popen([mpirun, "-n", "2", exe, "abandon"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, start_new_session=True)
try:
    out, _ = proc.communicate(timeout=40)
except subprocess.TimeoutExpired:
    proc.terminate()   # mpirun forwards it to the ranks and cleans up
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    failures.append("the job hung (killed after 40 s): the destructor neither completed nor aborted")
elapsed = time.time() - t0
print(out[-3000:])
print(f"exit code {proc.returncode} after {elapsed:.1f} s")
if proc.returncode == 0:
    failures.append("the job exited 0")
if elapsed > 2 + 15:
    failures.append(f"the job took {elapsed:.1f} s to end (limit 17 s)")
if "FAIL" in out:
    failures.append("the destructor returned")
expected = ["all_reduce of 1000 F32 on group 'world' (rank 0 of 2", "did not complete within 2 s",
            "its Work was destroyed", "aborting the job"]
for e in expected:
    if e not in out:
        failures.append(f"the output does not contain {e!r}")
for f in failures:
    print("FAIL:", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
