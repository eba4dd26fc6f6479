"""test_check_layers.py -- scripts/check_layers.py rejects what crosses the device seam: a host
buffer, a direct kernel call, an OpenMP loop or a hand memcpy in model / optim / train / parallel,
and an #include against the layer arrows; comments and allowlisted files are not flagged."""
import os
import subprocess
import sys
import tempfile
import unittest

CHECKER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts", "check_layers.py")


def run_checker(files):
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
        return p.returncode, p.stdout


class SeamRules(unittest.TestCase):
    def test_clean_tree_passes(self):
        code, out = run_checker({"src/model/ok.cpp": '#include "device/backend.h"\n// AlignedBuffer, kernels::gemm, memcpy( in a comment\nvoid f(plinth::device::Backend& be) { be.zero(nullptr, 0); }\n'})
        self.assertEqual(code, 0, out)

    def test_each_violation_is_named(self):
        code, out = run_checker({
            "src/model/bad.cpp": '#include "kernels/kernels.h"\nAlignedBuffer<float> x;\nvoid g() { kernels::gemm(); std::memcpy(a, b, 4); }\n',
            "src/optim/bad.cpp": '#pragma omp parallel for\nfor (;;) {}\n',
            "src/train/bad.cpp": 'void h() { memset(p, 0, 4); }\n',
            "src/model/loop.cpp": '#pragma omp parallel for\n',
            "parallel/bad.cpp": '#pragma omp parallel for\n',
        })
        self.assertEqual(code, 1, out)
        for needle in ("src/model/bad.cpp:1: layer 'src/model' must not include 'kernels/kernels.h'",
                       "src/model/bad.cpp:2: holds a host buffer", "src/model/bad.cpp:3: calls a kernel directly",
                       "src/model/bad.cpp:3: copies memory by hand", "src/optim/bad.cpp:1: runs an OpenMP loop",
                       "src/train/bad.cpp:1: copies memory by hand", "parallel/bad.cpp:1: runs an OpenMP loop",
                       "src/model/loop.cpp:1: runs an OpenMP loop"):
            self.assertIn(needle, out)

    def test_allowlisted_host_files(self):
        code, out = run_checker({"src/train/data_coordinator.cpp": "void f() { std::memcpy(a, b, 4); }\n",
                                 "src/model/param_layout.cpp": "#pragma omp parallel for\n"})
        self.assertEqual(code, 0, out)

    def test_kernels_below_the_seam_may_do_anything(self):
        code, out = run_checker({"kernels/cpu/x.cpp": "#pragma omp parallel for\nvoid f() { std::memcpy(a, b, 4); }\n",
                                 "src/device/cpu_backend.cpp": '#include "kernels/kernels.h"\nvoid f() { kernels::gemm(); }\n'})
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main()
