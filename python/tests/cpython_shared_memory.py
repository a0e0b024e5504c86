# SPDX-License-Identifier: MIT
"""Runs CPython's own SharedMemory tests (test._test_multiprocessing's
_TestSharedMemory, from Debian's libpython3.X-testsuite) with the drop-in
switched on by sharedmem.shared_memory.install(), and prints one line per
test: its name and ok, failed or skipped.

    python cpython_shared_memory.py fork|spawn|forkserver
"""
import sys
import unittest

if __name__ == "__main__":
    import sharedmem.shared_memory
    sharedmem.shared_memory.install()
    module = __import__(f"test.test_multiprocessing_{sys.argv[1]}", fromlist=["*"])
    loader = unittest.TestLoader()
    loader.testNamePatterns = ["*SharedMemory*"]
    suite = loader.loadTestsFromModule(module)
    outcomes = {}

    class Recorder(unittest.TextTestResult):
        def addSuccess(self, test):
            super().addSuccess(test)
            outcomes[test._testMethodName] = "ok"

        def addFailure(self, test, err):
            super().addFailure(test, err)
            outcomes[test._testMethodName] = "failed"

        def addError(self, test, err):
            super().addError(test, err)
            outcomes[test._testMethodName] = "failed"

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            outcomes[test._testMethodName] = "skipped"

    module.setUpModule()
    try:
        unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=Recorder).run(suite)
    finally:
        module.tearDownModule()
    for test, outcome in sorted(outcomes.items()):
        print(test, outcome)
