# SPDX-License-Identifier: MIT
# A program written for multiprocessing.shared_memory, and only for it: the
# parent puts a numpy array and a ShareableList in shared memory, a Pool of
# children attaches to them by name and computes in place, the parent reads
# the results. test_drop_in.py runs it unchanged and after the one-line
# switch to sharedmem, with each start method (the first argument).
import multiprocessing
import sys
from multiprocessing import shared_memory
from multiprocessing.managers import SharedMemoryManager
from multiprocessing.shared_memory import ShareableList, SharedMemory

import numpy as np

SHAPE = (4, 5)


def square_row(task):
    name, row = task
    shm = SharedMemory(name=name)
    array = np.ndarray(SHAPE, dtype=np.int64, buffer=shm.buf)
    array[row] = array[row] ** 2
    del array
    shm.close()
    return type(shm).__module__


def double_items(list_name):
    numbers = shared_memory.ShareableList(name=list_name)
    for index in range(len(numbers)):
        numbers[index] = numbers[index] * 2
    numbers.shm.close()
    return type(numbers.shm).__module__


def main(method):
    context = multiprocessing.get_context(method)
    shm = SharedMemory(create=True, size=np.prod(SHAPE) * 8)
    array = np.ndarray(SHAPE, dtype=np.int64, buffer=shm.buf)
    array[:] = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    numbers = ShareableList([1, 2.5, "ab"])
    with SharedMemoryManager(ctx=context) as manager:
        managed = manager.ShareableList([10, 20])
        with context.Pool(2) as pool:
            kinds = pool.map(square_row, [(shm.name, row) for row in range(SHAPE[0])])
            kinds += pool.map(double_items, [numbers.shm.name, managed.shm.name])
        print("sum of squares:", int(array.sum()))
        print("lists:", list(numbers), list(managed))
        managed.shm.close()
    print("classes:", type(shm).__module__, sorted(set(kinds)))
    print("names:", shm.name, numbers.shm.name)
    del array
    shm.close()
    shm.unlink()
    numbers.shm.close()
    numbers.shm.unlink()


if __name__ == "__main__":
    main(sys.argv[1])
